// SPDX-License-Identifier: GPL-2.0

//! The resolver, kernel side: where a caller goes when it reaches a patch's
//! stub (markpatch_resolve, called by src/entry.S) or one of a patch's int3s
//! (markpatch_int3, called by src/int3.c). The decision itself is
//! markplan::resolve; this file reads the stack, pops and zeroes the marks,
//! and sends the caller on.
//!
//! Everything here runs in the caller's context, possibly with interrupts
//! off (int3): no locks, no allocation. Patches are reached through LIVE,
//! whose entries are published before the first byte of a target is
//! written and unpublished only after the last byte is restored; a `Live`
//! is freed after an RCU grace period (int3 handlers run with interrupts
//! off) and an RCU-tasks one (the stub path never sleeps).

use core::ffi::c_ulong;
use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, Ordering};
use kernel::prelude::*;
use markplan::plan::MAX_REGION;
use markplan::plan::Realign;
use markplan::resolve::{count_marks_with, resolve_in_frame, Decision, Position, RealignedFrame};

use crate::hooks::HookConfig;

const INT3: u8 = 0xcc;

/// How many patches may be installed at once.
pub(crate) const MAX_PATCHES: usize = 512;

/// What the resolver needs of one patch, fixed while the patch is linked
/// (except the hook, swapped atomically, and the counters). The first four
/// fields are read by the fast path in src/entry.S (LIVE_*, checked below).
#[repr(C)]
pub(crate) struct Live {
    pub(crate) m: usize,
    /// The hook new calls run; null while reverting (new calls then run the
    /// original through the pseudo-original).
    pub(crate) hook: AtomicPtr<HookConfig>,
    /// New calls (hook runs).
    pub(crate) calls: AtomicU64,
    /// A return address in a live module's text that markpatch_resolve
    /// checked (0: none), so that the fast path need not ask
    /// kernel_text_address again; forgotten when that module goes away.
    pub(crate) module_ret: AtomicU64,
    /// Address of each Ik.
    pub(crate) insn_addr: [u64; MAX_REGION],
    /// Static stack effect of each Ik (bytes pushed).
    pub(crate) effects: [i32; MAX_REGION],
    /// The region realigns the stack (`and $-N,%rsp` after `mov %rsp,%rbp`).
    pub(crate) realign: Option<Realign>,
    /// Absolute address of the pseudo-original's entry for each Ik.
    pub(crate) entries: [u64; MAX_REGION],
    /// An int3 may be over Ik's first byte.
    pub(crate) trap: [AtomicBool; MAX_REGION],
    /// Callers caught part-way through the region, finished in P.
    pub(crate) partial: AtomicU64,
    /// Callers redirected from an int3.
    pub(crate) traps: AtomicU64,
    /// Stacks no candidate explains (must stay 0).
    pub(crate) inconsistent: AtomicU64,
}

// Offsets used by src/entry.S.
const _: () = assert!(core::mem::offset_of!(Live, m) == 0);
const _: () = assert!(core::mem::offset_of!(Live, hook) == 8);
const _: () = assert!(core::mem::offset_of!(Live, calls) == 16);
const _: () = assert!(core::mem::offset_of!(Live, module_ret) == 24);

#[allow(clippy::declare_interior_mutable_const)]
const NO_PATCH: AtomicPtr<Live> = AtomicPtr::new(core::ptr::null_mut());
/// The patch table: a stub pushes its patch's index in it (src/entry.S
/// reads it as markpatch_live; MAX_PATCHES there too).
#[export_name = "markpatch_live"]
pub(crate) static LIVE: [AtomicPtr<Live>; MAX_PATCHES] = [NO_PATCH; MAX_PATCHES];
const _: () = assert!(MAX_PATCHES == 512);

/// [_stext, _etext), set at load: the fast path (src/entry.S) takes a
/// return address there for text without asking kernel_text_address().
#[export_name = "markpatch_core_text"]
pub(crate) static CORE_TEXT: [AtomicU64; 2] = [AtomicU64::new(0), AtomicU64::new(0)];

/// kernel_text_address(), through an arena thunk (it is not exported).
pub(crate) static KERNEL_TEXT_ADDRESS: AtomicU64 = AtomicU64::new(0);
/// __module_text_address(), through an arena thunk (it is not exported).
pub(crate) static MODULE_TEXT_ADDRESS: AtomicU64 = AtomicU64::new(0);

extern "C" {
    fn markpatch_read_stack(sp: c_ulong, words: *mut u64, n: usize) -> usize;
    fn markpatch_module_text_live(addr: c_ulong, module_text_address: u64) -> bool;
}

/// Whether `addr` is in the text of a module that is live (not coming, not
/// going), asked through the __module_text_address thunk.
fn in_live_module_text(addr: u64) -> bool {
    let f = MODULE_TEXT_ADDRESS.load(Ordering::Relaxed);
    // SAFETY: `f` is a thunk (ENDBR; jmp __module_text_address) in the
    // arena, kept until unload; the C side calls it with preemption off and
    // reads the module's state and text range.
    f != 0 && unsafe { markpatch_module_text_live(addr as c_ulong, f) }
}

