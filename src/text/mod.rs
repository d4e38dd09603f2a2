// SPDX-License-Identifier: GPL-2.0

//! Reading and writing kernel text. Writes go through text_poke.c: a
//! temporary writable alias, interrupts masked, every CPU serialised after
//! each write. The executable arena ([`arena`]) is text written this way.

pub(crate) mod arena;
pub(crate) mod kcfi;

use kernel::ffi::c_ulong;
use kernel::prelude::*;
use markplan::marks::{window_values, WindowValues, WriteMethod};
use markplan::plan::Plan;

use crate::bindings;

/// Frees the address space of the temporary aliases the writes so far
/// unmapped (vunmap frees it lazily): once per install or revert.
pub(crate) fn flush_aliases() {
    // SAFETY: process context (the engine lock is a mutex).
    unsafe { bindings::markpatch_text_flush_aliases() }
}

/// Writable aliases held for the writes of one install or revert, made
/// before its first write so that no write of it allocates (text_poke.c,
/// "Held aliases"); released when dropped.
///
/// # Invariants
/// `mark` is how many aliases text_poke.c held when this was made: the
/// ones above it are this set's (sets are dropped in the reverse order of
/// their making, as scopes are).
pub(crate) struct HeldAliases {
    mark: usize,
}

impl HeldAliases {
    pub(crate) fn new() -> Self {
        // SAFETY: reads a count kept under the engine lock, which the caller holds.
        HeldAliases { mark: unsafe { bindings::markpatch_text_held() } }
    }

    /// Holds an alias of the pages under `plan`'s region and the aligned
    /// windows around its instructions. ENOMEM when it cannot be made.
    pub(crate) fn hold_region(&mut self, plan: &Plan) -> Result {
        let (Some(first), Some(last)) = (plan.insns.first(), plan.insns.last()) else {
            return Ok(());
        };
        let start = (plan.addr + first.offset as u64) & !15;
        let end = (plan.addr + (last.offset + last.len) as u64).next_multiple_of(16);
        self.hold(start, (end - start) as usize)
    }

    /// Holds an alias of the executable arena: a failed install frees its
    /// slot, and a revert its patch's, with writes too.
    pub(crate) fn hold_arena(&mut self) -> Result {
        let (start, len) = arena::ExecArena::range();
        self.hold(start, len)
    }

    fn hold(&mut self, start: u64, len: usize) -> Result {
        // SAFETY: maps the pages of kernel or module text under the range.
        errno(unsafe { bindings::markpatch_text_hold(start as c_ulong, len) })
    }
}

impl Drop for HeldAliases {
    fn drop(&mut self) {
        // SAFETY: unmaps the aliases held since this set was made.
        unsafe { bindings::markpatch_text_release_to(self.mark) }
    }
}

fn errno(ret: i32) -> Result {
    if ret < 0 {
        Err(Error::from_errno(ret))
    } else {
        Ok(())
    }
}

/// Copies `dst.len()` bytes of kernel text starting at `addr`, without
/// faulting: an unmapped address gives an error, not an oops.
pub(crate) fn read(addr: u64, dst: &mut [u8]) -> Result {
    // SAFETY: `dst` is valid for `dst.len()` bytes of writes; the source is
    // read with copy_from_kernel_nofault, which tolerates bad addresses.
    errno(unsafe { bindings::markpatch_read_text(dst.as_mut_ptr().cast(), addr as c_ulong, dst.len()) })
}

/// Replaces the bytes `expected` at `addr` by `new` with one locked cmpxchg
/// on the aligned 8- or 16-byte window that holds them, the neighbours'
/// bytes unchanged. -EBUSY when the bytes are not `expected` (or change
/// under us); -EINVAL when they do not fit one window.
pub(crate) fn cmpxchg_bytes(addr: u64, expected: &[u8], new: &[u8]) -> Result {
    let method = WriteMethod::for_insn(addr, new.len());
    let (start, size) = method.window().ok_or(EINVAL)?;
    let mut current = [0u8; 16];
    read(start, &mut current[..size])?;
    let values = window_values(method, &current[..size], addr, expected, new).map_err(|_| EBUSY)?;
    let (mut old_b, mut new_b) = ([0u8; 16], [0u8; 16]);
    match values {
        WindowValues::U64 { old, new } => {
            old_b[..8].copy_from_slice(&old.to_le_bytes());
            new_b[..8].copy_from_slice(&new.to_le_bytes());
        }
        WindowValues::U128 { old, new } => {
            old_b.copy_from_slice(&old.to_le_bytes());
            new_b.copy_from_slice(&new.to_le_bytes());
        }
    }
    // SAFETY: both buffers hold `size` valid bytes; the C side maps the
    // window's page through a temporary alias and checks `old`.
    errno(unsafe {
        bindings::markpatch_text_cmpxchg(start as c_ulong, size as u32, old_b.as_ptr().cast(), new_b.as_ptr().cast())
    })
}

/// Writes `new` at `addr` with a plain copy, after checking that the bytes
/// there are `expected`: only for bytes no CPU can execute now (the tail of
/// an instruction whose first byte is int3, or unused arena space).
pub(crate) fn copy_bytes(addr: u64, expected: &[u8], new: &[u8]) -> Result {
    if expected.len() != new.len() {
        return Err(EINVAL);
    }
    if new.is_empty() {
        return Ok(());
    }
    // SAFETY: both slices are valid for `new.len()` bytes.
    errno(unsafe {
        bindings::markpatch_text_copy(addr as c_ulong, expected.as_ptr().cast(), new.as_ptr().cast(), new.len())
    })
}
