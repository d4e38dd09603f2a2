// SPDX-License-Identifier: GPL-2.0

//! The revert's writes (kprobes' "unoptimize", livepatch's "unpatch"),
//! also the rollback of a failed install: unpublish the hook, then int3
//! over the first byte of every written Ik; wait until no task can be
//! inside a NOP filler; the other bytes; the first bytes. docs/design.md,
//! "Revert".

use core::sync::atomic::Ordering;
use kernel::prelude::*;
use markplan::marks::{classify, InsnBytes};
use markplan::plan::MAX_REGION;

use super::arm::InsnAt;
use super::insn_write::{trap, untrap, write_first, write_tail};
use super::patch::Patch;
use crate::ksys::wait;
use crate::text;

/// The first instruction, from Ik on, that holds bytes markpatch did not
/// write (a kprobe's int3 or jump, ftrace, another patcher): None when
/// every one holds its original bytes, its replacement, or markpatch's own
/// int3 part-way (docs/design.md, "Neighbours that write the same text").
pub(super) fn foreign(patch: &Patch, from: usize) -> Result<Option<InsnAt>> {
    for k in from..patch.plan.m() {
        let mut current = [0u8; 15];
        if read_insn(patch, k, &mut current)? {
            return Ok(Some(InsnAt { k, offset: patch.plan.insns[k].offset }));
        }
    }
    Ok(None)
}

/// Reads Ik's bytes into `current`; says whether they are another writer's.
fn read_insn(patch: &Patch, k: usize, current: &mut [u8; 15]) -> Result<bool> {
    let i = &patch.plan.insns[k];
    text::read(patch.insn_addr(k), &mut current[..i.len])?;
    let trapped = patch.live.trap[k].load(Ordering::SeqCst);
    Ok(classify(&current[..i.len], &i.original, patch.replacement(k), trapped) == InsnBytes::Foreign)
}

/// What a disarm read before its first write: the bytes each Ik held.
pub(super) struct Disarming {
    from: usize,
    current: [[u8; 15]; MAX_REGION],
}

/// Puts back the original bytes of Ik for k >= `from` (all of them for a
/// revert, the written suffix for a rollback). EBUSY, with nothing
/// written and the hook still published, when another writer's bytes are
/// in the region: putting ours back over them would destroy theirs (see
/// [`foreign`]). Each write is a compare-and-exchange against the bytes
/// read here, so a writer that comes later makes it fail, not vanish.
pub(super) fn disarm(patch: &Patch, from: usize) -> Result {
    let d = begin(patch, from)?;
    wait::synchronize_rcu_tasks();
    finish(patch, &d)
}

/// The first half of [`disarm`]: unpublish the hook and put int3 over the
/// first byte of every Ik from `from`. Before [`finish`], the caller waits
/// for an RCU-tasks grace period (one for many patches in a batch).
pub(super) fn begin(patch: &Patch, from: usize) -> Result<Disarming> {
    let m = patch.plan.m();
    // One read: the bytes classified are the bytes the writes compare
    // against, so a writer that comes after it makes a write fail.
    let mut d = Disarming { from, current: [[0; 15]; MAX_REGION] };
    for k in from..m {
        if read_insn(patch, k, &mut d.current[k])? {
            return Err(EBUSY);
        }
    }
    // New calls run the original from now on.
    patch.live.hook.store(core::ptr::null_mut(), Ordering::Release);
    for k in from..m {
        trap(patch, k, d.current[k][0])?;
    }
    Ok(d)
}

/// The second half of [`disarm`], once no task is inside a NOP filler any
/// more (the region never sleeps, and the only way on from a mark is
/// through an int3 or the stub, neither a voluntary switch): the other
/// bytes, then the first bytes.
pub(super) fn finish(patch: &Patch, d: &Disarming) -> Result {
    let m = patch.plan.m();
    // No thread holds a mark now, and no write from here on makes one:
    // a thread that meets an int3 in the region ran only original
    // instructions, so the resolver takes no candidate with marks
    // (docs/design.md, "The exact guarantee").
    patch.live.armed.store(0, Ordering::SeqCst);
    for k in d.from..m {
        let i = &patch.plan.insns[k];
        write_tail(patch, k, &d.current[k][..i.len], &i.original)?;
    }
    for k in d.from..m {
        write_first(patch, k, patch.plan.insns[k].original[0])?;
    }
    for k in d.from..m {
        untrap(patch, k);
    }
    Ok(())
}
