// SPDX-License-Identifier: GPL-2.0

//! kCFI preambles for code written into the arena (markplan::kcfi): code
//! that kernel or module code calls indirectly carries the preamble of a
//! function this module was compiled with, of the type it is called as, so
//! that the caller's type check passes. docs/design.md, "kCFI".

use kernel::prelude::*;
use markplan::kcfi::{classify, Preamble, PREAMBLE_LEN};
use markplan::marks::INT3;

use crate::ksys::errno;

/// The preamble of `like`, a function of this module, for code called as
/// `like`'s type: on a kernel without kCFI, int3 (nothing checks it).
/// EOPNOTSUPP under FineIBT (see [`check_kernel`]), ENOEXEC for a preamble
/// that is neither.
pub(crate) fn preamble_of(like: usize) -> Result<[u8; PREAMBLE_LEN]> {
    if !cfg!(CONFIG_CFI_CLANG) {
        return Ok([INT3; PREAMBLE_LEN]);
    }
    let mut b = [0u8; PREAMBLE_LEN];
    // SAFETY: `like` is a function in this module's text, which is mapped
    // and readable for as long as the module is loaded; the
    // PREAMBLE_LEN bytes before it are its kCFI preamble (the kernel's
    // function padding), in the same text.
    unsafe { core::ptr::copy_nonoverlapping((like - PREAMBLE_LEN) as *const u8, b.as_mut_ptr(), PREAMBLE_LEN) };
    match classify(&b) {
        Preamble::Kcfi { .. } => Ok(b),
        Preamble::FineIbt { .. } => Err(errno::EOPNOTSUPP()),
        Preamble::Unknown => Err(ENOEXEC),
    }
}

/// Whether markpatch can follow this kernel's control-flow integrity: no
/// kCFI, or kCFI; not FineIBT, whose callers enter a function 16 bytes
/// early and whose functions' own ENDBR is poisoned (the resolver's
/// trampolines would have to enter hooks that way). One line in dmesg when
/// not.
pub(crate) fn check_kernel() -> Result {
    let like = crate::bindings::markpatch_original_like as *const () as usize;
    match preamble_of(like) {
        Ok(_) => Ok(()),
        Err(e) if e == errno::EOPNOTSUPP() => {
            pr_err!("this kernel runs FineIBT, which markpatch does not support yet; boot it with cfi=kcfi\n");
            Err(e)
        }
        Err(e) => {
            pr_err!("unrecognised kCFI preamble before markpatch_original_like: cannot give written code a type hash\n");
            Err(e)
        }
    }
}
