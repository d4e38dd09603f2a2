/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Test targets of known shapes for markpatch's planner and engine. Each is
 * u64 f(u64 x) (x in %rdi, result in %rax) with a C reference in targets.c.
 *
 * SYM_FUNC_START aligns each function to CONFIG_FUNCTION_ALIGNMENT (16 in
 * the test kernel; the NOP padding before it keeps that) and opens it with a
 * 4-byte ENDBR under IBT, so I1 is at +4. These functions have no fentry
 * NOP (only compiled C gets one). Offsets in the comments are from the
 * function's first byte; "[a,b)" is the bytes an instruction covers. The
 * region I1..IM ends at the first instruction of 5 bytes or more.
 *
 * Every instruction in a region changes the result or the stack, so a
 * resolver that skips one or runs one twice gives a wrong result (checked by
 * the stress driver) or an unbalanced stack.
 *
 * The targets targets.c calls through its table (u64 (*)(u64)) open with
 * SYM_TYPED_FUNC_START: under kCFI they carry that type's hash before them,
 * as every indirectly called function must.
 *
 * MPT_AT(fn, label, off) fails the build when a label is not at the offset
 * the comments (and tests) rely on.
 */
#include <linux/linkage.h>
#include <asm/asm.h>
#include <linux/objtool.h>
#include <linux/cfi_types.h>

#define MPT_AT(fn, label, off)				\
	.if (label - fn) != (off);			\
	.error "markpatch_targets: layout moved";	\
	.endif

	.section .rodata
	.balign 8
SYM_DATA(mpt_const, .quad 0x0123456789abcdef)

	.text

/*
 * mpt_short: three short instructions, then IM. M = 4.
 *   I1 +4  [4,5)   push %rbx
 *   I2 +5  [5,8)   mov %rdi,%rbx
 *   I3 +8  [8,10)  xor %eax,%eax          (the caller's %rax is garbage)
 *   I4 +10 [10,16) add $0x1234567,%rax    IM
 * Result: 2x + 0x1234567.
 */
SYM_TYPED_FUNC_START(mpt_short)
	push	%rbx
	mov	%rdi, %rbx
	xor	%eax, %eax
.Lshort_im:
	add	$0x1234567, %rax
	lea	(%rax,%rbx,2), %rax
	pop	%rbx
	RET
SYM_FUNC_END(mpt_short)
MPT_AT(mpt_short, .Lshort_im, 10)

/*
 * mpt_riprel: a RIP-relative load as IM. M = 3.
 *   I1 +4  [4,5)   push %rbx
 *   I2 +5  [5,8)   mov %rdi,%rbx
 *   I3 +8  [8,15)  mov mpt_const(%rip),%rax   IM
 * Result: x + 0x0123456789abcdef.
 */
SYM_TYPED_FUNC_START(mpt_riprel)
	push	%rbx
	mov	%rdi, %rbx
.Lriprel_im:
	mov	mpt_const(%rip), %rax
	add	%rbx, %rax
	pop	%rbx
	RET
SYM_FUNC_END(mpt_riprel)
MPT_AT(mpt_riprel, .Lriprel_im, 8)

/*
 * mpt_jcc: a jcc rel8 in the region, to a target after it. M = 4.
 *   I1 +4  [4,5)   push %rbx
 *   I2 +5  [5,9)   test $1,%dil
 *   I3 +9  [9,11)  jz .Leven                  (rel8)
 *   I4 +11 [11,16) mov $0x11111111,%eax       IM
 * Result: odd x: x + 0x11111111; even x: x >> 1.
 */
SYM_TYPED_FUNC_START(mpt_jcc)
	push	%rbx
	test	$1, %dil
.Ljcc_i3:
	/* jz .Ljcc_even, spelt out so it stays rel8 (and the layout fixed) */
	.byte	0x74, .Ljcc_even - .Ljcc_im
.Ljcc_im:
	mov	$0x11111111, %eax
	mov	%rdi, %rbx
	add	%rbx, %rax
	pop	%rbx
	RET
