/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What every patch's stub jumps to (markpatch_resolver_entry), the hook
 * trampolines it may send a caller to, and the executable arena that holds
 * the stubs and pseudo-originals (module text is within +-2 GB of every
 * kernel and module function, and is written through src/text_poke.c).
 */
#include <linux/linkage.h>
#include <linux/objtool.h>
#include <asm/unwind_hints.h>
#include <asm/nospec-branch.h>

/* Offsets in struct Hot (src/patch.rs, #[repr(C)], checked there). */
#define HOT_FAIL_VALUE	0
#define HOT_INFLIGHT	8

#define MARKPATCH_ARENA_SIZE	(128 * 1024)

	.text

/*
 * Reached from a patch's stub, `push $index; jmp markpatch_resolver_entry`,
 * by a caller that ran some original instructions of the region and then
 * marks (push %rsp) up to IM. Saves every register and the flags, lets
 * markpatch_resolve() (src/resolver.rs) decide, then restores them all and
 * leaves through the slot markpatch_resolve() filled: rsp = frame.new_sp,
 * [rsp] = where to go (the hook, or an entry of the pseudo-original).
 *
 * Frame, from low to high addresses: r15 r14 r13 r12 rbp rbx r11 r10 r9 r8
 * rdi rsi rdx rcx rax rflags new_sp index, then the caller's stack.
 */
SYM_CODE_START(markpatch_resolver_entry)
	UNWIND_HINT_UNDEFINED
	ANNOTATE_NOENDBR
	subq	$8, %rsp
	pushfq
	pushq	%rax
	pushq	%rcx
	pushq	%rdx
	pushq	%rsi
	pushq	%rdi
	pushq	%r8
	pushq	%r9
	pushq	%r10
	pushq	%r11
	pushq	%rbx
	pushq	%rbp
	pushq	%r12
	pushq	%r13
	pushq	%r14
	pushq	%r15
	movq	%rsp, %rdi
	movq	%rsp, %rbx
	andq	$-16, %rsp
	cld
	call	markpatch_resolve
	movq	%rbx, %rsp
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%rbp
	popq	%rbx
	popq	%r11
	popq	%r10
	popq	%r9
	popq	%r8
	popq	%rdi
	popq	%rsi
	popq	%rdx
	popq	%rcx
	popq	%rax
	popfq
	popq	%rsp
	RET
SYM_CODE_END(markpatch_resolver_entry)

/*
 * The `fail` hook: return the patch's value without running the original.
 * Entered like the patched function itself, with r11 = the patch's Hot.
 */
SYM_CODE_START(markpatch_fail_trampoline)
	UNWIND_HINT_FUNC
	ANNOTATE_NOENDBR
	movq	HOT_FAIL_VALUE(%r11), %rax
	RET
SYM_CODE_END(markpatch_fail_trampoline)

/*
 * Filter hooks: call markpatch_run_filter(hot, args) with the six argument
 * registers, counting the call in flight so that a revert waits for it (a
 * filter may sleep inside the original it calls). r11 = the patch's Hot.
 */
SYM_CODE_START(markpatch_filter_trampoline)
	UNWIND_HINT_FUNC
	ANNOTATE_NOENDBR
	lock incq HOT_INFLIGHT(%r11)
	pushq	%r11
	pushq	%r9
	pushq	%r8
	pushq	%rcx
	pushq	%rdx
	pushq	%rsi
	pushq	%rdi
	movq	%rsp, %rsi
	movq	%r11, %rdi
	call	markpatch_run_filter
	addq	$48, %rsp
	popq	%r11
	lock decq HOT_INFLIGHT(%r11)
	RET
SYM_CODE_END(markpatch_filter_trampoline)

/*
 * The arena: int3 until a stub or pseudo-original is written there.
 */
	.section .text.markpatch_arena, "ax"
	.p2align 12
SYM_DATA_START(markpatch_arena)
	.fill	MARKPATCH_ARENA_SIZE, 1, 0xcc
SYM_DATA_END(markpatch_arena)
