// SPDX-License-Identifier: GPL-2.0

//! The end of a patch's life: unlink it and free it once no task can run
//! its stub, pseudo-original or hook; or, when its bytes cannot be put
//! back, keep it linked for good. docs/design.md, "Revert".

use alloc::vec::Vec;
use kernel::prelude::*;

use super::patch::{Patch, State};
use crate::bindings;
use crate::hooks::{wait_idle, HookConfig};
use crate::ksys::wait;
use crate::runtime::live;
use crate::text::arena::Slot;

/// Waits until nothing can run `cfg` any more, then drops it.
pub(super) fn retire_config(cfg: KBox<HookConfig>) {
    // Callers that loaded the old pointer have entered its trampoline (and
    // counted themselves in flight) or left.
    wait::synchronize_rcu_tasks();
    retire_quiesced_config(cfg);
}

/// Drops `cfg` once unpublished for an RCU-tasks grace period already:
/// waits for its hook calls in flight, then for the last instructions of
/// the trampolines after the count (and anything still in a stub or P).
fn retire_quiesced_config(cfg: KBox<HookConfig>) {
    wait_idle(&cfg);
    wait::synchronize_rcu_tasks();
    drop(cfg);
}

/// Unlinks a patch whose bytes are the originals again and frees it once no
/// task can run its stub, P or hook; returns its arena slot, free to reuse
/// now. `quiesced`: the hook was unpublished and an RCU-tasks grace period
/// has passed since (crate::engine::disarm does both), so every caller that
/// loaded it has entered its trampoline or left.
pub(super) fn unlink(mut patch: KBox<Patch>, quiesced: bool) -> Slot {
    patch.end_progress();
    live::unpublish(patch.index);
    // int3 handlers (interrupts off) that saw the patch are done.
    wait::synchronize_rcu();
    match patch.cfg.take() {
        Some(cfg) if quiesced => retire_quiesced_config(cfg),
        Some(cfg) => retire_config(cfg),
        None => wait::synchronize_rcu_tasks(),
    }
    report_decisions(&patch);
    let Patch { slot, .. } = KBox::into_inner(patch);
    slot
}

/// Says, once a patch is gone, which of its resolver decisions were not
/// certain: stacks no mark count fits (an error: the tests require none),
/// and decisions a rival mark count also explained, where the residual
/// assumption A1 was relied on (docs/design.md, "The exact guarantee"),
/// and decisions the bound on marks changed, so that a wrong result
/// elsewhere can be laid against the function and the time. The resolver itself cannot print: it runs inside any patched
/// function.
fn report_decisions(patch: &Patch) {
    use core::sync::atomic::Ordering::Relaxed;
    let inconsistent = patch.live.inconsistent.load(Relaxed);
    if inconsistent != 0 {
        pr_err!("{}: {} stack(s) fit no mark count\n", patch.name(), inconsistent);
    }
    let ambiguous = patch.live.ambiguous.load(Relaxed);
    if ambiguous != 0 {
        pr_info!("{}: {} decision(s) a rival mark count also explained (A1 relied on)\n", patch.name(), ambiguous);
    }
    let bounded = patch.live.bounded.load(Relaxed);
    if bounded != 0 {
        pr_info!("{}: {} decision(s) the bound on marks changed (unbounded, they would have taken words for marks)\n", patch.name(), bounded);
    }
}

/// Unlinks reverted patches together, as [`unlink`] does one quiesced
/// patch, with one grace period of each kind for all of them, and hands
/// each arena slot to `free`. Their hooks were unpublished an RCU-tasks
/// grace period ago and have no call in flight.
pub(super) fn unlink_many(patches: Vec<KBox<Patch>>, mut free: impl FnMut(Slot)) {
    for patch in &patches {
        patch.end_progress();
        live::unpublish(patch.index);
    }
    // int3 handlers (interrupts off) that saw the patches are done.
    wait::synchronize_rcu();
    for patch in &patches {
        if let Some(cfg) = patch.cfg.as_ref() {
            wait_idle(cfg);
        }
    }
    // The last instructions of the trampolines after the count, and any
    // task still in a stub or a pseudo-original.
    wait::synchronize_rcu_tasks();
    for mut patch in patches {
        drop(patch.cfg.take());
        report_decisions(&patch);
        let Patch { slot, .. } = KBox::into_inner(patch);
        free(slot);
    }
}

/// Keeps a patch whose original bytes could not be put back (someone else
/// wrote the text meanwhile): callers may still reach its stub, P and int3
/// handling, which live in markpatch's own text, so the patch stays linked
/// and markpatch stays loaded until a later revert of it succeeds.
pub(super) fn abandon(patch: &Patch, e: Error) {
    patch.set_state(State::Abandoned);
    // SAFETY: takes a reference on this module, never dropped.
    unsafe { bindings::markpatch_pin_self() };
    pr_err!(
        "{}: cannot restore the original bytes (errno {}); the patch stays linked, listed as abandoned, and markpatch stays loaded until a revert of it succeeds\n",
        patch.name(),
        e.to_errno()
    );
}

/// Drops the reference an abandoned patch took on markpatch, once its
/// original bytes are back and it is unlinked.
pub(super) fn unpin() {
    // SAFETY: drops the reference `abandon` took on this module.
    unsafe { bindings::markpatch_unpin_self() };
}

/// Waits, without limit, until no call of `patch`'s hook is in flight (the
/// unload paths, which must not free what those calls run).
pub(super) fn wait_drained(patch: &Patch) {
    if let Some(cfg) = patch.cfg.as_ref() {
        wait_idle(cfg);
    }
}
