// SPDX-License-Identifier: GPL-2.0

//! Finding a kernel function by its kallsyms name (kallsyms_lookup_name,
//! through an arena thunk), without touching kprobes. crate::ksys::probes
//! finds one through kprobes, which also says whether it may be patched.

use kernel::ffi::c_ulong;
use core::sync::atomic::{AtomicU64, Ordering};
use kernel::prelude::*;
use kernel::str::CStr;
use markplan::input::SYMBOL_MAX;

use super::probes::Probes;
use crate::bindings;
use crate::runtime::kernel_text::{in_module_init_text, is_text};

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
    /// The name is in a coming module's init text, which the kernel frees
    /// once the module's init returned.
    ModuleInitText,
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
            Unresolved::NotLiveText | Unresolved::ModuleInitText | Unresolved::Forbidden => {
                crate::ksys::errno::EOPNOTSUPP()
            }
            Unresolved::Other(e) => e,
        }
    }

    /// A short reason, as the `survey` file groups them.
    pub(crate) fn code(self) -> &'static str {
        match self {
            Unresolved::NoSuchSymbol => "no-such-symbol",
            Unresolved::NotLiveText => "not-live-text",
            Unresolved::ModuleInitText => "module-init-text",
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
            Unresolved::ModuleInitText => "in a loading module's init text, freed once its init returns",
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

/// How the kallsyms_lookup_name thunk (KALLSYMS_LOOKUP_NAME) is called.
pub(crate) type KallsymsLookupName = extern "C" fn(*const u8) -> usize;
/// Of type [`KallsymsLookupName`]: the thunk gets its kCFI preamble.
pub(crate) const KALLSYMS_LOOKUP_NAME_LIKE: KallsymsLookupName = kallsyms_lookup_name_like;
extern "C" fn kallsyms_lookup_name_like(_: *const u8) -> usize {
    0
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
    let f: KallsymsLookupName = unsafe { core::mem::transmute(f as usize) };
    let addr = f(name.as_char_ptr().cast());
    (addr != 0).then_some(addr)
}

/// Finds the function `name` without touching kprobes (a lookup must not
/// disturb other probes; registering even a disabled probe revives another
/// user's optimized probe that is on its way out): kallsyms, then a check
/// that it is live text. `fentry` is not known here (false). Before the
/// load-time thunk exists, it asks kprobes ([`Probes::find`]).
pub(crate) fn find(name: &CStr) -> core::result::Result<Function, Unresolved> {
    if KALLSYMS_LOOKUP_NAME.load(Ordering::Acquire) == 0 {
        return Probes::new(1).map_err(Unresolved::Other)?.find(name);
    }
    let addr = kallsyms_address(name).ok_or(Unresolved::NoSuchSymbol)?;
    if !is_text(addr as u64) {
        return Err(Unresolved::NotLiveText);
    }
    if in_module_init_text(addr as u64) {
        return Err(Unresolved::ModuleInitText);
    }
    extent(addr).ok_or(Unresolved::NoSuchSymbol)
}

/// The symbol kallsyms says `addr` is in, and whether it is a function's
/// padding or kCFI preamble.
fn symbol_at(addr: usize) -> Option<(Function, bool)> {
    let (mut start, mut size): (c_ulong, c_ulong) = (0, 0);
    // SAFETY: plain kallsyms lookup; the out pointers are valid for writes.
    let ret = unsafe { bindings::markpatch_symbol_extent(addr as c_ulong, &mut start, &mut size) };
    (ret >= 0).then(|| (Function { start: start as usize, size: size as usize, fentry: false }, ret == 1))
}

/// The function kallsyms says `addr` is in (`fentry` unknown: false).
pub(crate) fn extent(addr: usize) -> Option<Function> {
    symbol_at(addr).map(|(f, _)| f)
}

/// The function that code at `addr` runs: the one `addr` is in, or, for
/// an address in a function's padding or kCFI preamble (where call-depth
/// tracking's thunks make direct calls land), the function it falls
/// through into.
pub(crate) fn entered_function(addr: usize) -> Option<Function> {
    match symbol_at(addr)? {
        (f, false) => Some(f),
        (pad, true) => symbol_at(pad.start + pad.size).filter(|(_, prefix)| !prefix).map(|(f, _)| f),
    }
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

/// Whether kallsyms has `name` as a function in live text (the quota's
/// `quota_hooks` file lists only the functions this kernel has).
#[no_mangle]
extern "C" fn markpatch_kernel_has(name: *const kernel::ffi::c_char) -> bool {
    // SAFETY: the C side passes a NUL-terminated string that outlives the call.
    let name = unsafe { CStr::from_char_ptr(name) };
    find(name).is_ok()
}

crate::bindings::same_signature!(bindings::markpatch_kernel_has, markpatch_kernel_has);