.Ljcc_even:
	mov	%rdi, %rax
	shr	$1, %rax
	pop	%rbx
	RET
SYM_FUNC_END(mpt_jcc)
MPT_AT(mpt_jcc, .Ljcc_i3, 9)
MPT_AT(mpt_jcc, .Ljcc_im, 11)

/*
 * mpt_loop_i2: a loop from after the region back to I2 (allowed: a thread
 * that jumps in at I2 is a thread that ran I1). M = 4.
 *   I1 +4  [4,5)   push %rbx
 *   I2 +5  [5,8)   inc %rdi                   <- loop target
 *   I3 +8  [8,11)  mov %rdi,%rax
 *   I4 +11 [11,16) and $0xfffff,%eax          IM
 *   then: mov %rdi,%rbx; test $7,%bl; jnz I2; pop %rbx; RET
 * Result: ((x + 8) & ~7) & 0xfffff (x incremented to the next multiple of
 * 8; up to 8 trips through I2).
 */
SYM_TYPED_FUNC_START(mpt_loop_i2)
	push	%rbx
.Lloop_i2:
	inc	%rdi
	mov	%rdi, %rax
.Lloop_im:
	and	$0xfffff, %eax
	mov	%rdi, %rbx
	test	$7, %bl
	jnz	.Lloop_i2
	pop	%rbx
	RET
SYM_FUNC_END(mpt_loop_i2)
MPT_AT(mpt_loop_i2, .Lloop_i2, 5)
MPT_AT(mpt_loop_i2, .Lloop_im, 11)

/*
 * mpt_backedge_i1: a loop back to I1. The planner must refuse it: a thread
 * that takes the back-edge after the install would run all marks and be taken
 * for a new call. Region (if it were planned) M = 3:
 *   I1 +4  [4,7)   inc %rdi                   <- loop target
 *   I2 +7  [7,10)  mov %rdi,%rax
 *   I3 +10 [10,15) and $0xfffff,%eax          IM
 * Result: ((x + 4) & ~3) & 0xfffff.
 */
SYM_TYPED_FUNC_START(mpt_backedge_i1)
.Lbackedge_i1:
	inc	%rdi
	mov	%rdi, %rax
.Lbackedge_im:
	and	$0xfffff, %eax
	test	$3, %dil
	jnz	.Lbackedge_i1
	RET
SYM_FUNC_END(mpt_backedge_i1)
MPT_AT(mpt_backedge_i1, .Lbackedge_i1, 4)
MPT_AT(mpt_backedge_i1, .Lbackedge_im, 10)

/*
 * mpt_straddle: I5 crosses the aligned 16-byte boundary at +16, so no
 * single 8- or 16-byte cmpxchg can write it (the int3 protocol must). M = 6.
 *   I1 +4  [4,5)   push %rbx
 *   I2 +5  [5,8)   mov %rdi,%rbx
 *   I3 +8  [8,11)  mov %rdi,%rax
 *   I4 +11 [11,15) shl $3,%rax
 *   I5 +15 [15,18) add %rbx,%rax              STRADDLES +16
 *   I6 +18 [18,24) xor $0x5a5a5a5a,%rax       IM
 * Result: (9x) ^ 0x5a5a5a5a.
 */
SYM_TYPED_FUNC_START(mpt_straddle)
	push	%rbx
	mov	%rdi, %rbx
	mov	%rdi, %rax
	shl	$3, %rax
.Lstraddle_i5:
	add	%rbx, %rax
.Lstraddle_im:
	xor	$0x5a5a5a5a, %rax
	pop	%rbx
	RET
SYM_FUNC_END(mpt_straddle)
MPT_AT(mpt_straddle, .Lstraddle_i5, 15)
MPT_AT(mpt_straddle, .Lstraddle_im, 18)

/* The callee of mpt_call: 5x + 1. Leaves %rbx alone. */
SYM_FUNC_START(mpt_call_helper)
	lea	1(%rdi,%rdi,4), %rax
	RET
