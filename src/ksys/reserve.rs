// SPDX-License-Identifier: GPL-2.0

//! The allocation reserve: how markpatch calls code whose allocations cannot
//! fail (iced-x86, and markplan on top of it) without a panic when the
//! kernel is out of memory (docs/design.md, "Out of memory").
//!
//! [`run`] calls such code with a static block of
//! [`markplan::ALLOC_RESERVE`] bytes handed to the allocator shim
//! (src/ksys/alloc_shim.rs): an allocation kmalloc refuses is served from
//! the block instead. If any was, the call's result is thrown away (its
//! blocks given back) and [`run`] answers ENOMEM, so nothing served from
//! the block outlives the call. No call the module makes needs more than
//! the block in total, even with every allocation refused (markplan's
//! tests/alloc_bound.rs measures that over the corpus).

use core::cell::UnsafeCell;
use core::ffi::c_void;
use core::ptr;
use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, Ordering};
use kernel::prelude::*;
use markplan::ALLOC_RESERVE;

use crate::bindings;

/// The block, page-aligned so that any alignment a caller asks up to a page
/// is honoured from its start.
#[repr(C, align(4096))]
struct Block(UnsafeCell<[u8; ALLOC_RESERVE]>);

// SAFETY: the bytes are touched only by the allocator shim on behalf of the
// reserve's holder, one task at a time (`markpatch_reserve_lock`).
unsafe impl Sync for Block {}

static BLOCK: Block = Block(UnsafeCell::new([0; ALLOC_RESERVE]));

/// The task inside [`run`]: a nested [`run`] leaves the answer to it.
static HOLDER: AtomicPtr<c_void> = AtomicPtr::new(ptr::null_mut());

/// Calls that ended in ENOMEM because the reserve served them (`stats`).
static USED: AtomicU64 = AtomicU64::new(0);

/// Set when a block served from the reserve outlived its call (a lazily
/// built table, say): the reserve is never handed out again, so that block
/// stays valid.
static RETIRED: AtomicBool = AtomicBool::new(false);

/// Calls `f`, with the reserve behind its allocations. ENOMEM (and `f`'s
/// result dropped) when one of them needed the reserve. `f` must not keep
/// anything it allocates beyond its result (nor take the engine lock).
pub(crate) fn run<T>(f: impl FnOnce() -> T) -> Result<T> {
    // SAFETY: plain query of the current context.
    let me = unsafe { bindings::markpatch_current() };
    if HOLDER.load(Ordering::Relaxed) == me {
        return Ok(f());
    }
    // SAFETY: process context (every caller may sleep); released below.
    unsafe { bindings::markpatch_reserve_lock() };
    HOLDER.store(me, Ordering::Relaxed);
    let retired = RETIRED.load(Ordering::Relaxed);
    if !retired {
        // SAFETY: the static block is valid for the module's lifetime; the
        // lock makes this task its only holder, and a block with anything
        // still live in it is retired, never entered again.
        unsafe { bindings::markpatch_reserve_enter(BLOCK.0.get().cast(), ALLOC_RESERVE) };
    }
    let r = f();
    // SAFETY: ends this task's hold (a no-op count when retired).
    let served = if retired { 0 } else { unsafe { bindings::markpatch_reserve_leave() } };
    let out = if served > 0 {
        drop(r);
        USED.fetch_add(1, Ordering::Relaxed);
        Err(ENOMEM)
    } else {
        Ok(r)
    };
    // SAFETY: reads a counter.
    if !retired && unsafe { bindings::markpatch_reserve_live() } != 0 {
        RETIRED.store(true, Ordering::Relaxed);
        pr_err!("allocation reserve: a block outlived its call; the reserve is not used again\n");
    }
    HOLDER.store(ptr::null_mut(), Ordering::Relaxed);
    // SAFETY: taken above by this task.
    unsafe { bindings::markpatch_reserve_unlock() };
    out
}

/// How many calls the reserve turned into ENOMEM since load.
pub(crate) fn used() -> u64 {
    USED.load(Ordering::Relaxed)
}
