// SPDX-License-Identifier: GPL-2.0

//! Hooks: what a new call of a patched function runs. `count` passes every
//! call to the original and counts it; `fail=V` returns V; a filter hook,
//! registered by another module through include/markpatch.h, runs instead of
//! the function and may call the original.

use core::ffi::c_void;
use core::sync::atomic::{AtomicU64, Ordering};
use kernel::prelude::*;
use markplan::input::{HookSpec, HOOK_NAME_MAX};

/// `u64 (*)(const struct markpatch_call *)` from include/markpatch.h.
pub(crate) type FilterFn = unsafe extern "C" fn(*const MarkpatchCall) -> u64;

/// `struct markpatch_call` from include/markpatch.h.
#[repr(C)]
pub(crate) struct MarkpatchCall {
    args: [u64; 6],
    original: u64,
    data: *mut c_void,
}

/// One hook as a patch uses it: immutable once published, replaced as a
/// whole. The asm (src/entry.S) gets it in r11 and reads its first six
/// fields, hence `repr(C)` and the checks below.
#[repr(C)]
pub(crate) struct HookConfig {
    /// What `fail` returns (HOT_FAIL_VALUE).
    pub(crate) fail_value: u64,
    /// Filter calls in progress (HOT_INFLIGHT).
    pub(crate) inflight: AtomicU64,
    /// Where a new call goes (HOT_TARGET): see [`HookConfig::target`].
    target: u64,
    /// The pseudo-original's callable entry: "the original function"
    /// (HOT_ORIGINAL).
    pub(crate) original: u64,
    /// A filter hook's function and data (HOT_FILTER_FUNC, HOT_FILTER_DATA;
    /// 0 for the other kinds): the filter trampoline calls it directly.
    filter_func: u64,
    filter_data: u64,
    pub(crate) kind: HookKind,
    /// The registered hook's module, pinned while this config lives.
    owner: *mut c_void,
    /// As the user wrote it: count, fail=-5, targets_double.
    pub(crate) desc: [u8; 40],
}

// SAFETY: a config is immutable once published but for `inflight` (atomic);
// `data` is only passed back to the hook, `owner` to module_put.
unsafe impl Send for HookConfig {}
// SAFETY: as above.
unsafe impl Sync for HookConfig {}

const _: () = assert!(core::mem::offset_of!(HookConfig, fail_value) == 0);
const _: () = assert!(core::mem::offset_of!(HookConfig, inflight) == 8);
const _: () = assert!(core::mem::offset_of!(HookConfig, target) == 16);
const _: () = assert!(core::mem::offset_of!(HookConfig, original) == 24);
const _: () = assert!(core::mem::offset_of!(HookConfig, filter_func) == 32);
const _: () = assert!(core::mem::offset_of!(HookConfig, filter_data) == 40);
// The filter trampoline builds a MarkpatchCall on the stack: args, original, data.
const _: () = assert!(core::mem::offset_of!(MarkpatchCall, original) == 48);
const _: () = assert!(core::mem::offset_of!(MarkpatchCall, data) == 56);

#[derive(Clone, Copy)]
pub(crate) enum HookKind {
    Count,
    Fail,
    Filter { func: FilterFn, data: *mut c_void },
}

extern "C" {
    fn markpatch_fail_trampoline();
    fn markpatch_filter_trampoline();
    fn markpatch_module_get(owner: *mut c_void) -> bool;
    fn markpatch_module_put(owner: *mut c_void);
}

impl HookConfig {
    /// Where the resolver sends a new call: the original itself for
    /// `count`, else the kind's trampoline (with r11 = this config).
    pub(crate) fn target(&self) -> u64 {
        self.target
    }

    fn target_of(kind: HookKind, original: u64) -> u64 {
        match kind {
            HookKind::Count => original,
            HookKind::Fail => markpatch_fail_trampoline as *const () as u64,
            HookKind::Filter { .. } => markpatch_filter_trampoline as *const () as u64,
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
            // SAFETY: `owner` was pinned with try_module_get in `make_config`.
            unsafe { markpatch_module_put(self.owner) };
        }
    }
}

/// A filter hook another module registered.
pub(crate) struct Registered {
    name: [u8; HOOK_NAME_MAX + 1],
    func: FilterFn,
    data: *mut c_void,
    owner: *mut c_void,
}

