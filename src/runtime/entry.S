/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What every patch's stub jumps to: markpatch_resolver_entry, with its fast
 * path for new calls and its full path through markpatch_resolve()
 * (src/runtime/resolver.rs). The argument is docs/design.md ("The fast
 * path", "The resolver"). Offsets and sizes come from src/glue.h.
 */
#include <linux/linkage.h>
#include <linux/objtool.h>
#include <asm/unwind_hints.h>
#include <asm/nospec-branch.h>

#include "../glue.h"

	.text

/*
 * Reached from a patch's stub, `push $index; jmp markpatch_resolver_entry`,
 * by a caller that ran some original instructions of the region and then
 * marks (push %rsp) up to IM. A new call that ran every mark takes the
 * fast path below (markplan::resolve::is_plain_new_call states its test).
 * Any other caller goes on to the full path: it saves every register and
 * the flags, lets markpatch_resolve() (src/runtime/resolver.rs) decide, restores
 * them all and leaves one of two ways:
 *  - mode 0, a new call going to the hook: rsp = frame.new_sp where
 *    [new_sp] = the target, then RET. The flags are not live at a function's
 *    entry, and the return thunk may change them (call depth tracking).
 *  - mode 1, a caller resumed part-way (the pseudo-original): IRETQ through
 *    the iret frame markpatch_resolve() filled, which restores RIP, RSP and
 *    the flags exactly (a jcc in the region may depend on them).
 *
 * Frame, from low to high addresses: r15 r14 r13 r12 rbp rbx r11 r10 r9 r8
 * rdi rsi rdx rcx rax rflags new_sp mode iret_rip iret_cs iret_rflags
 * iret_rsp iret_ss index, then the caller's stack.
 */
SYM_CODE_START(markpatch_resolver_entry)
	UNWIND_HINT_UNDEFINED
	ANNOTATE_NOENDBR
	/*
	 * The fast path: a new call, the case markpatch_resolve() decides as
	 * RunHook. The install has written every mark, all M-1 words above the
	 * index are marks (each holds its own address + 8) and the word above
	 * them, the return address, is text:
	 * core kernel text, or the module return address markpatch_resolve()
	 * checked last for this patch. That is the largest candidate the
	 * resolver could take, and it is consistent, so markpatch_resolve()
	 * would run the hook too; anything else goes to it.
	 *
	 * Four scratch registers and the flags are saved first (a caller
	 * resumed part-way needs them all): rsi rdx rcx rax rflags index marks.
	 */
	pushfq
	pushq	%rax
	pushq	%rcx
	pushq	%rdx
	pushq	%rsi
	cmpb	$0, markpatch_fast_path(%rip)	/* the fast_path parameter */
	je	.Lslow
	movq	40(%rsp), %rax			/* the stub's index */
	cmpq	$MARKPATCH_MAX_PATCHES, %rax
	jae	.Lslow
	leaq	markpatch_live(%rip), %rcx
	movq	(%rcx,%rax,8), %rax		/* its Live */
	testq	%rax, %rax
	jz	.Lslow
	movq	MARKPATCH_LIVE_HOOK(%rax), %rsi		/* null while reverting */
	testq	%rsi, %rsi
	jz	.Lslow
	movq	MARKPATCH_LIVE_M(%rax), %rcx
	leaq	48(%rsp), %rdx			/* the first mark's slot */
	decq	%rcx				/* the marks of a new call: M-1 */
	/* not while the install still writes marks: none ran all of them */
	cmpq	MARKPATCH_LIVE_ARMED(%rax), %rcx
	jne	.Lslow
	testq	%rcx, %rcx
	jz	2f
1:	addq	$8, %rdx
	cmpq	%rdx, -8(%rdx)			/* [slot] == slot + 8 */
	jne	.Lslow
	decq	%rcx
	jnz	1b
2:	movq	(%rdx), %rcx			/* the return address */
	cmpq	markpatch_core_text(%rip), %rcx
	jb	3f
	cmpq	markpatch_core_text+8(%rip), %rcx
	jb	4f
3:	testq	%rcx, %rcx
	jz	.Lslow
	cmpq	MARKPATCH_LIVE_MODULE_RET(%rax), %rcx
	jne	.Lslow
4:	/*
	 * A new call: count it and run the hook's target. A trampoline gets
	 * the hook's config in r11; `count`, whose target is the original
	 * itself, gets every register as its caller left it (functions called
	 * from inline asm rely on r11 surviving).
	 */
	lock incq MARKPATCH_LIVE_CALLS(%rax)
	movq	MARKPATCH_HOOK_TARGET(%rsi), %rcx
	cmpq	MARKPATCH_HOOK_ORIGINAL(%rsi), %rcx
	je	7f
	movq	%rsi, %r11
7:
	movq	%rcx, -8(%rdx)			/* the last mark (or index) slot: where RET goes */
	leaq	-8(%rdx), %rcx
	movq	%rcx, 32(%rsp)			/* the flags' slot: the stack pointer to RET from */
	/* zero the other marks: a stale mark must never pass for a live one */
	leaq	48(%rsp), %rax
	jmp	6f
5:	movq	$0, (%rax)
	addq	$8, %rax
6:	cmpq	%rcx, %rax
	jb	5b
	popq	%rsi
	popq	%rdx
	popq	%rcx
	popq	%rax
	popq	%rsp
	RET
.Lslow:
	popq	%rsi
	popq	%rdx
	popq	%rcx
	popq	%rax
	popfq
	/* lea, not sub: the caller's flags are live until pushfq saves them */
	leaq	-MARKPATCH_FRAME_EXIT(%rsp), %rsp
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
	movl	%cs, %eax
	movq	%rax, MARKPATCH_FRAME_IRET_CS(%rsp)
	movl	%ss, %eax
	movq	%rax, MARKPATCH_FRAME_IRET_SS(%rsp)
	movq	%rsp, %rdi
	movq	%rsp, %rbx
	andq	$-16, %rsp
	cld
	/*
	 * markpatch_resolve() decides with interrupts off (irqs_off.c); the
	 * caller's flags, IF with them, come back with POPFQ or IRETQ below.
	 */
	call	markpatch_resolve_irqs_off
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
	/* rsp -> rflags; the flags are restored on either path below */
	cmpq	$0, (MARKPATCH_FRAME_MODE - MARKPATCH_FRAME_RFLAGS)(%rsp)
	jne	1f
	popfq
	popq	%rsp
	RET
1:
	addq	$(MARKPATCH_FRAME_MODE + 8 - MARKPATCH_FRAME_RFLAGS), %rsp
	iretq
SYM_CODE_END(markpatch_resolver_entry)

