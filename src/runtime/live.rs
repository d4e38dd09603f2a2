// SPDX-License-Identifier: GPL-2.0

//! The LIVE table: what the resolver and the int3 handler know of each
//! linked patch. A stub pushes its patch's index in the table. An entry is
//! published before the first byte of its target is written and
//! unpublished only after the last byte is restored; a [`Live`] is freed
//! after an RCU grace period (int3 handlers run with interrupts off) and an
//! RCU-tasks one (the stub path never sleeps) that follow its unpublishing
//! (crate::engine::retire).

use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering};
use markplan::plan::{Realign, MAX_REGION};
use markplan::resolve::RegUse;

use super::kernel_text::{in_core_text, in_live_module_text};
use crate::bindings::{self, usize_of};
use crate::hooks::HookConfig;

/// How many patches may be installed at once.
pub(crate) const MAX_PATCHES: usize = usize_of(bindings::MARKPATCH_MAX_PATCHES);

/// What the resolver needs of one patch, fixed while the patch is linked
/// (except the hook, swapped atomically, the marks armed, and the
/// counters). The first five fields are read by the fast path in entry.S
/// (MARKPATCH_LIVE_* in glue.h, checked below).
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
    /// How many marks the install has written or is writing, from IM-1
    /// down (M-1 once installed): no thread can have run more
    /// (`markplan::resolve::marks_bound`). Raised before each mark's write;
    /// 0 again once a revert or rollback has waited out every thread that
    /// could hold a mark (`engine::disarm::finish`).
    pub(crate) armed: AtomicUsize,
    /// Address of each Ik.
    pub(crate) insn_addr: [u64; MAX_REGION],
    /// Static stack effect of each Ik (bytes pushed).
    pub(crate) effects: [i32; MAX_REGION],
    /// What each Ik pushes and writes: the resolver's register witness.
    pub(crate) reg_uses: [RegUse; MAX_REGION],
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
    /// Decisions a rival candidate also explained (see [`count_ambiguous`]).
    ///
    /// [`count_ambiguous`]: Live::count_ambiguous
    pub(crate) ambiguous: AtomicU64,
    /// Decisions the bound on marks changed (see [`count_bounded`]).
    ///
    /// [`count_bounded`]: Live::count_bounded
    pub(crate) bounded: AtomicU64,
}

const _: () = assert!(core::mem::offset_of!(Live, m) == usize_of(bindings::MARKPATCH_LIVE_M));
const _: () = assert!(core::mem::offset_of!(Live, hook) == usize_of(bindings::MARKPATCH_LIVE_HOOK));
const _: () = assert!(core::mem::offset_of!(Live, calls) == usize_of(bindings::MARKPATCH_LIVE_CALLS));
const _: () = assert!(core::mem::offset_of!(Live, module_ret) == usize_of(bindings::MARKPATCH_LIVE_MODULE_RET));
const _: () = assert!(core::mem::offset_of!(Live, armed) == usize_of(bindings::MARKPATCH_LIVE_ARMED));
const _: () = assert!(MAX_PATCHES <= i32::MAX as usize);

impl Live {
    /// A region of `m` instructions at `insn_addr`, with their stack effects,
    /// their register use and their entries in the pseudo-original; no hook
    /// yet, no counts.
    pub(crate) fn new(
        m: usize,
        insn_addr: [u64; MAX_REGION],
        effects: [i32; MAX_REGION],
        reg_uses: [RegUse; MAX_REGION],
        entries: [u64; MAX_REGION],
        realign: Option<Realign>,
    ) -> Self {
        Live {
            m,
            insn_addr,
            effects,
            reg_uses,
            realign,
            entries,
            trap: [const { AtomicBool::new(false) }; MAX_REGION],
            hook: AtomicPtr::new(core::ptr::null_mut()),
            calls: AtomicU64::new(0),
            module_ret: AtomicU64::new(0),
            armed: AtomicUsize::new(0),
            partial: AtomicU64::new(0),
            traps: AtomicU64::new(0),
            inconsistent: AtomicU64::new(0),
            ambiguous: AtomicU64::new(0),
            bounded: AtomicU64::new(0),
        }
    }

