// SPDX-License-Identifier: GPL-2.0

//! Finding a kernel function by its kallsyms name, and asking kprobes
//! whether an address may be touched, through sets of disabled kprobes
//! (src/glue.c) that are removed together when the set is dropped.

use core::ptr::NonNull;
use core::sync::atomic::{AtomicU64, Ordering};
use kernel::prelude::*;
use kernel::str::CStr;
use markplan::input::SYMBOL_MAX;

#[repr(C)]
struct RawProbes {
    _opaque: [u8; 0],
}

extern "C" {
    fn markpatch_probes_new(cap: usize) -> *mut RawProbes;
    fn markpatch_probes_free(s: *mut RawProbes);
    fn markpatch_probes_symbol(s: *mut RawProbes, name: *const u8, start: *mut usize, size: *mut usize, fentry: *mut bool) -> i32;
    fn markpatch_probes_addr(s: *mut RawProbes, addr: usize) -> i32;
    fn markpatch_symbol_extent(addr: usize, start: *mut usize, size: *mut usize) -> i32;
}

/// kallsyms_lookup_name(), through an arena thunk (it is not exported; its
/// address comes from a kprobe once, at load). 0 until then.
pub(crate) static KALLSYMS_LOOKUP_NAME: AtomicU64 = AtomicU64::new(0);

/// A function's address range as kallsyms knows it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Function {
    pub(crate) start: usize,
    pub(crate) size: usize,
    /// Whether it has the ftrace fentry NOP (kprobes probes it via ftrace).
    pub(crate) fentry: bool,
}

/// Why a name is not a function markpatch may look at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Unresolved {
    /// kallsyms has no such name.
    NoSuchSymbol,
    /// The name is not in live text: data, or an `__init` function whose
    /// code was freed after boot.
    NotLiveText,
    /// kprobes refuses it: blacklisted, noinstr or entry code.
    Forbidden,
    /// Anything else, with the kernel's errno.
    Other(Error),
}

impl Unresolved {
    /// The errno a control file reports.
    pub(crate) fn errno(self) -> Error {
        match self {
            Unresolved::NoSuchSymbol => ENOENT,
            Unresolved::NotLiveText | Unresolved::Forbidden => crate::errno::EOPNOTSUPP(),
            Unresolved::Other(e) => e,
        }
    }

    /// A short reason, as the `survey` file groups them.
    pub(crate) fn code(self) -> &'static str {
        match self {
            Unresolved::NoSuchSymbol => "no-such-symbol",
            Unresolved::NotLiveText => "not-live-text",
            Unresolved::Forbidden => "kprobes-forbidden",
            Unresolved::Other(_) => "kprobes-error",
        }
    }
}

impl Unresolved {
    /// The reason, for a dmesg line.
    pub(crate) fn what(self) -> &'static str {
        match self {
            Unresolved::NoSuchSymbol => "no such symbol",
            Unresolved::NotLiveText => "not in live kernel text (data, or __init code freed after boot)",
            Unresolved::Forbidden => "kprobes forbids it (blacklisted, noinstr or entry code)",
            Unresolved::Other(_) => "kprobes refuses it",
        }
    }
}

impl core::fmt::Display for Unresolved {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Unresolved::Other(e) => write!(f, "{} (errno {})", self.what(), e.to_errno()),
            _ => f.write_str(self.what()),
        }
    }
}

/// Disabled kprobes registered one by one and removed together on drop (one
/// RCU grace period for the whole set).
pub(crate) struct Probes(NonNull<RawProbes>);

impl Probes {
    /// A set with room for `cap` probes.
    pub(crate) fn new(cap: usize) -> Result<Self> {
        // SAFETY: plain allocation; the result is checked for NULL.
        let raw = unsafe { markpatch_probes_new(cap) };
        NonNull::new(raw).map(Probes).ok_or(ENOMEM)
    }

    /// Resolves `name` through a probe on it, which also makes kprobes
    /// refuse what it may never touch (blacklisted, noinstr, entry code) and
    /// anything that is not a function in live kernel or module text.
    pub(crate) fn symbol(&mut self, name: &CStr) -> core::result::Result<Function, Unresolved> {
        let (mut start, mut size, mut fentry) = (0usize, 0usize, false);
        // SAFETY: the set is live; `name` is NUL-terminated and outlives the
        // call (kprobes drops its pointer to it once resolved); the out
        // pointers are valid for writes.
        let ret = unsafe {
            markpatch_probes_symbol(self.0.as_ptr(), name.as_char_ptr().cast(), &mut start, &mut size, &mut fentry)
        };
        if ret < 0 {
            let e = Error::from_errno(ret);
            return Err(if e == ENOENT {
                Unresolved::NoSuchSymbol
            } else if e == EINVAL && (start == 0 || !crate::resolver::is_text(start as u64)) {
                Unresolved::NotLiveText
            } else if e == EINVAL {
                Unresolved::Forbidden
            } else {
                Unresolved::Other(e)
            });
        }
        Ok(Function { start, size, fentry })
    }

