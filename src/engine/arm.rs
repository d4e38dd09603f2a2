// SPDX-License-Identifier: GPL-2.0

//! The install's writes (kprobes' "optimize", livepatch's "patch"): IM
//! becomes `jmp stub`, then IM-1..I1 become marks, in that order, each with
//! one atomic write, every CPU serialised after each. docs/design.md,
//! "Install".

use core::sync::atomic::Ordering;
use kernel::prelude::*;

use super::disarm;
use super::insn_write::write_insn;
use super::patch::Patch;
use crate::bindings;
use crate::ksys::wait;

/// Why the writes stopped: the write of Ik failed (`at`).
pub(super) enum ArmError {
    /// It failed (`err`; EBUSY: the bytes changed under us) and what was
    /// written is undone: the region holds its original bytes.
    RolledBack { err: Error, at: InsnAt },
    /// It failed and undoing it failed too (`err`): the patch must stay.
    Stuck { err: Error, at: InsnAt },
}

/// An instruction of the region, for messages: Ik (`k` from 0) at
/// `offset` from the function's start.
#[derive(Clone, Copy, Debug)]
pub(crate) struct InsnAt {
    pub(crate) k: usize,
    pub(crate) offset: usize,
}

/// Writes the region in reverse order. Returns the nanoseconds spent.
pub(super) fn arm(patch: &Patch) -> Result<u64, ArmError> {
    let m = patch.plan.m();
    let start = crate::engine::cost::now_ns();
    for k in (0..m).rev() {
        // Before the mark can be run: the resolver must never bound a
        // thread below the marks it met (markplan::resolve::marks_bound).
        patch.live.armed.store(m - 1 - k, Ordering::SeqCst);
        let result = write_insn(patch, k, &patch.plan.insns[k].original, patch.replacement(k));
        if let Err(err) = result {
            // Undo what was written: the suffix k+1..m, and Ik itself when
            // the int3 protocol left it part-way. The caller says why in
            // one line.
            let at = InsnAt { k, offset: patch.plan.insns[k].offset };
            let from = if patch.live.trap[k].load(Ordering::SeqCst) { k } else { k + 1 };
            return Err(match disarm::disarm(patch, from) {
                Ok(()) => ArmError::RolledBack { err, at },
                Err(err) => ArmError::Stuck { err, at },
            });
        }
        if k > 0 {
            delay();
        }
    }
    Ok(crate::engine::cost::now_ns() - start)
}

/// The `install_delay_ms` debug parameter: a pause between two writes, so
/// that tests catch callers part-way.
fn delay() {
    // SAFETY: reads a module parameter.
    let ms = unsafe { bindings::markpatch_param_install_delay_ms() };
    if ms > 0 {
        wait::sleep_ms(ms);
    }
}
