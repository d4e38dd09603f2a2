// SPDX-License-Identifier: GPL-2.0

//! The resolver, kernel side, for a caller that reached a patch's stub
//! (markpatch_resolve, called by entry.S's full path). The decision is
//! markplan::resolve's (docs/design.md, "The resolver"); this file reads the
//! stack, pops and zeroes the marks, and sends the caller on: to the hook
//! (a new call) or into the pseudo-original (a caller part-way).

use kernel::ffi::c_ulong;
use core::sync::atomic::Ordering;
use kernel::prelude::*;
use markplan::resolve::{count_marks_with, resolve_armed, rival_in_frame, Decision, Position, Pushes, RealignedFrame};

use super::kernel_text::is_text;
use super::live::{self, remember_module_caller};
use crate::bindings::{self, markpatch_frame as Frame, same_signature};

/// Stack word `i` above `sp`; None past the top of the stack.
pub(crate) fn word_at(sp: u64, i: usize) -> Option<u64> {
    let mut w = 0u64;
    // SAFETY: reads one word with copy_from_kernel_nofault into `w`.
    let n = unsafe { bindings::markpatch_read_stack((sp + 8 * i as u64) as c_ulong, &mut w, 1) };
    (n == 1).then_some(w)
}

/// Zeroes the popped mark slots [sp, sp + 8 * pop): a stale mark must never
/// be taken for a live one by a later caller (see markplan::resolve).
///
/// # Safety
/// The slots are the current thread's own stack words, above its stack
/// pointer once the marks are popped.
pub(crate) unsafe fn zero_marks(sp: u64, pop: usize) {
    for i in 0..pop {
        // SAFETY: per the function's contract.
        unsafe { core::ptr::write_volatile((sp + 8 * i as u64) as *mut u64, 0) };
    }
}

/// The decision for a thread at `at` whose stack starts at `sp` and whose
/// general registers are `regs` (by number: rax, rcx, rdx, rbx, rsp, rbp,
/// rsi, rdi, r8..r15), bounded by the marks `live`'s install has armed, and
/// counted: a decision the bound changed (`bounded_decisions`), one a rival
/// also explains (`ambiguous_decisions`). Shared by the stub's path and the
/// int3 handler.
pub(crate) fn decide(live: &live::Live, sp: u64, regs: &[u64; 16], realigned: Option<RealignedFrame>, at: Position, hook_active: bool) -> Decision {
    let m = live.m;
    let effects = &live.effects[..m];
    let pushes = Some(Pushes { uses: &live.reg_uses[..m], regs });
    let word = |i| word_at(sp, i);
    let armed = live.armed();
    let all = m.saturating_sub(1);
    let decision = resolve_armed(&word, sp, effects, realigned, pushes, at, armed, hook_active, &is_text);
    if armed < all && resolve_armed(&word, sp, effects, realigned, pushes, at, all, hook_active, &is_text) != decision {
        live.count_bounded();
    }
    if let Decision::RunHook { pop } | Decision::Resume { pop, .. } = decision {
        if rival_in_frame(&word, sp, effects, realigned, pushes, at, pop, &is_text).is_some() {
            live.count_ambiguous();
        }
    }
    decision
}

/// Called by markpatch_resolver_entry with the saved registers.
#[no_mangle]
extern "C" fn markpatch_resolve(frame: *mut Frame) {
    // SAFETY: entry.S passes its frame on this thread's stack, ours until we return.
    let frame = unsafe { &mut *frame };
    let entry_sp = core::ptr::addr_of!(frame.index) as u64;
    let sp = entry_sp + 8; // the first mark, or the region's own frame
    // SAFETY: a stub exists only while its patch is linked, and a linked
    // Live is freed only after an RCU-tasks grace period, which this
    // non-sleeping path holds off.
    let Some(live) = (unsafe { live::get(frame.index as usize) }) else {
        panic!("markpatch: stub of unlinked patch {}", frame.index);
    };
    let hook = live.hook.load(Ordering::Acquire);
    let m = live.m;
    let realigned = live.realign.map(|realign| RealignedFrame { realign, rbp: frame.rbp });
    let f = &*frame;
    let regs = [
        f.rax, f.rcx, f.rdx, f.rbx, sp, f.rbp, f.rsi, f.rdi, f.r8, f.r9, f.r10, f.r11, f.r12, f.r13, f.r14, f.r15,
    ];
    let decision = decide(live, sp, &regs, realigned, Position::Stub, !hook.is_null());
    let (pop, target) = match decision {
        Decision::RunHook { pop } => {
            live.calls.fetch_add(1, Ordering::Relaxed);
            if let Some(ret) = word_at(sp, pop) {
                remember_module_caller(live, ret);
            }
            // SAFETY: a published config lives until after an RCU-tasks
            // grace period that follows its unpublishing.
            let cfg = unsafe { &*hook };
            // A trampoline gets its config in r11; `count` (the original
            // itself) gets every register as the caller left it.
            if cfg.target() != cfg.original {
                frame.r11 = hook as u64;
            }
            // A new call: leave through RET (mode 0), below.
            let new_sp = entry_sp + 8 * pop as u64;
            // SAFETY: [sp, new_sp) are this thread's popped marks, below the
            // stack pointer it leaves with; new_sp is the last of them (or
            // the stub's index slot), which `RET` consumes.
            unsafe {
                zero_marks(sp, pop.saturating_sub(1));
                core::ptr::write_volatile(new_sp as *mut u64, cfg.target());
            }
            frame.mode = 0;
            frame.new_sp = new_sp;
            return;
        }
        Decision::Resume { pop, index } => {
            if index > 0 {
                live.partial.fetch_add(1, Ordering::Relaxed);
            }
            (pop, live.entries[index])
        }
        Decision::Inconsistent => {
            // Cannot happen for a stack the region produced. Continue as a
            // caller that ran every mark, and count it: tests require 0.
            live.count_inconsistent();
            pr_err!("resolver: stack at {:#x} fits no mark count\n", sp);
            let pop = count_marks_with(&|i| word_at(sp, i), sp, m.saturating_sub(1));
            (pop, live.entries[m - 1 - pop])
        }
    };
    // A caller resumed part-way: leave through IRETQ (mode 1), with the
    // caller's flags, at rsp = sp + 8 * pop.
    // SAFETY: [sp, sp + 8 * pop) are this thread's popped marks, below the
    // stack pointer it leaves with.
    unsafe { zero_marks(sp, pop) };
    frame.mode = 1;
    frame.iret_rip = target;
    frame.iret_rflags = frame.rflags;
    frame.iret_rsp = sp + 8 * pop as u64;
}

same_signature!(bindings::markpatch_resolve, markpatch_resolve);
