// SPDX-License-Identifier: GPL-2.0

//! The registry of filter hooks other modules registered by name
//! (include/markpatch.h), and the making of a patch's [`HookConfig`] from
//! what the user asked for.

use core::ffi::c_void;
use kernel::prelude::*;
use markplan::input::{HookSpec, HOOK_NAME_MAX};

use super::config::{HookConfig, HookKind};
use super::FilterFn;
use crate::bindings;
use crate::engine::dependencies;

/// A filter hook another module registered.
pub(crate) struct Registered {
    name: [u8; HOOK_NAME_MAX + 1],
    func: FilterFn,
    data: *mut c_void,
    owner: *mut bindings::module,
    /// The start of every function `func` reaches (sorted): patching one of
    /// them with this hook would call the hook from inside itself, for
    /// ever (crate::engine::dependencies::reach).
    reach: alloc::vec::Vec<usize>,
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
        owner: *mut bindings::module,
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
        let reach = dependencies::reach(&[func as usize], &[&dependencies::REPORT_PATHS])?;
        crate::try_push(&mut self.hooks, Registered { name: stored, func, data, owner, reach })?;
        Ok(())
    }

    /// Whether the registered hook `name` reaches the function that starts
    /// at `start` (false for an unknown name).
    pub(crate) fn reaches(&self, name: &str, start: usize) -> bool {
        self.hooks.iter().any(|h| h.name() == name.as_bytes() && h.reach.binary_search(&start).is_ok())
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
    pub(crate) fn forget_owner(&mut self, owner: *mut bindings::module) {
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
                if !h.owner.is_null() && !unsafe { bindings::markpatch_module_get(h.owner) } {
                    return Err(ENOENT);
                }
                (HookKind::Filter { func: h.func, data: h.data }, 0, h.owner)
            }
        };
        HookConfig::new(kind, fail_value, owner, desc, original)
    }
}

