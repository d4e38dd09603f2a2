// SPDX-License-Identifier: GPL-2.0

//! Whether a function may be patched, and why not: the one answer `plan`,
//! `survey` and `install` give, worded in one place.

use core::fmt;
use kernel::prelude::*;
use markplan::plan::Plan;
use markplan::refusal::Refusal;

use crate::ksys::errno;
use super::symbol_class::Class;
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
    /// markpatch's own code, or a function its run-time paths call
    /// (crate::engine::dependencies): patching it would recurse.
    Dependency,
    /// Code entered by a jump, not a call (crate::engine::symbol_class):
    /// no return address on its stack for a hook to return to.
    JumpEntered,
    /// Written in assembly, with a register contract of its own: only
    /// `count` may run for it (the answer to installing another hook).
    CountOnly,
    /// The filter hook asked for calls this function itself: it would
    /// call itself through the patch for ever.
    HookDependency,
}

impl Verdict {
    /// The errno a control file returns for it (0 for a plannable one).
    pub(crate) fn errno(&self) -> Option<Error> {
        match self {
            Verdict::Plannable(_) => None,
            Verdict::Unresolved(u) => Some(u.errno()),
            Verdict::Refused(_)
            | Verdict::KprobesRefuses { .. }
            | Verdict::Dependency
            | Verdict::JumpEntered
            | Verdict::CountOnly
            | Verdict::HookDependency => Some(errno::EOPNOTSUPP()),
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
            Verdict::Dependency => "markpatch-dependency",
            Verdict::JumpEntered => "jump-entered",
            Verdict::CountOnly => "count-only",
            Verdict::HookDependency => "hook-dependency",
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
            Verdict::Dependency => {
                f.write_str("refused: markpatch-dependency: markpatch's own code, or called by its resolver, int3 handler or hook dispatch")
            }
            Verdict::JumpEntered => f.write_str(
                "refused: jump-entered: code entered by a jump, without a call frame of its own (assembly code or a label not typed as a function, or a compiler's .cold part)",
            ),
            Verdict::CountOnly => f.write_str(
                "refused: count-only: written in assembly, with a register contract of its own: only the count hook may run for it",
            ),
            Verdict::HookDependency => {
                f.write_str("refused: hook-dependency: the filter hook calls this function itself, so it would call itself for ever")
            }
        }
    }
}

/// A verdict on a live function, with the bytes it was made from (none
/// when the name is not a function).
pub(crate) struct Planned {
    pub(crate) func: Option<Function>,
    /// What kind of code it is (C for a name that is not a function).
    pub(crate) class: Class,
    pub(crate) code: alloc::vec::Vec<u8>,
    /// The function's `.cold` part, when kallsyms has one.
    pub(crate) cold: Option<super::cold_part::ColdPart>,
    pub(crate) verdict: Verdict,
}
