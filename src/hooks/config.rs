// SPDX-License-Identifier: GPL-2.0

//! One hook as a patch uses it: what a new call runs, read by the resolver
//! and the trampolines (src/runtime/trampolines.S) with r11 pointing at it.

use core::ffi::c_void;
use core::sync::atomic::{AtomicU64, Ordering};
use kernel::prelude::*;

use super::FilterFn;
use crate::bindings::{self, usize_of};

/// One hook as a patch uses it: immutable once published, replaced as a
/// whole. The assembly gets it in r11 and reads its first six fields
/// (MARKPATCH_HOOK_* in src/glue.h, checked below), hence `repr(C)`.
#[repr(C)]
pub(crate) struct HookConfig {
    /// What `fail` returns .
    pub(crate) fail_value: u64,
    /// Filter calls in progress.
    pub(crate) inflight: AtomicU64,
    /// Where a new call goes: see [`HookConfig::target`].
    target: u64,
    /// The pseudo-original's callable entry: "the original function".
    pub(crate) original: u64,
    /// A filter hook's function and data (0 for the other kinds): the filter trampoline calls it directly.
    filter_func: u64,
    filter_data: u64,
    pub(crate) kind: HookKind,
    /// The registered hook's module, pinned while this config lives.
    owner: *mut bindings::module,
    /// As the user wrote it: count, fail=-5, targets_double.
    pub(crate) desc: [u8; 40],
}

// SAFETY: a config is immutable once published but for `inflight` (atomic);
// `data` is only passed back to the hook, `owner` to module_put.
unsafe impl Send for HookConfig {}
// SAFETY: as above.
unsafe impl Sync for HookConfig {}

const _: () = assert!(core::mem::offset_of!(HookConfig, fail_value) == usize_of(bindings::MARKPATCH_HOOK_FAIL_VALUE));
const _: () = assert!(core::mem::offset_of!(HookConfig, inflight) == usize_of(bindings::MARKPATCH_HOOK_INFLIGHT));
const _: () = assert!(core::mem::offset_of!(HookConfig, target) == usize_of(bindings::MARKPATCH_HOOK_TARGET));
const _: () = assert!(core::mem::offset_of!(HookConfig, original) == usize_of(bindings::MARKPATCH_HOOK_ORIGINAL));
const _: () = assert!(core::mem::offset_of!(HookConfig, filter_func) == usize_of(bindings::MARKPATCH_HOOK_FILTER_FUNC));
const _: () = assert!(core::mem::offset_of!(HookConfig, filter_data) == usize_of(bindings::MARKPATCH_HOOK_FILTER_DATA));
// The filter trampoline builds a struct markpatch_call on the stack: the six
// argument registers, the original, the data.
const _: () = assert!(core::mem::offset_of!(bindings::markpatch_call, original) == 48);
const _: () = assert!(core::mem::offset_of!(bindings::markpatch_call, data) == 56);

#[derive(Clone, Copy)]
pub(crate) enum HookKind {
    Count,
    Fail,
    Filter { func: FilterFn, data: *mut c_void },
}


impl HookConfig {
    /// A config of `kind` calling the original at `original`. `owner` is a
    /// module pinned for this config (null for built-in kinds): the config
    /// unpins it when dropped, or here when it cannot be allocated.
    pub(crate) fn new(kind: HookKind, fail_value: u64, owner: *mut bindings::module, desc: &str, original: u64) -> Result<KBox<Self>> {
        let mut d = [0u8; 40];
        let n = desc.len().min(d.len() - 1);
        d[..n].copy_from_slice(&desc.as_bytes()[..n]);
        let (filter_func, filter_data) = match kind {
            HookKind::Filter { func, data } => (func as usize as u64, data as u64),
            _ => (0, 0),
        };
        let cfg = HookConfig {
            fail_value,
            inflight: AtomicU64::new(0),
            target: HookConfig::target_of(kind, original),
            original,
            filter_func,
            filter_data,
            kind,
            owner,
            desc: d,
        };
        // On failure `cfg` is dropped, which unpins `owner`.
        Ok(KBox::new(cfg, GFP_KERNEL)?)
    }

    /// Where the resolver sends a new call: the original itself for
    /// `count`, else the kind's trampoline (with r11 = this config).
    pub(crate) fn target(&self) -> u64 {
        self.target
    }

    fn target_of(kind: HookKind, original: u64) -> u64 {
        match kind {
            HookKind::Count => original,
            HookKind::Fail => bindings::markpatch_fail_trampoline as *const () as u64,
            HookKind::Filter { .. } => bindings::markpatch_filter_trampoline as *const () as u64,
        }
    }

    pub(crate) fn desc(&self) -> &str {
        let len = self.desc.iter().position(|&b| b == 0).unwrap_or(self.desc.len());
        core::str::from_utf8(&self.desc[..len]).unwrap_or("?")
    }
}

impl Drop for HookConfig {
    fn drop(&mut self) {
        if !self.owner.is_null() {
            // SAFETY: `owner` was pinned with try_module_get in `Registry::make_config`.
            unsafe { bindings::markpatch_module_put(self.owner) };
        }
    }
}

/// Waits until no filter call of `cfg` is in flight.
pub(crate) fn wait_idle(cfg: &HookConfig) {
    let mut waited = 0u32;
    while cfg.inflight.load(Ordering::Acquire) != 0 {
        crate::ksys::wait::sleep_ms(1);
        waited += 1;
        if waited % 10_000 == 0 {
            pr_info!("still waiting for {} hook call(s) in flight\n", cfg.inflight.load(Ordering::Relaxed));
        }
    }
}
