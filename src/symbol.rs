// SPDX-License-Identifier: GPL-2.0

//! Finding a kernel function by its kallsyms name.

use kernel::prelude::*;
use kernel::str::CStr;

extern "C" {
    fn markpatch_resolve_symbol(name: *const u8, start: *mut usize, size: *mut usize) -> i32;
}

/// A function's address range as kallsyms knows it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Function {
    pub(crate) start: usize,
    pub(crate) size: usize,
}

/// Resolves `name` through a disabled kprobe (src/glue.c), which also refuses
/// what kprobes may never touch (blacklisted, noinstr, entry code).
pub(crate) fn resolve(name: &CStr) -> Result<Function> {
    let mut start = 0usize;
    let mut size = 0usize;
    // SAFETY: `name` is NUL-terminated and outlives the call; `start` and
    // `size` are valid for writes.
    let ret = unsafe { markpatch_resolve_symbol(name.as_char_ptr().cast(), &mut start, &mut size) };
    if ret < 0 {
        return Err(Error::from_errno(ret));
    }
    Ok(Function { start, size })
}