SYM_FUNC_END(mpt_call_helper)

/*
 * mpt_call: a call rel32 as IM. The pseudo-original must not return into
 * itself while the callee runs (relocated as push <return address>; jmp).
 * M = 3.
 *   I1 +4  [4,5)   push %rbx
 *   I2 +5  [5,8)   mov %rdi,%rbx
 *   I3 +8  [8,13)  call mpt_call_helper       IM
 * Result: 6x + 1.
 */
SYM_TYPED_FUNC_START(mpt_call)
	push	%rbx
	mov	%rdi, %rbx
.Lcall_im:
	call	mpt_call_helper
	add	%rbx, %rax
	pop	%rbx
	RET
SYM_FUNC_END(mpt_call)
MPT_AT(mpt_call, .Lcall_im, 8)

/*
 * mpt_ambiguous: I2 pushes the entry RSP, which is its own slot + 8: the
 * same value a mark leaves (docs/design.md, "Counting marks"). M = 4.
 *   I1 +4  [4,7)   mov %rsp,%rax
 *   I2 +7  [7,8)   push %rax                  (looks like a mark)
 *   I3 +8  [8,9)   push %rbx
 *   I4 +9  [9,14)  mov $0x2468ace,%ecx        IM
 * then: pop %rbx; pop %rdx; sub %rsp,%rdx (0 when the stack is as it was)
 * Result: 4x + 0x2468ace (+ the stack error, which must be 0).
 */
SYM_TYPED_FUNC_START(mpt_ambiguous)
	mov	%rsp, %rax
	push	%rax
	push	%rbx
.Lambiguous_im:
	mov	$0x2468ace, %ecx
	mov	%rdi, %rbx
	lea	(%rcx,%rbx,4), %rax
	pop	%rbx
	pop	%rdx
	sub	%rsp, %rdx
	add	%rdx, %rax
	RET
SYM_FUNC_END(mpt_ambiguous)
MPT_AT(mpt_ambiguous, .Lambiguous_im, 9)

/*
 * mpt_realign: an over-aligned frame, as compilers emit for locals aligned
 * beyond 16: the `and` makes the depth depend on the entry RSP, and the
 * resolver takes the entry from %rbp. M = 5.
 *   I1 +4  [4,5)   push %rbp
 *   I2 +5  [5,8)   mov %rsp,%rbp
 *   I3 +8  [8,9)   push %rbx
 *   I4 +9  [9,13)  and $-64,%rsp              (drops 8..56 bytes)
 *   I5 +13 [13,20) sub $0x80,%rsp             IM (straddles +16)
 * Result: 3x + 0x707070, plus the stack error (0 when %rsp is exactly
 * ((%rbp - 8) & -64) - 0x80, as the original leaves it), and %rbx must come
 * back from its slot at -8(%rbp).
 */
SYM_TYPED_FUNC_START(mpt_realign)
	push	%rbp
	mov	%rsp, %rbp
	push	%rbx
	and	$-64, %rsp
.Lrealign_im:
	sub	$0x80, %rsp
	mov	%rdi, %rbx
	lea	0x707070(%rbx,%rbx,2), %rax
	lea	0x80(%rsp), %rdx
	lea	-8(%rbp), %rcx
	and	$-64, %rcx
	sub	%rcx, %rdx
	add	%rdx, %rax
	mov	-8(%rbp), %rbx
	leave
	RET
SYM_FUNC_END(mpt_realign)
MPT_AT(mpt_realign, .Lrealign_im, 13)

/*
 * mpt_regs_keep: not a C function. Like the assembly helpers the kernel
 * calls from inline asm with narrow clobber lists (clear_page_erms,
 * __get_user_8), it changes one register, %rax (+0x101), and its callers
 * rely on every other register surviving the call. M = 2.
 *   I1 +4  [4,7)   inc %rax
 *   I2 +7  [7,13)  add $0x100,%rax        IM
 */
