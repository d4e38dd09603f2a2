// SPDX-License-Identifier: GPL-2.0

//! Reading kernel text.

use kernel::prelude::*;

extern "C" {
    fn markpatch_read_text(dst: *mut u8, addr: usize, len: usize) -> i32;
}

/// Copies `dst.len()` bytes of kernel text starting at `addr`, without
/// faulting: an unmapped address gives an error, not an oops.
pub(crate) fn read(addr: usize, dst: &mut [u8]) -> Result {
    // SAFETY: `dst` is valid for `dst.len()` bytes of writes; the source is
    // read with copy_from_kernel_nofault, which tolerates bad addresses.
    let ret = unsafe { markpatch_read_text(dst.as_mut_ptr(), addr, dst.len()) };
    if ret < 0 {
        return Err(Error::from_errno(ret));
    }
    Ok(())
}
