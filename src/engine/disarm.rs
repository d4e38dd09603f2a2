// SPDX-License-Identifier: GPL-2.0

//! The revert's writes (kprobes' "unoptimize", livepatch's "unpatch"),
//! also the rollback of a failed install: unpublish the hook, then int3
//! over the first byte of every written Ik; wait until no task can be
//! inside a NOP filler; the other bytes; the first bytes. docs/design.md,
//! "Revert".

use core::sync::atomic::Ordering;
use kernel::prelude::*;
use markplan::plan::MAX_REGION;

use super::insn_write::{trap, untrap, write_first, write_tail};
use super::patch::Patch;
use crate::ksys::wait;
use crate::text;

/// Puts back the original bytes of Ik for k >= `from` (all of them for a
/// revert, the written suffix for a rollback).
pub(super) fn disarm(patch: &Patch, from: usize) -> Result {
    let m = patch.plan.m();
    // New calls run the original from now on.
    patch.live.hook.store(core::ptr::null_mut(), Ordering::Release);
    let mut current: [[u8; 15]; MAX_REGION] = [[0; 15]; MAX_REGION];
    for k in from..m {
        let len = patch.plan.insns[k].len;
        text::read(patch.insn_addr(k), &mut current[k][..len])?;
    }
    for k in from..m {
        trap(patch, k, current[k][0])?;
    }
    // No task is inside a NOP filler any more: the region never sleeps, and
    // the only way on from a mark is through an int3 or the stub, neither a
    // voluntary switch.
    wait::synchronize_rcu_tasks();
    for k in from..m {
        let i = &patch.plan.insns[k];
        write_tail(patch, k, &current[k][..i.len], &i.original)?;
    }
    for k in from..m {
        write_first(patch, k, patch.plan.insns[k].original[0])?;
    }
    for k in from..m {
        untrap(patch, k);
    }
    Ok(())
}
