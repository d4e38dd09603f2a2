// SPDX-License-Identifier: GPL-2.0

//! Whether a function may be patched, and why not: the one answer `plan`,
//! `survey` and `install` give, worded in one place.

use core::fmt;
use kernel::prelude::*;
use markplan::plan::Plan;
use markplan::refusal::Refusal;

use crate::ksys::errno;
use crate::ksys::symbol::{Function, Unresolved};

/// The verdict on one function.
pub(crate) enum Verdict {
    /// It can be patched with this plan.
    Plannable(Plan),
    /// The name is not a function markpatch may look at.
    Unresolved(Unresolved),
    /// The planner refuses its first instructions.
    Refused(Refusal),
    /// kprobes refuses Ik (index `k`, at `offset` from the start): a jump
    /// label, static call, bug entry or blacklisted address (`err`), or
    /// an armed kprobe already there (EBUSY).
    KprobesRefuses { k: usize, offset: usize, err: Error },
}

impl Verdict {
    /// The errno a control file returns for it (0 for a plannable one).
    pub(crate) fn errno(&self) -> Option<Error> {
        match self {
            Verdict::Plannable(_) => None,
            Verdict::Unresolved(u) => Some(u.errno()),
            Verdict::Refused(_) | Verdict::KprobesRefuses { .. } => Some(errno::EOPNOTSUPP()),
        }
    }

    /// A short stable name (what `survey` prints): `ok`, or the reason.
    pub(crate) fn code(&self) -> &'static str {
        match self {
            Verdict::Plannable(_) => "ok",
            Verdict::Unresolved(u) => u.code(),
            Verdict::Refused(r) => r.kind(),
            Verdict::KprobesRefuses { err, .. } if *err == EBUSY => "kprobe-armed",
            Verdict::KprobesRefuses { .. } => "kprobes-refuses-region",
        }
    }

    /// The one-line reason of a refusal, as dmesg and `plan` say it.
    pub(crate) fn reason(&self) -> Reason<'_> {
        Reason(self)
    }
}

/// [`Verdict::reason`]: "refused: <why>", or "plannable M=<m>".
pub(crate) struct Reason<'a>(&'a Verdict);

impl fmt::Display for Reason<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Verdict::Plannable(plan) => write!(f, "plannable M={}", plan.m()),
            Verdict::Unresolved(u) => write!(f, "refused: {}", u),
            Verdict::Refused(r) => write!(f, "refused: {}", r),
            Verdict::KprobesRefuses { k, offset, err } => {
                let why = if *err == EBUSY {
                    "an armed kprobe (int3 or optimized jump) is there"
                } else {
                    "jump label, static call, bug entry or blacklisted"
                };
                write!(f, "refused: kprobes refuses I{} at +{:#x} (errno {}: {})", k + 1, offset, err.to_errno(), why)
            }
        }
    }
}

/// A verdict on a live function, with the bytes it was made from (none
/// when the name is not a function).
pub(crate) struct Planned {
    pub(crate) func: Option<Function>,
    pub(crate) code: alloc::vec::Vec<u8>,
    pub(crate) verdict: Verdict,
}
