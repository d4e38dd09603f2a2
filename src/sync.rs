// SPDX-License-Identifier: GPL-2.0

//! Waiting: sleeping and RCU grace periods (src/glue.c).

extern "C" {
    fn markpatch_sleep_ms(ms: u32);
    fn markpatch_synchronize_rcu_tasks();
    fn markpatch_synchronize_rcu();
}

pub(crate) fn sleep_ms(ms: u32) {
    // SAFETY: msleep; called from process context only.
    unsafe { markpatch_sleep_ms(ms) }
}

/// Returns once every task has switched voluntarily (or run in user space or
/// idle) since the call: none can still be between instructions of code it
/// was executing before, unless it sleeps there.
pub(crate) fn synchronize_rcu_tasks() {
    // SAFETY: process context only.
    unsafe { markpatch_synchronize_rcu_tasks() }
}

/// Returns once every CPU left any RCU read-side section and any region with
/// interrupts or preemption off (the int3 handler runs with interrupts off).
pub(crate) fn synchronize_rcu() {
    // SAFETY: process context only.
    unsafe { markpatch_synchronize_rcu() }
}