/// Lets the fast path take `ret`, a return address a new call came from,
/// as text from now on, when it lies in a live module's text (core kernel
/// text needs no cache).
fn remember_module_caller(live: &Live, ret: u64) {
    let [start, end] = [&CORE_TEXT[0], &CORE_TEXT[1]].map(|a| a.load(Ordering::Relaxed));
    if (start..end).contains(&ret) || live.module_ret.load(Ordering::Relaxed) == ret || !in_live_module_text(ret) {
        return;
    }
    live.module_ret.store(ret, Ordering::SeqCst);
    // The module may have started going away after the check, and its
    // notifier (forget_module_callers) may have run before the store: look
    // again, and take it back if so. A notifier that runs later clears it.
    if !in_live_module_text(ret) {
        let _ = live.module_ret.compare_exchange(ret, 0, Ordering::SeqCst, Ordering::SeqCst);
    }
}

/// Forgets every remembered caller in [start, end), a module's text that
/// is going away. Called with the engine lock held (no Live is freed).
pub(crate) fn forget_module_callers(start: u64, end: u64) {
    for slot in LIVE.iter() {
        // SAFETY: the engine lock is held: a linked Live stays allocated.
        let Some(live) = (unsafe { slot.load(Ordering::Acquire).as_ref() }) else {
            continue;
        };
        let ret = live.module_ret.load(Ordering::SeqCst);
        if (start..end).contains(&ret) {
            let _ = live.module_ret.compare_exchange(ret, 0, Ordering::SeqCst, Ordering::SeqCst);
        }
    }
}

/// Whether `addr` is live kernel or module text (false until the thunk is
/// made at load).
pub(crate) fn is_text(addr: u64) -> bool {
    let f = KERNEL_TEXT_ADDRESS.load(Ordering::Relaxed);
    if f == 0 {
        return false;
    }
    // SAFETY: `f` is a thunk (ENDBR; jmp kernel_text_address) in the arena,
    // written at load and kept until unload; kernel_text_address takes an
    // unsigned long and returns int, and is safe in any context.
    let f: extern "C" fn(c_ulong) -> i32 = unsafe { core::mem::transmute(f as usize) };
    f(addr as c_ulong) != 0
}

fn word_at(sp: u64, i: usize) -> Option<u64> {
    let mut w = 0u64;
    // SAFETY: reads one word with copy_from_kernel_nofault into `w`.
    let n = unsafe { markpatch_read_stack((sp + 8 * i as u64) as c_ulong, &mut w, 1) };
    (n == 1).then_some(w)
}

/// Zeroes the popped mark slots [sp, sp + 8 * pop): a stale mark must never
/// be taken for a live one by a later caller (see markplan::resolve).
///
/// # Safety
/// The slots are the current thread's own stack words, above its stack
/// pointer once the marks are popped.
unsafe fn zero_marks(sp: u64, pop: usize) {
    for i in 0..pop {
        // SAFETY: per the function's contract.
        unsafe { core::ptr::write_volatile((sp + 8 * i as u64) as *mut u64, 0) };
    }
}

/// The registers saved by markpatch_resolver_entry (src/entry.S), low to high.
#[repr(C)]
pub(crate) struct Frame {
    r15: u64,
    r14: u64,
    r13: u64,
    r12: u64,
    rbp: u64,
    rbx: u64,
    r11: u64,
    r10: u64,
    r9: u64,
    r8: u64,
    rdi: u64,
    rsi: u64,
    rdx: u64,
    rcx: u64,
    rax: u64,
    rflags: u64,
    /// Mode 0: the stack pointer to leave with; [new_sp] = where to go.
    new_sp: u64,
    /// 0: leave through `RET` via new_sp; 1: through `IRETQ` via the words
    /// below (restores the flags exactly, for callers resumed part-way).
    mode: u64,
    iret_rip: u64,
    /// Filled by the entry code.
    iret_cs: u64,
    iret_rflags: u64,
    iret_rsp: u64,
    /// Filled by the entry code.
    iret_ss: u64,
    /// Pushed by the stub: the patch's index in LIVE.
    index: u64,
}

// Offsets used by src/entry.S.
const _: () = assert!(core::mem::offset_of!(Frame, rflags) == 120);
const _: () = assert!(core::mem::offset_of!(Frame, new_sp) == 128);
const _: () = assert!(core::mem::offset_of!(Frame, mode) == 136);
const _: () = assert!(core::mem::offset_of!(Frame, iret_cs) == 152);
const _: () = assert!(core::mem::offset_of!(Frame, iret_ss) == 176);
const _: () = assert!(core::mem::offset_of!(Frame, index) == 184);

