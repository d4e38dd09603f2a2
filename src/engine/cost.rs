// SPDX-License-Identifier: GPL-2.0

//! What the last install and the last revert cost: wall time, the time
//! spent writing the code, the longest write with interrupts masked and the
//! serialising IPIs (measured in src/text/text_poke.c). Read through
//! /sys/kernel/markpatch/timing; `make bench` plots it.

use core::fmt::Write;

use crate::bindings::{self, markpatch_text_costs as TextCosts};

/// The text writes' costs since the last call, which starts a new count.
pub(crate) fn take_text_costs() -> TextCosts {
    let mut c = TextCosts::default();
    // SAFETY: fills `c`; called under the engine lock, which every writer holds.
    unsafe { bindings::markpatch_text_costs_take(&mut c) };
    c
}

/// Monotonic nanoseconds (ktime_get_ns).
pub(crate) fn now_ns() -> u64 {
    // SAFETY: no preconditions.
    unsafe { bindings::markpatch_now_ns() }
}

/// Where an operation began: the clock, and the waits so far.
#[derive(Clone, Copy)]
pub(crate) struct Start {
    ns: u64,
    waited_ns: u64,
}

impl Start {
    pub(crate) fn ns(&self) -> u64 {
        self.ns
    }
}

/// Begins an operation: takes the time and starts a new count of the text
/// writes' costs.
pub(crate) fn start() -> Start {
    take_text_costs();
    Start { ns: now_ns(), waited_ns: crate::ksys::wait::waited_ns() }
}

/// The function an operation was on (its first 64 bytes), kept without
/// allocating.
#[derive(Clone, Copy)]
pub(crate) struct OpName {
    name: [u8; 64],
    len: usize,
}

impl OpName {
    pub(crate) fn new(name: &[u8]) -> Self {
        let mut n = [0u8; 64];
        let len = name.len().min(n.len());
        n[..len].copy_from_slice(&name[..len]);
        OpName { name: n, len }
    }

    fn as_str(&self) -> &str {
        core::str::from_utf8(&self.name[..self.len]).unwrap_or("?")
    }
}

/// One install or revert.
#[derive(Clone, Copy)]
pub(crate) struct OpCost {
    name: OpName,
    /// The region's instruction count.
    m: usize,
    /// Patches installed besides this one.
    others: usize,
    /// From the request to the end, grace periods included.
    total_ns: u64,
    /// The instruction writes (for an install: IM's jmp to I1's mark; for
    /// a revert, the whole restore protocol, an RCU-tasks wait included).
    write_ns: u64,
    /// Of `total_ns`, the time spent waiting for grace periods and sleeping.
    waits_ns: u64,
    text: TextCosts,
}

impl OpCost {
    /// Closes an operation that began at `start_ns` (text costs counted
    /// since then).
    pub(crate) fn finish(name: OpName, m: usize, others: usize, start: Start, write_ns: u64) -> Self {
        OpCost {
            name,
            m,
            others,
            total_ns: now_ns() - start.ns,
            write_ns,
            waits_ns: crate::ksys::wait::waited_ns() - start.waited_ns,
            text: take_text_costs(),
        }
    }

    pub(crate) fn write_line(&self, op: &str, w: &mut impl Write) -> core::fmt::Result {
        let t = &self.text;
        writeln!(
            w,
            "{} {} m={} others={} total_ns={} write_ns={} waits_ns={} writes={} syncs={} irqoff_max_ns={} sync_max_ns={} sync_total_ns={} held_max_ns={}",
            op,
            self.name.as_str(),
            self.m,
            self.others,
            self.total_ns,
            self.write_ns,
            self.waits_ns,
            t.writes,
            t.syncs,
            t.irqoff_max_ns,
            t.sync_max_ns,
            t.sync_total_ns,
            t.held_max_ns
        )
    }
}
