// SPDX-License-Identifier: GPL-2.0

//! The direct method, tests only (`naive_unsafe=1`): one plain copy of
//! `jmp stub` over I1..Ij while other CPUs may run them, no marks, no
//! resolver decision (the patch's region is one instruction, so every
//! caller of the stub is a new call). It is what `make torture-compare`
//! measures markpatch against, and it can crash the kernel.
//! docs/design.md, "The direct method".

use core::sync::atomic::Ordering;
use kernel::prelude::*;
use markplan::plan::{Facts, Plan};

use super::Failure;

use super::patch::Patch;
use crate::text;

/// The direct method's plan: the instructions its 5-byte `jmp` covers.
/// ENOMEM (as a Failure) when its allocations needed the reserve.
pub(super) fn plan(code: &[u8], addr: u64, facts: &Facts<'_>) -> Result<Plan, Failure> {
    crate::ksys::reserve::run(|| markplan::naive::plan(code, addr, facts))
        .map_err(|e| Failure::new(e, "out of memory"))?
        .map_err(Failure::refused)
}

/// The span I1..Ij: its original bytes, and `jmp stub` with its filler.
fn span(patch: &Patch) -> Result<(alloc::vec::Vec<u8>, alloc::vec::Vec<u8>)> {
    let mut original = alloc::vec::Vec::new();
    for i in &patch.plan.insns {
        original.try_reserve(i.len).map_err(|_| ENOMEM)?;
        original.extend_from_slice(&i.original);
    }
    let new = crate::ksys::reserve::run(|| markplan::naive::span_bytes(patch.insn_addr(0), original.len(), patch.stub_addr))?
        .ok_or(ERANGE)?;
    Ok((original, new))
}

/// Writes the span with one ordinary copy. Returns the nanoseconds spent.
pub(super) fn arm(patch: &Patch) -> Result<u64> {
    let start = crate::engine::cost::now_ns();
    let (old, new) = span(patch)?;
    text::copy_bytes(patch.insn_addr(0), &old, &new)?;
    pr_warn!("{}: installed with the UNSAFE direct method (naive_unsafe=1, tests only)\n", patch.name());
    Ok(crate::engine::cost::now_ns() - start)
}

/// Puts the original bytes back with one ordinary copy, as unsafe as
/// [`arm`]. Unlike the mark method's revert, it does not wait for an
/// RCU-tasks grace period after unpublishing the hook.
pub(super) fn disarm(patch: &Patch) -> Result {
    // The bytes first: an allocation that fails leaves the patch as it was.
    let (original, new) = span(patch)?;
    patch.live.hook.store(core::ptr::null_mut(), Ordering::Release);
    text::copy_bytes(patch.insn_addr(0), &new, &original)
}
