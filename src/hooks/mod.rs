// SPDX-License-Identifier: GPL-2.0

//! Hooks: what a new call of a patched function runs. `count` passes every
//! call to the original and counts it; `fail=V` returns V; a filter hook,
//! registered by another module through include/markpatch.h ([`api`]),
//! runs instead of the function and may call the original.

pub(crate) mod api;
pub(crate) mod config;
pub(crate) mod registry;

pub(crate) use config::{wait_idle, HookConfig};
pub(crate) use registry::Registry;

/// A filter hook: `markpatch_filter_fn` of include/markpatch.h, never null.
pub(crate) type FilterFn = unsafe extern "C" fn(*const crate::bindings::markpatch_call) -> u64;