// SAFETY: `data` and `owner` are only handed back to the hook's module (data)
// or to try_module_get/module_put (owner); the registry is used under the
// engine lock.
unsafe impl Send for Registered {}

impl Registered {
    fn name(&self) -> &[u8] {
        let len = self.name.iter().position(|&b| b == 0).unwrap_or(self.name.len());
        &self.name[..len]
    }
}

/// The registry of filter hooks; the engine lock protects it.
pub(crate) struct Registry {
    hooks: alloc::vec::Vec<Registered>,
}

/// At most this many registered hooks.
const MAX_HOOKS: usize = 64;

impl Registry {
    pub(crate) fn new() -> Self {
        Registry { hooks: alloc::vec::Vec::new() }
    }

    pub(crate) fn register(
        &mut self,
        name: &[u8],
        func: FilterFn,
        data: *mut c_void,
        owner: *mut c_void,
    ) -> Result {
        let Ok(name_str) = core::str::from_utf8(name) else { return Err(EINVAL) };
        if !matches!(markplan::input::parse_hook(name_str), Ok(HookSpec::Named(_))) {
            return Err(EINVAL);
        }
        if self.hooks.iter().any(|h| h.name() == name) {
            return Err(EEXIST);
        }
        if self.hooks.len() >= MAX_HOOKS {
            return Err(ENOSPC);
        }
        let mut stored = [0u8; HOOK_NAME_MAX + 1];
        stored[..name.len()].copy_from_slice(name);
        crate::try_push(&mut self.hooks, Registered { name: stored, func, data, owner })?;
        Ok(())
    }

    /// `in_use(name)` tells whether a patch uses the hook now.
    pub(crate) fn unregister(&mut self, name: &[u8], in_use: bool) -> Result {
        let i = self.hooks.iter().position(|h| h.name() == name).ok_or(ENOENT)?;
        if in_use {
            return Err(EBUSY);
        }
        self.hooks.remove(i);
        Ok(())
    }

    /// Drops the hooks `owner` registered (it is going away; none is in use,
    /// since a patch using a hook pins its module).
    pub(crate) fn forget_owner(&mut self, owner: *mut c_void) {
        self.hooks.retain(|h| h.owner != owner);
    }

    /// A new config for `spec`, calling the original at `original`.
    pub(crate) fn make_config(&self, spec: HookSpec<'_>, desc: &str, original: u64) -> Result<KBox<HookConfig>> {
        let (kind, fail_value, owner) = match spec {
            HookSpec::Count => (HookKind::Count, 0, core::ptr::null_mut()),
            HookSpec::Fail(v) => (HookKind::Fail, v as u64, core::ptr::null_mut()),
            HookSpec::Named(name) => {
                let h = self.hooks.iter().find(|h| h.name() == name.as_bytes()).ok_or(ENOENT)?;
                // SAFETY: a registered hook's owner is a live module (it
                // unregisters before it unloads); pin it for this config.
                if !h.owner.is_null() && !unsafe { markpatch_module_get(h.owner) } {
                    return Err(ENOENT);
                }
                (HookKind::Filter { func: h.func, data: h.data }, 0, h.owner)
            }
        };
        let mut d = [0u8; 40];
        let n = desc.len().min(d.len() - 1);
        d[..n].copy_from_slice(&desc.as_bytes()[..n]);
        let (filter_func, filter_data) = match kind {
            HookKind::Filter { func, data } => (func as usize as u64, data as u64),
            _ => (0, 0),
        };
        Ok(KBox::new(
            HookConfig {
                fail_value,
                inflight: AtomicU64::new(0),
                target: HookConfig::target_of(kind, original),
                original,
                filter_func,
                filter_data,
                kind,
                owner,
                desc: d,
            },
            GFP_KERNEL,
        )?)
    }
}

/// Waits until no filter call of `cfg` is in flight.
pub(crate) fn wait_idle(cfg: &HookConfig) {
    let mut waited = 0u32;
    while cfg.inflight.load(Ordering::Acquire) != 0 {
        crate::sync::sleep_ms(1);
        waited += 1;
        if waited % 10_000 == 0 {
            pr_info!("still waiting for {} hook call(s) in flight\n", cfg.inflight.load(Ordering::Relaxed));
        }
    }
}
