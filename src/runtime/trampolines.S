/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The hook trampolines the resolver sends a new call to, with r11 = the
 * patch's HookConfig (src/hooks/config.rs; offsets from src/glue.h). The
 * `count` hook needs none: its target is the pseudo-original itself.
 */
#include <linux/linkage.h>
#include <linux/objtool.h>
#include <asm/unwind_hints.h>
#include <asm/nospec-branch.h>

#include "../glue.h"

	.text

/*
 * The `fail` hook: return the patch's value without running the original.
 * Entered like the patched function itself, with r11 = the patch's HookConfig.
 */
SYM_CODE_START(markpatch_fail_trampoline)
	UNWIND_HINT_FUNC
	ANNOTATE_NOENDBR
	movq	MARKPATCH_HOOK_FAIL_VALUE(%r11), %rax
	RET
SYM_CODE_END(markpatch_fail_trampoline)

/*
 * Filter hooks: build the hook's struct markpatch_call on the stack (the six
 * argument registers, the original, the hook's data) and call the hook
 * with it, counting the call in flight so that a revert waits for it (a
 * filter may sleep inside the original it calls). r11 = the patch's
 * HookConfig.
 */
SYM_CODE_START(markpatch_filter_trampoline)
	UNWIND_HINT_FUNC
	ANNOTATE_NOENDBR
	lock incq MARKPATCH_HOOK_INFLIGHT(%r11)
	pushq	%r11
	pushq	MARKPATCH_HOOK_FILTER_DATA(%r11)
	pushq	MARKPATCH_HOOK_ORIGINAL(%r11)
	pushq	%r9
	pushq	%r8
	pushq	%rcx
	pushq	%rdx
	pushq	%rsi
	pushq	%rdi
	movq	%rsp, %rdi
	movq	MARKPATCH_HOOK_FILTER_FUNC(%r11), %rax
	CALL_NOSPEC rax
	addq	$64, %rsp
	popq	%r11
	lock decq MARKPATCH_HOOK_INFLIGHT(%r11)
	RET
SYM_CODE_END(markpatch_filter_trampoline)

