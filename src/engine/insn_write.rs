// SPDX-License-Identifier: GPL-2.0

//! Writing one instruction of a region while other CPUs may run it: one
//! atomic write of its aligned window, or the int3 protocol in three steps
//! (int3 over the first byte; the other bytes; the first byte). An install
//! takes the steps one instruction at a time ([`write_insn`]); a revert
//! takes each step over every instruction before the next
//! (crate::engine::disarm). docs/design.md, "Install" and "Revert".

use core::sync::atomic::Ordering;
use kernel::prelude::*;
use markplan::marks::{WriteMethod, INT3};

use super::patch::Patch;
use crate::bindings;
use crate::text;

/// Step 1: int3 over Ik's first byte (`first` now). The int3 handler takes
/// a CPU that reaches it into the pseudo-original from then on. When the
/// write fails (another writer's byte is there) the trap flag is cleared
/// again: an int3 there is not ours, and a rollback must not take it for
/// ours (crate::engine::disarm::foreign).
pub(super) fn trap(patch: &Patch, k: usize, first: u8) -> Result {
    let ours = patch.live.trap[k].swap(true, Ordering::SeqCst);
    if first == INT3 {
        // Already there: ours only if our trap flag was set before.
        if ours {
            return Ok(());
        }
        untrap(patch, k);
        return Err(EBUSY);
    }
    text::cmpxchg_bytes(patch.insn_addr(k), &[first], &[INT3]).inspect_err(|_| untrap(patch, k))
}

/// Step 2: Ik's bytes after the first, from `old` to `new`; no CPU
/// executes them behind the int3.
pub(super) fn write_tail(patch: &Patch, k: usize, old: &[u8], new: &[u8]) -> Result {
    text::copy_bytes(patch.insn_addr(k) + 1, &old[1..], &new[1..])
}

/// Step 3: the first byte, over the int3.
pub(super) fn write_first(patch: &Patch, k: usize, new: u8) -> Result {
    text::cmpxchg_bytes(patch.insn_addr(k), &[INT3], &[new])
}

/// After step 3: the serialising write left no CPU in the handler for
/// this int3 (a late one finds it gone: crate::runtime::int3).
pub(super) fn untrap(patch: &Patch, k: usize) {
    patch.live.trap[k].store(false, Ordering::SeqCst);
}

/// Writes `new` over Ik (expecting `old`): one atomic write of its window,
/// or the int3 protocol when it straddles one (or `int3_writes` asks for
/// it). On failure, `live.trap[k]` tells whether Ik may be part-way.
pub(super) fn write_insn(patch: &Patch, k: usize, old: &[u8], new: &[u8]) -> Result {
    // SAFETY: reads a module parameter.
    let int3_only = unsafe { bindings::markpatch_param_int3_writes() };
    match patch.plan.insns[k].write {
        WriteMethod::Window8 { .. } | WriteMethod::Window16 { .. } if !int3_only => {
            text::cmpxchg_bytes(patch.insn_addr(k), old, new)
        }
        _ => {
            trap(patch, k, old[0])?;
            write_tail(patch, k, old, new)?;
            write_first(patch, k, new[0])?;
            untrap(patch, k);
            Ok(())
        }
    }
}
