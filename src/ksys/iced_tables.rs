// SPDX-License-Identifier: GPL-2.0

//! iced-x86's tables: built once, at load, in a block of their own
//! (docs/design.md, "Out of memory").
//!
//! iced-x86 builds its decoder, formatter and encoder tables lazily, with
//! infallible allocations (about 55,000 of them, 1.9 MB asked in all, the
//! largest 79 KB), and never frees them: they are statics of the module.
//! Built from kmalloc, a refused allocation (a 79 KB kmalloc is an order-5
//! page allocation, which fragmentation can refuse) would end in a panic at
//! insmod, and every unload would leave the tables behind. So the block,
//! [`markplan::ICED_TABLES_BLOCK`] bytes, is taken from vmalloc first (a
//! refusal is ENOMEM for insmod), the allocator shim serves every allocation
//! of the build from it (src/ksys/alloc_shim.rs), and dropping
//! [`IcedTables`], the last thing the module does, frees the tables with it.

use core::sync::atomic::{AtomicUsize, Ordering};
use kernel::alloc::{flags::GFP_KERNEL, VVec};
use kernel::prelude::*;
use markplan::ICED_TABLES_BLOCK;

use crate::bindings;

/// The block the tables are built in; dropping it frees them (`_block`,
/// held only to be dropped).
///
/// # Invariants
/// Every table iced-x86 built lies in `_block` (or, past its end, in
/// kmalloc memory counted as spilled); nothing uses the tables after this
/// is dropped (the module holds it last).
pub(crate) struct IcedTables {
    _block: VVec<u8>,
}

/// The block's address and length, for the build on the fresh stack.
static BASE: AtomicUsize = AtomicUsize::new(0);
static LEN: AtomicUsize = AtomicUsize::new(0);
/// What the build used of the block, and what did not fit (`stats`).
static USED: AtomicUsize = AtomicUsize::new(0);
static SPILLED: AtomicUsize = AtomicUsize::new(0);

unsafe extern "C" fn build_on_this_stack() {
    // SAFETY: the block is valid, unused, and outlives the tables
    // (`IcedTables`' invariant); it is handed to this task only.
    unsafe { bindings::markpatch_tables_enter(BASE.load(Ordering::Relaxed) as *mut _, LEN.load(Ordering::Relaxed)) };
    markplan::decode::warm_up();
    let mut spilled = 0usize;
    // SAFETY: `spilled` is a local.
    let used = unsafe { bindings::markpatch_tables_leave(&mut spilled) };
    USED.store(used, Ordering::Relaxed);
    SPILLED.store(spilled, Ordering::Relaxed);
}

impl IcedTables {
    /// Takes the block and builds the tables in it, in a kworker with a
    /// fresh stack (some of iced-x86's initialisers have frames of several
    /// KiB), never first in atomic context or deep in a caller. Called once.
    pub(crate) fn build() -> Result<Self> {
        let mut block = VVec::<u8>::with_capacity(ICED_TABLES_BLOCK, GFP_KERNEL).map_err(|_| {
            pr_err!("iced-x86 tables: no memory for their {} KiB block\n", ICED_TABLES_BLOCK / 1024);
            ENOMEM
        })?;
        BASE.store(block.as_mut_ptr() as usize, Ordering::Relaxed);
        LEN.store(block.capacity(), Ordering::Relaxed);
        // SAFETY: runs the function and waits for it.
        unsafe { bindings::markpatch_run_on_fresh_stack(Some(build_on_this_stack)) };
        let spilled = SPILLED.load(Ordering::Relaxed);
        if spilled > 0 {
            // markplan's tests/iced_tables.rs bounds the build below the
            // block; a kernel that needs more keeps working, and leaks
            // those bytes when it unloads.
            pr_warn!("iced-x86 tables: {} bytes did not fit their block and stay after unload\n", spilled);
        }
        Ok(IcedTables { _block: block })
    }

    /// Bytes of the block the tables use.
    pub(crate) fn used() -> usize {
        USED.load(Ordering::Relaxed)
    }
}