    /// Whether kprobes accepts a probe at every address of `addrs`:
    /// instruction boundaries that are not jump-label or static-call sites,
    /// bug-table entries or blacklisted code, with no armed probe there.
    /// Otherwise the index of the first refused address and the errno.
    pub(crate) fn check(&mut self, addrs: &[usize]) -> core::result::Result<(), (usize, Error)> {
        for (i, &a) in addrs.iter().enumerate() {
            // SAFETY: the set is live; kprobes validates the address.
            let ret = unsafe { markpatch_probes_addr(self.0.as_ptr(), a) };
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
        unsafe { markpatch_probes_free(self.0.as_ptr()) };
    }
}

/// The address kallsyms has for `name` (any symbol, text or not); None
/// when it has none or before the load-time thunk exists.
pub(crate) fn kallsyms_address(name: &CStr) -> Option<usize> {
    let f = KALLSYMS_LOOKUP_NAME.load(Ordering::Acquire);
    if f == 0 {
        return None;
    }
    // SAFETY: `f` is a thunk (ENDBR; jmp kallsyms_lookup_name) in the arena,
    // kept until unload; kallsyms_lookup_name takes a NUL-terminated name
    // and returns an address (0 when unknown), in process context.
    let f: extern "C" fn(*const u8) -> usize = unsafe { core::mem::transmute(f as usize) };
    let addr = f(name.as_char_ptr().cast());
    (addr != 0).then_some(addr)
}

/// Finds `name` without touching kprobes (a lookup must not disturb other
/// probes; registering even a disabled probe revives another user's
/// optimized probe that is on its way out): kallsyms, then a check that it
/// is live text. `fentry` is not known here (false). Before the load-time
/// thunk exists, it asks kprobes.
pub(crate) fn lookup(name: &CStr) -> core::result::Result<Function, Unresolved> {
    if KALLSYMS_LOOKUP_NAME.load(Ordering::Acquire) == 0 {
        return Probes::new(1).map_err(Unresolved::Other)?.symbol(name);
    }
    let addr = kallsyms_address(name).ok_or(Unresolved::NoSuchSymbol)?;
    if !crate::resolver::is_text(addr as u64) {
        return Err(Unresolved::NotLiveText);
    }
    let (mut start, mut size) = (0usize, 0usize);
    // SAFETY: plain kallsyms lookup; the out pointers are valid for writes.
    if unsafe { markpatch_symbol_extent(addr, &mut start, &mut size) } < 0 {
        return Err(Unresolved::NoSuchSymbol);
    }
    Ok(Function { start, size, fentry: false })
}

/// Finds `name` (see [`lookup`]), with the errno a control file reports.
pub(crate) fn resolve(name: &CStr) -> Result<Function> {
    lookup(name).map_err(Unresolved::errno)
}

/// A symbol name with its terminating NUL, as kallsyms and kprobes take it.
pub(crate) struct SymbolName {
    buf: [u8; SYMBOL_MAX + 1],
    len: usize,
}

impl SymbolName {
    /// EINVAL when `name` is longer than [`SYMBOL_MAX`] or holds a NUL.
    pub(crate) fn new(name: &[u8]) -> Result<Self> {
        if name.len() > SYMBOL_MAX || name.contains(&0) {
            return Err(EINVAL);
        }
        let mut buf = [0u8; SYMBOL_MAX + 1];
        buf[..name.len()].copy_from_slice(name);
        Ok(SymbolName { buf, len: name.len() })
    }

    /// No name.
    pub(crate) const fn empty() -> Self {
        SymbolName { buf: [0; SYMBOL_MAX + 1], len: 0 }
    }

    pub(crate) fn as_cstr(&self) -> &CStr {
        // The constructors leave exactly one NUL, at `len`.
        CStr::from_bytes_with_nul(&self.buf[..=self.len]).unwrap_or(kernel::c_str!(""))
    }
}
