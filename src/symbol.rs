// SPDX-License-Identifier: GPL-2.0

//! Finding a kernel function by its kallsyms name, and asking kprobes
//! whether an address may be touched.

use kernel::prelude::*;
use kernel::str::CStr;

extern "C" {
    fn markpatch_resolve_symbol(name: *const u8, start: *mut usize, size: *mut usize, fentry: *mut bool) -> i32;
    fn markpatch_probe_check(addrs: *const usize, n: usize, bad: *mut usize) -> i32;
}

/// A function's address range as kallsyms knows it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Function {
    pub(crate) start: usize,
    pub(crate) size: usize,
    /// Whether it has the ftrace fentry NOP (kprobes probes it via ftrace).
    pub(crate) fentry: bool,
}

/// Resolves `name` through a disabled kprobe (src/glue.c), which also refuses
/// what kprobes may never touch (blacklisted, noinstr, entry code) and
/// anything that is not a function in kernel or module text.
pub(crate) fn resolve(name: &CStr) -> Result<Function> {
    let (mut start, mut size, mut fentry) = (0usize, 0usize, false);
    // SAFETY: `name` is NUL-terminated and outlives the call; the out
    // pointers are valid for writes.
    let ret = unsafe { markpatch_resolve_symbol(name.as_char_ptr().cast(), &mut start, &mut size, &mut fentry) };
    if ret < 0 {
        let e = Error::from_errno(ret);
        // kprobes says EINVAL for a name that is not a function in kernel
        // text (a data symbol) and for blacklisted or noinstr code: either
        // way the function cannot be patched; EINVAL is kept for malformed
        // writes.
        return Err(if e == EINVAL { crate::errno::EOPNOTSUPP() } else { e });
    }
    Ok(Function { start, size, fentry })
}

/// Whether kprobes accepts a probe at every address of `addrs`: instruction
/// boundaries that are not jump-label or static-call sites, bug-table
/// entries or blacklisted code. Otherwise the index of the first refused
/// address and the kernel's errno.
pub(crate) fn probe_check(addrs: &[usize]) -> core::result::Result<(), (usize, Error)> {
    let mut bad = 0usize;
    // SAFETY: `addrs` is valid for `addrs.len()` reads; `bad` for a write.
    let ret = unsafe { markpatch_probe_check(addrs.as_ptr(), addrs.len(), &mut bad) };
    if ret < 0 {
        return Err((bad, Error::from_errno(ret)));
    }
    Ok(())
}
