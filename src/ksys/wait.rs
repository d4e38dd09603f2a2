// SPDX-License-Identifier: GPL-2.0

//! Waiting: sleeping and RCU grace periods (src/ksys/glue.c), with the
//! time spent in them counted (crate::engine::cost reports it per install
//! and revert).

use core::sync::atomic::{AtomicU64, Ordering};

use crate::bindings;

static WAITED_NS: AtomicU64 = AtomicU64::new(0);

/// Nanoseconds spent in the waits below (and in [`timed`]) since load.
pub(crate) fn waited_ns() -> u64 {
    WAITED_NS.load(Ordering::Relaxed)
}

/// Runs `wait` (something that waits, e.g. a grace period inside kprobes)
/// and counts its time as waiting.
pub(crate) fn timed<T>(wait: impl FnOnce() -> T) -> T {
    let t0 = crate::engine::cost::now_ns();
    let r = wait();
    WAITED_NS.fetch_add(crate::engine::cost::now_ns() - t0, Ordering::Relaxed);
    r
}

pub(crate) fn sleep_ms(ms: u32) {
    // SAFETY: msleep; called from process context only.
    timed(|| unsafe { bindings::markpatch_sleep_ms(ms) })
}

/// Returns once every task has switched voluntarily (or run in user space or
/// idle) since the call: none can still be between instructions of code it
/// was executing before, unless it sleeps there.
pub(crate) fn synchronize_rcu_tasks() {
    // SAFETY: process context only.
    timed(|| unsafe { bindings::markpatch_synchronize_rcu_tasks() })
}

/// Returns once every CPU left any RCU read-side section and any region with
/// interrupts or preemption off (the int3 handler runs with interrupts off).
pub(crate) fn synchronize_rcu() {
    // SAFETY: process context only.
    timed(|| unsafe { bindings::markpatch_synchronize_rcu() })
}
