// SPDX-License-Identifier: GPL-2.0

//! One patched function, and the states of its life.

use core::sync::atomic::{AtomicU64, AtomicU8, AtomicUsize, Ordering};
use kernel::prelude::*;
use kernel::str::CStr;
use markplan::plan::{Plan, MAX_REGION};
use markplan::pseudo_original::PseudoOriginal;
use markplan::stub::SLOT_P_OFFSET;

use crate::hooks::HookConfig;
use crate::ksys::symbol::Function;
use crate::runtime::live::Live;
use crate::text::arena::Slot;

/// Where a patch is in its life, as `patches` and `patch/<symbol>/state`
/// show it. Named as livepatch names a patch's transitions.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
pub(crate) enum State {
    /// Staged and linked; its instructions are being written (IM first).
    Installing = 0,
    /// Every instruction of the region is written.
    Installed = 1,
    /// The original bytes are being put back.
    Reverting = 2,
    /// The original bytes could not be put back (someone else wrote the
    /// text meanwhile): the patch stays linked, its memory and markpatch
    /// itself pinned until the next boot.
    Abandoned = 3,
}

impl State {
    pub(crate) fn name(self) -> &'static str {
        match self {
            State::Installing => "installing",
            State::Installed => "installed",
            State::Reverting => "reverting",
            State::Abandoned => "abandoned",
        }
    }

    fn from_u8(v: u8) -> State {
        match v {
            0 => State::Installing,
            1 => State::Installed,
            2 => State::Reverting,
            _ => State::Abandoned,
        }
    }
}

/// The function whose instructions an install or a revert is writing now
/// (0: none), and that patch's state, for readers that cannot wait for the
/// engine lock (the `state` file).
/// The next [`Patch::serial`].
static NEXT_SERIAL: AtomicU64 = AtomicU64::new(1);

static IN_PROGRESS_START: AtomicUsize = AtomicUsize::new(0);
static IN_PROGRESS_STATE: AtomicU8 = AtomicU8::new(0);

/// The state of the patch on `symbol` if an install or a revert is
/// writing it now.
pub(crate) fn in_progress(symbol: &CStr) -> Option<State> {
    let start = IN_PROGRESS_START.load(Ordering::Acquire);
    if start == 0 {
        return None;
    }
    let func = crate::ksys::symbol::find(symbol).ok()?;
    (func.start == start).then(|| State::from_u8(IN_PROGRESS_STATE.load(Ordering::Acquire)))
}

/// How a patch's instructions are written.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Method {
    /// The mark method: IM becomes `jmp stub`, then IM-1..I1 marks, each
    /// with one atomic write (crate::engine::arm).
    Marks,
    /// The direct method (`naive_unsafe`, tests only): one plain copy of
    /// `jmp stub` over I1..Ij, no marks (crate::engine::direct).
    Direct,
}

/// Each instruction's replacement, up to 15 bytes (the longest x86
/// instruction), indexed by k.
pub(crate) type Replacements = [[u8; 15]; MAX_REGION];

/// One patched function.
///
/// # Invariants
/// While the patch is linked (from staging until `retire::unlink`), `live`
/// is published in the LIVE table at `index`, the arena `slot` holds its
/// stub at `stub_addr` and its pseudo-original at `p_addr`, and `cfg` is the
/// hook `live.hook` points at (or none, once reverting).
pub(crate) struct Patch {
    pub(crate) name: alloc::vec::Vec<u8>,
    pub(crate) func: Function,
    pub(crate) index: usize,
    /// Which install this is: never the same for two patches since load,
    /// so that a wait that dropped the engine lock can tell the patch it
    /// waited for from a later one on the same function.
    pub(crate) serial: u64,
    pub(crate) live: KBox<Live>,
    pub(crate) plan: Plan,
    pub(crate) pseudo: PseudoOriginal,
    /// What each Ik holds once installed (its first `len` bytes), made at
    /// staging so that no write waits on an allocation.
    replacements: Replacements,
    pub(crate) slot: Slot,
    pub(crate) stub_addr: u64,
    pub(crate) p_addr: u64,
    /// The config published in `live.hook` (owned here).
    pub(crate) cfg: Option<KBox<HookConfig>>,
    pub(crate) method: Method,
    /// A [`State`], readable without the engine lock.
    state: AtomicU8,
}

impl Patch {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        name: alloc::vec::Vec<u8>,
        func: Function,
        index: usize,
        live: KBox<Live>,
        plan: Plan,
        pseudo: PseudoOriginal,
        replacements: Replacements,
        slot: Slot,
        cfg: KBox<HookConfig>,
        method: Method,
    ) -> Self {
        let stub_addr = slot.addr();
        let patch = Patch {
            name,
            func,
            index,
            serial: NEXT_SERIAL.fetch_add(1, Ordering::Relaxed),
            live,
            plan,
            pseudo,
            replacements,
            slot,
            stub_addr,
            p_addr: stub_addr + SLOT_P_OFFSET,
            cfg: Some(cfg),
            method,
            state: AtomicU8::new(State::Installing as u8),
        };
        patch.set_state(State::Installing);
        patch
    }

    pub(crate) fn name(&self) -> &str {
        core::str::from_utf8(&self.name).unwrap_or("?")
    }

    pub(crate) fn hook_desc(&self) -> &str {
        self.cfg.as_ref().map(|c| c.desc()).unwrap_or("-")
    }

    pub(crate) fn state(&self) -> State {
        State::from_u8(self.state.load(Ordering::Acquire))
    }

    /// Moves the patch to `s` (the engine lock held).
    pub(crate) fn set_state(&self, s: State) {
        self.state.store(s as u8, Ordering::Release);
        if matches!(s, State::Installing | State::Reverting) {
            IN_PROGRESS_STATE.store(s as u8, Ordering::Release);
            IN_PROGRESS_START.store(self.func.start, Ordering::Release);
        } else {
            self.end_progress();
        }
    }

    /// The patch is no longer being written (it is being unlinked).
    pub(crate) fn end_progress(&self) {
        let _ = IN_PROGRESS_START.compare_exchange(self.func.start, 0, Ordering::AcqRel, Ordering::Relaxed);
    }

    /// The address of Ik.
    pub(crate) fn insn_addr(&self, k: usize) -> u64 {
        self.plan.addr + self.plan.insns[k].offset as u64
    }

    /// What Ik holds once installed (the mark method; the direct method
    /// writes one span instead).
    pub(crate) fn replacement(&self, k: usize) -> &[u8] {
        &self.replacements[k][..self.plan.insns[k].len]
    }

    /// Whether a call of its filter hook is in flight (it may still call
    /// the pseudo-original).
    pub(crate) fn calls_in_flight(&self) -> bool {
        self.cfg.as_ref().is_some_and(|c| c.inflight.load(Ordering::Acquire) != 0)
    }

    /// Whether the region holds exactly the saved original bytes.
    pub(crate) fn restored(&self) -> bool {
        self.plan.insns.iter().enumerate().all(|(k, i)| {
            let mut b = [0u8; 15];
            crate::text::read(self.insn_addr(k), &mut b[..i.len]).is_ok() && b[..i.len] == i.original[..]
        })
    }
}
