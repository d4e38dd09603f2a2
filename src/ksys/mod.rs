// SPDX-License-Identifier: GPL-2.0

//! The kernel services markpatch uses, each behind a small safe wrapper:
//! symbols, kprobes sets, waits, error codes, and the allocator the
//! private `alloc` (iced-x86) runs on.

pub(crate) mod alloc_selftest;
pub(crate) mod errno;
pub(crate) mod iced_tables;
pub(crate) mod probes;
pub(crate) mod registration;
pub(crate) mod reserve;
pub(crate) mod symbol;
pub(crate) mod wait;