SYM_FUNC_START(mpt_regs_keep)
	inc	%rax
.Lregs_im:
	add	$0x100, %rax
	RET
SYM_FUNC_END(mpt_regs_keep)
MPT_AT(mpt_regs_keep, .Lregs_im, 7)

/*
 * mpt_regs_check(): a caller of mpt_regs_keep as inline asm would be: it
 * loads every general register but %rsp with its own pattern
 * (MPT_REG_PATTERN + index, index in push order rax=0 .. r15=15), %rax =
 * 0x1000, calls mpt_regs_keep, and stores all sixteen registers after the
 * call in mpt_regs_after[] (the %rsp slot holds %rsp's change: 0). C
 * (targets.c) compares them with what the call may change.
 */
#define MPT_REG_PATTERN 0x6d70000000000000
	.data
	.balign 8
SYM_DATA(mpt_regs_after, .fill 16, 8, 0)
	.text
SYM_FUNC_START(mpt_regs_check)
	push	%rbx
	push	%rbp
	push	%r12
	push	%r13
	push	%r14
	push	%r15
	mov	%rsp, mpt_regs_after+32(%rip)
	movabs	$(MPT_REG_PATTERN + 1), %rcx
	movabs	$(MPT_REG_PATTERN + 2), %rdx
	movabs	$(MPT_REG_PATTERN + 3), %rbx
	movabs	$(MPT_REG_PATTERN + 5), %rbp
	movabs	$(MPT_REG_PATTERN + 6), %rsi
	movabs	$(MPT_REG_PATTERN + 7), %rdi
	movabs	$(MPT_REG_PATTERN + 8), %r8
	movabs	$(MPT_REG_PATTERN + 9), %r9
	movabs	$(MPT_REG_PATTERN + 10), %r10
	movabs	$(MPT_REG_PATTERN + 11), %r11
	movabs	$(MPT_REG_PATTERN + 12), %r12
	movabs	$(MPT_REG_PATTERN + 13), %r13
	movabs	$(MPT_REG_PATTERN + 14), %r14
	movabs	$(MPT_REG_PATTERN + 15), %r15
	mov	$0x1000, %eax
	call	mpt_regs_keep
	mov	%rax, mpt_regs_after+0(%rip)
	mov	%rcx, mpt_regs_after+8(%rip)
	mov	%rdx, mpt_regs_after+16(%rip)
	mov	%rbx, mpt_regs_after+24(%rip)
	sub	%rsp, mpt_regs_after+32(%rip)
	mov	%rbp, mpt_regs_after+40(%rip)
	mov	%rsi, mpt_regs_after+48(%rip)
	mov	%rdi, mpt_regs_after+56(%rip)
	mov	%r8, mpt_regs_after+64(%rip)
	mov	%r9, mpt_regs_after+72(%rip)
	mov	%r10, mpt_regs_after+80(%rip)
	mov	%r11, mpt_regs_after+88(%rip)
	mov	%r12, mpt_regs_after+96(%rip)
	mov	%r13, mpt_regs_after+104(%rip)
	mov	%r14, mpt_regs_after+112(%rip)
	mov	%r15, mpt_regs_after+120(%rip)
	pop	%r15
	pop	%r14
	pop	%r13
	pop	%r12
	pop	%rbp
	pop	%rbx
	RET
SYM_FUNC_END(mpt_regs_check)

/*
 * mpt_stale_b: a region that makes room on the stack before its last mark,
 * as a later caller part-way meets it. M = 4.
 *   I1 +4  [4,5)   push %rbx
 *   I2 +5  [5,9)   sub $0x10,%rsp
 *   I3 +9  [9,12)  mov %rdi,%rax
 *   I4 +12 [12,18) add $0x7654321,%rax    IM
 * Result: x + 0x7654321.
 */
SYM_TYPED_FUNC_START(mpt_stale_b)
	push	%rbx
	sub	$0x10, %rsp
.Lstale_i3:
	mov	%rdi, %rax