    /// Counts a stack no candidate explains, here and in
    /// [`INCONSISTENT_STACKS`].
    pub(crate) fn count_inconsistent(&self) {
        self.inconsistent.fetch_add(1, Ordering::Relaxed);
        INCONSISTENT_STACKS.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a decision that a smaller candidate with another return slot
    /// also explained (`markplan::resolve::rival_in_frame`), here and in
    /// [`AMBIGUOUS_DECISIONS`]. Not logged: the resolver runs inside any
    /// patched function, scheduler locks held perhaps, where printk may not.
    pub(crate) fn count_ambiguous(&self) {
        self.ambiguous.fetch_add(1, Ordering::Relaxed);
        AMBIGUOUS_DECISIONS.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a decision that would have taken more marks than the thread
    /// can hold (the install had written fewer; a revert had waited out
    /// every mark): a mark-like word above the true marks, here and
    /// in [`BOUNDED_DECISIONS`]; not logged, as [`Live::count_ambiguous`].
    pub(crate) fn count_bounded(&self) {
        self.bounded.fetch_add(1, Ordering::Relaxed);
        BOUNDED_DECISIONS.fetch_add(1, Ordering::Relaxed);
    }

    /// The marks a thread may have run: see [`Live::armed`].
    pub(crate) fn armed(&self) -> usize {
        self.armed.load(Ordering::SeqCst)
    }

    /// The instructions of the region.
    pub(crate) fn insns(&self) -> &[u64] {
        &self.insn_addr[..self.m]
    }
}

/// Stacks the resolver or the int3 handler could not explain since load,
/// over every patch (`stats`: inconsistent_stacks; the tests require 0).
pub(crate) static INCONSISTENT_STACKS: AtomicU64 = AtomicU64::new(0);

/// Decisions since load that a rival candidate also explained, over every
/// patch (`stats`: ambiguous_decisions): the stacks on which the residual
/// assumption A1 (docs/design.md, "The exact guarantee") was relied on.
pub(crate) static AMBIGUOUS_DECISIONS: AtomicU64 = AtomicU64::new(0);

/// Decisions since load that the bound on the marks changed,
/// over every patch (`stats`: bounded_decisions): each is a stack on which
/// a resolver without the bound would have popped a word that was not a
/// mark.
pub(crate) static BOUNDED_DECISIONS: AtomicU64 = AtomicU64::new(0);

#[allow(clippy::declare_interior_mutable_const)]
const NO_PATCH: AtomicPtr<Live> = AtomicPtr::new(core::ptr::null_mut());
/// The table entry.S reads as markpatch_live.
#[export_name = "markpatch_live"]
static LIVE: [AtomicPtr<Live>; MAX_PATCHES] = [NO_PATCH; MAX_PATCHES];

/// A free index in the table (the engine lock serialises publishers).
pub(crate) fn free_index() -> Option<usize> {
    LIVE.iter().position(|p| p.load(Ordering::Relaxed).is_null())
}

/// Makes `live` what a stub pushing `index` reaches. The engine keeps it
/// allocated until [`unpublish`] and the grace periods after it.
pub(crate) fn publish(index: usize, live: &Live) {
    LIVE[index].store(core::ptr::from_ref(live).cast_mut(), Ordering::Release);
}

/// Unlinks the patch at `index`; its instruction addresses stay known for a
/// while (late int3 handlers, [`was_retired`]).
pub(crate) fn unpublish(index: usize) {
    // SAFETY: the entry is linked until the store below.
    if let Some(live) = unsafe { LIVE[index].load(Ordering::Acquire).as_ref() } {
        retire(live);
    }
    LIVE[index].store(core::ptr::null_mut(), Ordering::Release);
}

/// The patch at `index`, if linked.
///
/// # Safety
/// The caller holds off its freeing: an RCU-tasks read side (the stub path,
/// which never sleeps), interrupts off (int3 handlers), or the engine lock.
pub(crate) unsafe fn get<'a>(index: usize) -> Option<&'a Live> {
    let p = LIVE.get(index)?.load(Ordering::Acquire);
    // SAFETY: per the function's contract, a linked Live stays allocated.
    unsafe { p.as_ref() }
}

/// Every linked patch.
///
/// # Safety
/// As for [`get`].
pub(crate) unsafe fn all<'a>() -> impl Iterator<Item = &'a Live> {
    // SAFETY: per the function's contract.
    (0..MAX_PATCHES).filter_map(|i| unsafe { get(i) })
}

/// Ik addresses of recently unlinked patches, for late int3 handlers.
#[allow(clippy::declare_interior_mutable_const)]
const NO_ADDR: AtomicU64 = AtomicU64::new(0);
static RETIRED: [AtomicU64; 256] = [NO_ADDR; 256];
static RETIRED_NEXT: AtomicU64 = AtomicU64::new(0);

/// Remembers an unlinked patch's instruction addresses (the ring keeps the
/// last 256).
fn retire(live: &Live) {
    for &a in live.insns() {
        let i = RETIRED_NEXT.fetch_add(1, Ordering::Relaxed) as usize % RETIRED.len();
        RETIRED[i].store(a, Ordering::Release);
    }
}

/// Whether `addr` is an Ik of a patch unlinked recently.
pub(crate) fn was_retired(addr: u64) -> bool {
    RETIRED.iter().any(|a| a.load(Ordering::Acquire) == addr)
}

/// Lets the fast path take `ret`, a return address a new call came from,
/// as text from now on, when it lies in a live module's text (core kernel
/// text needs no cache).
pub(crate) fn remember_module_caller(live: &Live, ret: u64) {
    if in_core_text(ret) || live.module_ret.load(Ordering::Relaxed) == ret || !in_live_module_text(ret) {
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
    // SAFETY: the engine lock is held: a linked Live stays allocated.
    for live in unsafe { all() } {
        let ret = live.module_ret.load(Ordering::SeqCst);
        if (start..end).contains(&ret) {
            let _ = live.module_ret.compare_exchange(ret, 0, Ordering::SeqCst, Ordering::SeqCst);
        }
    }
}
