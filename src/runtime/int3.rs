// SPDX-License-Identifier: GPL-2.0

//! The int3 handler, kernel side: a CPU reached one of the int3s the int3
//! protocol puts over an instruction's first byte (an install's straddling
//! write, or a revert). int3_notifier.c's die notifier calls markpatch_int3 with
//! interrupts off; it sends the CPU into the pseudo-original, popping the
//! marks it ran (docs/design.md, "The int3 handler").

use kernel::ffi::c_ulong;
use core::sync::atomic::Ordering;
use markplan::marks::INT3;
use markplan::resolve::{count_marks_with, Decision, Position, RealignedFrame};

use super::live;
use super::resolver::{word_at, zero_marks};
use crate::bindings::{self, same_signature};

fn is_linked_insn(addr: u64) -> bool {
    // SAFETY: int3 handlers run with interrupts off; a Live is freed only
    // after synchronize_rcu().
    unsafe { live::all() }.any(|l| l.insns().contains(&addr))
}

/// Called by the die notifier (int3_notifier.c) for a kernel int3 nobody else
/// claimed. `ip` is past the int3, `gprs` the thread's 16 general registers
/// by number (rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi, r8..r15). Returns true
/// when it was one of ours; then `ip` and `sp` say where the caller goes on.
#[no_mangle]
extern "C" fn markpatch_int3(ip: *mut c_ulong, sp: *mut c_ulong, gprs: *const u64) -> bool {
    // SAFETY: int3_notifier.c passes the interrupted context's saved registers,
    // which only this handler touches until it returns, and a copy of the
    // general registers, an array of 16 on its stack.
    let (ip, sp, regs) = unsafe { (&mut *ip, &mut *sp, &*gprs.cast::<[u64; 16]>()) };
    let addr = (*ip as u64).wrapping_sub(1);
    // An int3 of ours that is no longer there: this CPU executed it and
    // another CPU replaced it before this handler ran (a serialising IPI
    // does not wait for a trap already taken). The instruction now at
    // `addr` is whole (an original, or a mark or jump), so resume there.
    // Only at addresses where markpatch put int3s: an Ik of a linked patch
    // or of one unlinked recently.
    let mut byte = [0u8; 1];
    if crate::text::read(addr, &mut byte).is_ok() && byte[0] != INT3 && (is_linked_insn(addr) || live::was_retired(addr)) {
        *ip = addr as c_ulong;
        return true;
    }
    // SAFETY: handlers run with interrupts off, and a Live is freed only
    // after synchronize_rcu().
    for live in unsafe { live::all() } {
        let m = live.m;
        let Some(index) = live.insn_addr[..m].iter().position(|&a| a == addr) else {
            continue;
        };
        if !live.trap[index].load(Ordering::Acquire) {
            continue;
        }
        let s = *sp as u64;
        let realigned = live.realign.map(|realign| RealignedFrame { realign, rbp: regs[5] });
        let decision = super::resolver::decide(live, s, regs, realigned, Position::Trap { index }, false);
        let (pop, resume) = match decision {
            Decision::Resume { pop, index: resume } => (pop, resume),
            // RunHook cannot come from a trap; Inconsistent: count it and
            // go on as a caller that ran the marks it has.
            _ => {
                live.count_inconsistent();
                let pop = count_marks_with(&|i| word_at(s, i), s, index);
                (pop, index - pop)
            }
        };
        live.traps.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the popped marks are the interrupted thread's own stack
        // words; #BP runs below them on the same stack, and the interrupted
        // context resumes with sp above them.
        unsafe { zero_marks(s, pop) };
        *sp = (s + 8 * pop as u64) as c_ulong;
        *ip = live.entries[resume] as c_ulong;
        return true;
    }
    false
}
same_signature!(bindings::markpatch_int3, markpatch_int3);