/// Called by markpatch_resolver_entry with the saved registers.
#[no_mangle]
extern "C" fn markpatch_resolve(frame: &mut Frame) {
    let entry_sp = core::ptr::addr_of!(frame.index) as u64;
    let sp = entry_sp + 8; // the first mark, or the region's own frame
    let live = LIVE.get(frame.index as usize).map(|p| p.load(Ordering::Acquire)).unwrap_or(core::ptr::null_mut());
    // SAFETY: a stub exists only while its patch is linked, and a linked
    // Live is freed only after an RCU-tasks grace period, which this
    // non-sleeping path holds off.
    let Some(live) = (unsafe { live.as_ref() }) else {
        panic!("markpatch: stub of unlinked patch {}", frame.index);
    };
    let hook = live.hook.load(Ordering::Acquire);
    let m = live.m;
    let decision = resolve_in_frame(
        &|i| word_at(sp, i),
        sp,
        &live.effects[..m],
        live.realign.map(|realign| RealignedFrame { realign, rbp: frame.rbp }),
        Position::Stub,
        !hook.is_null(),
        &is_text,
    );
    let (pop, target) = match decision {
        Decision::RunHook { pop } => {
            live.calls.fetch_add(1, Ordering::Relaxed);
            if let Some(ret) = word_at(sp, pop) {
                remember_module_caller(live, ret);
            }
            // SAFETY: a published config lives until after an RCU-tasks
            // grace period that follows its unpublishing.
            let cfg = unsafe { &*hook };
            frame.r11 = hook as u64;
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
            live.inconsistent.fetch_add(1, Ordering::Relaxed);
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

/// Ik addresses of recently reverted patches, for late int3 handlers.
#[allow(clippy::declare_interior_mutable_const)]
const NO_ADDR: AtomicU64 = AtomicU64::new(0);
static RETIRED: [AtomicU64; 256] = [NO_ADDR; 256];
static RETIRED_NEXT: AtomicU64 = AtomicU64::new(0);

/// Remembers a reverted patch's instruction addresses (called before it is
/// unlinked; the ring keeps the last 256 addresses).
pub(crate) fn retire(live: &Live) {
    for &a in &live.insn_addr[..live.m] {
        let i = RETIRED_NEXT.fetch_add(1, Ordering::Relaxed) as usize % RETIRED.len();
        RETIRED[i].store(a, Ordering::Release);
    }
}

fn was_retired(addr: u64) -> bool {
    RETIRED.iter().any(|a| a.load(Ordering::Acquire) == addr)
}

fn is_linked_insn(addr: u64) -> bool {
    LIVE.iter().any(|slot| {
        // SAFETY: see markpatch_int3.
        unsafe { slot.load(Ordering::Acquire).as_ref() }.is_some_and(|l| l.insn_addr[..l.m].contains(&addr))
    })
}

/// Called by the die notifier (src/int3.c) for a kernel int3 nobody else
/// claimed. `ip` is past the int3, `bp` the thread's %rbp. Returns true when
/// it was one of ours; then `ip` and `sp` say where the caller goes on.
#[no_mangle]
extern "C" fn markpatch_int3(ip: &mut c_ulong, sp: &mut c_ulong, bp: c_ulong) -> bool {
    let addr = (*ip as u64).wrapping_sub(1);
    // An int3 of ours that is no longer there: this CPU executed it, and
    // another CPU restored the instruction before this handler ran (seen
    // under TCG, even after the restore's serialising IPIs). The instruction
    // now at `addr` is whole (an original, or a mark or jump), so resume
    // there. Only at addresses where markpatch put int3s: an Ik of a linked
    // patch or of one reverted recently.
    let mut byte = [0u8; 1];
    if crate::text::read(addr, &mut byte).is_ok() && byte[0] != INT3 && (is_linked_insn(addr) || was_retired(addr)) {
        *ip = addr as c_ulong;
        return true;
    }
    for slot in LIVE.iter() {
        // SAFETY: see markpatch_resolve; handlers run with interrupts off,
        // and a Live is freed only after synchronize_rcu().
        let Some(live) = (unsafe { slot.load(Ordering::Acquire).as_ref() }) else {
            continue;
        };
        let m = live.m;
        let Some(index) = live.insn_addr[..m].iter().position(|&a| a == addr) else {
            continue;
        };
        if !live.trap[index].load(Ordering::Acquire) {
            continue;
        }
        let s = *sp as u64;
        let realigned = live.realign.map(|realign| RealignedFrame { realign, rbp: bp as u64 });
        let decision = resolve_in_frame(
            &|i| word_at(s, i),
            s,
            &live.effects[..m],
            realigned,
            Position::Trap { index },
            false,
            &is_text,
        );
        let (pop, resume) = match decision {
            Decision::Resume { pop, index } => (pop, index),
            // RunHook cannot come from a trap; Inconsistent: count it and
            // go on as a caller that ran the marks it has.
            _ => {
                live.inconsistent.fetch_add(1, Ordering::Relaxed);
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
