/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The executable arena (src/text/arena.rs): MARKPATCH_ARENA_SIZE bytes of
 * this module's own text, within +-2 GB of every kernel and module
 * function, int3 until a stub, pseudo-original or thunk is written there
 * (through src/text/text_poke.c, like any other text).
 */
#include <linux/linkage.h>
#include <linux/objtool.h>

#include "../glue.h"

	.section .text.markpatch_arena, "ax"
	.p2align 12
SYM_DATA_START(markpatch_arena)
	ANNOTATE_NOENDBR
	.fill	MARKPATCH_ARENA_SIZE, 1, 0xcc
SYM_DATA_END(markpatch_arena)