.Lstale_im:
	add	$0x7654321, %rax
	add	$0x10, %rsp
	pop	%rbx
	RET
SYM_FUNC_END(mpt_stale_b)
MPT_AT(mpt_stale_b, .Lstale_i3, 9)
MPT_AT(mpt_stale_b, .Lstale_im, 12)

/* mpt_ret_only: returns; its address is the text word in mpt_stale_probe. */
SYM_FUNC_START(mpt_ret_only)
	RET
SYM_FUNC_END(mpt_ret_only)

/*
 * mpt_stale_probe(x): what a popped mark left on the stack must not pass
 * for a live one (docs/design.md, "Zeroing popped marks"). With mpt_short
 * and mpt_stale_b both installed:
 *  1. a new call of mpt_short from here: its return address at S, its
 *     three marks at S-8, S-16 and S-24, popped when its hook runs;
 *  2. from the same depth, a caller part-way in mpt_stale_b: it ran I1
 *     (pushing a text address, mpt_ret_only's) and I2, whose 16 bytes of
 *     room are S-24..S-9, and meets the mark at I3.
 * Had the popped marks stayed, the words at S-24 and S-16 would pass for
 * two more marks and the caller for a new call of mpt_stale_b whose return
 * address is the pushed text address. Returns what mpt_stale_b returned to
 * the part-way caller. Called with interrupts off (targets.c), so that no
 * interrupt frame writes below the stack pointer between the two.
 */
SYM_FUNC_START(mpt_stale_probe)
	push	%rbx
	push	%r12
	mov	%rdi, %r12
	call	mpt_short
	mov	%r12, %rdi
	lea	mpt_ret_only(%rip), %rbx
	ANNOTATE_INTRA_FUNCTION_CALL
	call	.Lstale_partway
	pop	%r12
	pop	%rbx
	RET
.Lstale_partway:
	push	%rbx
	sub	$0x10, %rsp
	jmp	.Lstale_i3
SYM_FUNC_END(mpt_stale_probe)

/*
 * mpt_half_restored_probe(x): a new call of mpt_stale_b (docs/design.md,
 * "Revert", step 4) that meets a revert stopped after it put back the
 * first bytes of I1 and I2 (debug_pass_writes, debug_fail_writes): the
 * call runs I1 and I2 in place and traps at the int3 over I3, with no mark
 * on its stack. I2's room holds what the stack held before: here, at the
 * bottom, a word that looks like a mark (its own address + 8) and above it
 * 0x5a5a5a5a5a5a5a5a; I1 pushed a text address (%rbx, mpt_ret_only's).
 * Taken for a mark, that word would send the caller back to I2 one word
 * higher: it would pop 0x5a5a... into %rbx and return through
 * mpt_ret_only. Returns %rbx after the call (mpt_ret_only's address when
 * the trap was resolved right) and leaves mpt_stale_b's result in
 * mpt_half_result. Called with interrupts off (targets.c), so nothing
 * writes below the stack pointer before the call.
 */
SYM_FUNC_START(mpt_half_restored_probe)
	push	%rbx
	lea	mpt_ret_only(%rip), %rbx
	/* The call's return slot is S = %rsp-8; I2's room is S-24..S-9. */
	lea	-24(%rsp), %rax
	mov	%rax, -32(%rsp)
	movabs	$0x5a5a5a5a5a5a5a5a, %rax
	mov	%rax, -24(%rsp)
	call	mpt_stale_b
	mov	%rax, mpt_half_result(%rip)
	mov	%rbx, %rax
	pop	%rbx
	RET
SYM_FUNC_END(mpt_half_restored_probe)

