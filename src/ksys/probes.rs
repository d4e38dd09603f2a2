// SPDX-License-Identifier: GPL-2.0

//! Asking kprobes whether an address may be touched, through sets of
//! disabled kprobes (src/ksys/probes.c) that are removed together when the
//! set is dropped: one RCU grace period per set, not per probe.

use kernel::ffi::c_ulong;
use core::ptr::NonNull;
use kernel::prelude::*;
use kernel::str::CStr;

use super::symbol::{Function, Unresolved};
use crate::bindings;
use crate::runtime::kernel_text::{in_module_init_text, is_text};

/// Disabled kprobes registered one by one and removed together on drop (one
/// RCU grace period for the whole set).
pub(crate) struct Probes(NonNull<bindings::markpatch_probes>);

impl Probes {
    /// A set with room for `cap` probes.
    pub(crate) fn new(cap: usize) -> Result<Self> {
        // SAFETY: plain allocation; the result is checked for NULL.
        let raw = unsafe { bindings::markpatch_probes_new(cap) };
        NonNull::new(raw).map(Probes).ok_or(ENOMEM)
    }

    /// Finds the function `name` through a probe on it, which also makes
    /// kprobes refuse what it may never touch (blacklisted, noinstr, entry
    /// code) and anything that is not a function in live kernel or module
    /// text.
    pub(crate) fn find(&mut self, name: &CStr) -> core::result::Result<Function, Unresolved> {
        let (mut start, mut size, mut fentry): (c_ulong, c_ulong, bool) = (0, 0, false);
        // SAFETY: the set is live; `name` is NUL-terminated and outlives the
        // call (kprobes drops its pointer to it once resolved); the out
        // pointers are valid for writes.
        let ret = unsafe {
            bindings::markpatch_probes_symbol(self.0.as_ptr(), name.as_char_ptr(), &mut start, &mut size, &mut fentry)
        };
        if ret < 0 {
            let e = Error::from_errno(ret);
            return Err(if e == ENOENT {
                Unresolved::NoSuchSymbol
            } else if e == EINVAL && (start == 0 || !is_text(start as u64)) {
                Unresolved::NotLiveText
            } else if e == EINVAL {
                Unresolved::Forbidden
            } else {
                Unresolved::Other(e)
            });
        }
        if in_module_init_text(start as u64) {
            return Err(Unresolved::ModuleInitText);
        }
        Ok(Function { start: start as usize, size: size as usize, fentry })
    }

    /// Whether kprobes accepts a probe at every address of `addrs`:
    /// instruction boundaries that are not jump-label or static-call sites,
    /// bug-table entries or blacklisted code, with no armed probe there.
    /// Otherwise the index of the first refused address and the errno.
    pub(crate) fn check(&mut self, addrs: &[usize]) -> core::result::Result<(), (usize, Error)> {
        for (i, &a) in addrs.iter().enumerate() {
            // SAFETY: the set is live; kprobes validates the address.
            let ret = unsafe { bindings::markpatch_probes_addr(self.0.as_ptr(), a as c_ulong) };
            if ret < 0 {
                return Err((i, Error::from_errno(ret)));
            }
        }
        Ok(())
    }
}

impl Drop for Probes {
    fn drop(&mut self) {
        // SAFETY: the set came from markpatch_probes_new and is freed once.
        unsafe { bindings::markpatch_probes_free(self.0.as_ptr()) };
    }
}

