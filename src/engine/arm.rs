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

/// Why the writes stopped.
pub(super) enum ArmError {
    /// A write failed (`err`; EBUSY: the bytes changed under us) and what
    /// was written is undone: the region holds its original bytes.
    RolledBack(Error),
    /// A write failed and undoing it failed too: the patch must stay.
    Stuck(Error),
}

/// Writes the region in reverse order. Returns the nanoseconds spent.
pub(super) fn arm(patch: &Patch) -> Result<u64, ArmError> {
    let m = patch.plan.m();
    let start = crate::engine::cost::now_ns();
    for k in (0..m).rev() {
        let result = patch.replacement(k).and_then(|new| write_insn(patch, k, &patch.plan.insns[k].original, &new));
        if let Err(e) = result {
            pr_err!("{}: writing I{} at +{:#x} failed ({}); rolling back\n", patch.name(), k + 1, patch.plan.insns[k].offset, e.to_errno());
            // Undo what was written: the suffix k+1..m, and Ik itself when
            // the int3 protocol left it part-way.
            let from = if patch.live.trap[k].load(Ordering::SeqCst) { k } else { k + 1 };
            return Err(match disarm::disarm(patch, from) {
                Ok(()) => ArmError::RolledBack(e),
                Err(re) => ArmError::Stuck(re),
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