/*
 * mpt_filler_probe(x): a caller of mpt_short (installed) preempted inside
 * I2's NOP filler across a revert (docs/design.md, "Revert"). It runs I1's
 * and I2's marks, then waits in mpt_filler_wait (targets.c) as a preempted
 * task would, runnable and never sleeping, while the revert begins, and
 * then goes on from I2's filler at mpt_short+6. A revert that waited for
 * RCU-tasks before restoring the tails still has the filler there, and I3's
 * int3 sends the caller to the pseudo-original: the result is mpt_short's.
 * One that did not has put I2's tail back: the caller runs the middle of
 * an instruction with two marks on its stack.
 *
 * In a section of its own: the jump into the middle of mpt_short's I2 must
 * be a relocation (a sibling call to objtool), not a jump GNU as resolves
 * within .text, which objtool cannot follow (it then writes no
 * .return_sites for the module, and its returns go through the unpatched
 * return thunk).
 */
	.pushsection .text.mpt_filler_probe, "ax"
SYM_FUNC_START(mpt_filler_probe)
	push	%r12
	mov	%rdi, %r12
	ANNOTATE_INTRA_FUNCTION_CALL
	call	.Lfiller_caller
	pop	%r12
	RET
.Lfiller_caller:
	push	%rsp
	push	%rsp
	call	mpt_filler_wait
	mov	%r12, %rdi
	jmp	mpt_short + 6
SYM_FUNC_END(mpt_filler_probe)
	.popsection

/*
 * mpt_cold: a function with a `.cold` part, as GCC moves unlikely blocks
 * out of a function. The part changes %r14, which I1 pushed, and jumps
 * back onto I4: the planner must read the part and take I4 for a branch
 * target, as it would a jump of the function's own. M = 5.
 *   I1 +4  [4,6)   push %r14
 *   I2 +6  [6,7)   push %rbx
 *   I3 +7  [7,10)  mov %rdi,%rbx
 *   I4 +10 [10,12) xor %eax,%eax               <- mpt_cold.cold jumps here
 *   I5 +12 [12,18) add $0x1234,%rax            IM
 * Result: 0x1234 + (x & ~1).
 * Not in targets.c's table: only planned (11-plan-shapes).
 */
SYM_FUNC_START(mpt_cold)
	push	%r14
	push	%rbx
	mov	%rdi, %rbx
.Lcold_i4:
	xor	%eax, %eax
.Lcold_im:
	add	$0x1234, %rax
	test	$1, %bl
	jnz	mpt_cold.cold
	add	%rbx, %rax
	pop	%rbx
	pop	%r14
	RET
SYM_FUNC_END(mpt_cold)
MPT_AT(mpt_cold, .Lcold_i4, 10)
MPT_AT(mpt_cold, .Lcold_im, 12)

	.pushsection .text.unlikely, "ax"
	.type	mpt_cold.cold, @function
mpt_cold.cold:
	mov	%rdi, %r14
	and	$-2, %rbx
	jmp	.Lcold_i4
	.size	mpt_cold.cold, . - mpt_cold.cold
	.popsection

/*
 * mpt_cold_to_i1: its `.cold` part jumps back to I1, which a thread would
 * then enter with every mark still to run, as a new call: refused, as
 * mpt_backedge_i1 is, naming the part.
 *   I1 +4  [4,7)   inc %rdi                    <- mpt_cold_to_i1.cold jumps here
 *   I2 +7  [7,10)  mov %rdi,%rax
 *   I3 +10 [10,15) and $0xfffff,%eax           IM
 * Not in targets.c's table: only planned (11-plan-shapes).
 */
SYM_FUNC_START(mpt_cold_to_i1)
.Lcold_to_i1_i1:
	inc	%rdi
	mov	%rdi, %rax
	and	$0xfffff, %eax
	test	$3, %dil
	jnz	mpt_cold_to_i1.cold
	RET
SYM_FUNC_END(mpt_cold_to_i1)
MPT_AT(mpt_cold_to_i1, .Lcold_to_i1_i1, 4)

	.pushsection .text.unlikely, "ax"
	.type	mpt_cold_to_i1.cold, @function
mpt_cold_to_i1.cold:
	jmp	.Lcold_to_i1_i1
	.size	mpt_cold_to_i1.cold, . - mpt_cold_to_i1.cold
	.popsection
