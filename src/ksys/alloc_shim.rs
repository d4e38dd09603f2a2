// SPDX-License-Identifier: GPL-2.0

//! The global allocator entry points that the private `alloc` crate (and so
//! iced-x86) calls, backed by the kernel's kmalloc through
//! `kernel::alloc::allocator::Kmalloc`, which honours alignments above 8 by
//! padding the size to the alignment (slab guarantees natural alignment then).
//!
//! rustc normally generates these symbols when it links a final artifact
//! with a `#[global_allocator]`; a kernel module is linked by Kbuild from
//! objects, so they are defined here under the same internal names.
//!
//! GFP flags follow the calling context: GFP_KERNEL only where sleeping is
//! allowed, GFP_ATOMIC otherwise (and always when the kernel cannot tell).

#![no_std]
#![feature(rustc_attrs)]
#![allow(internal_features)]

use core::alloc::Layout;
use core::ptr::{self, NonNull};
use core::sync::atomic::{AtomicUsize, Ordering};
use kernel::alloc::{allocator::Kmalloc, flags, Allocator, Flags};

extern "C" {
    /// True when the caller may sleep (src/ksys/glue.c).
    fn markpatch_may_sleep() -> bool;
}

fn context_flags() -> Flags {
    // SAFETY: markpatch_may_sleep only reads the preempt count and IRQ state.
    if unsafe { markpatch_may_sleep() } {
        flags::GFP_KERNEL
    } else {
        flags::GFP_ATOMIC
    }
}

/// Bytes allocated through this crate and not yet freed (what
/// /sys/kernel/markpatch/stats shows as heap_bytes: the leak test's gauge).
static LIVE_BYTES: AtomicUsize = AtomicUsize::new(0);

/// [`LIVE_BYTES`], for src/control.rs.
#[no_mangle]
pub extern "C" fn markpatch_heap_bytes() -> usize {
    LIVE_BYTES.load(Ordering::Relaxed)
}

fn alloc_with(size: usize, align: usize, zeroed: bool) -> *mut u8 {
    let Ok(layout) = Layout::from_size_align(size, align) else {
        return ptr::null_mut();
    };
    let gfp = if zeroed { context_flags() | flags::__GFP_ZERO } else { context_flags() };
    match Kmalloc::alloc(layout, gfp) {
        Ok(p) => {
            LIVE_BYTES.fetch_add(size, Ordering::Relaxed);
            p.cast::<u8>().as_ptr()
        }
        Err(_) => ptr::null_mut(),
    }
}

/// # Safety
/// Called only by `alloc`, with a valid non-zero size and a power-of-two align.
#[rustc_std_internal_symbol]
pub unsafe fn __rust_alloc(size: usize, align: usize) -> *mut u8 {
    alloc_with(size, align, false)
}

/// # Safety
/// As for `__rust_alloc`.
#[rustc_std_internal_symbol]
pub unsafe fn __rust_alloc_zeroed(size: usize, align: usize) -> *mut u8 {
    alloc_with(size, align, true)
}

/// # Safety
/// `ptr` was returned by one of these functions for the same size and align.
#[rustc_std_internal_symbol]
pub unsafe fn __rust_dealloc(ptr: *mut u8, size: usize, align: usize) {
    let (Some(ptr), Ok(layout)) = (NonNull::new(ptr), Layout::from_size_align(size, align)) else {
        return;
    };
    // SAFETY: the caller passes a pointer this allocator returned for `layout`.
    unsafe { Kmalloc::free(ptr, layout) };
    LIVE_BYTES.fetch_sub(size, Ordering::Relaxed);
}

/// # Safety
/// `ptr` was returned by one of these functions for `old_size` and `align`.
#[rustc_std_internal_symbol]
pub unsafe fn __rust_realloc(ptr: *mut u8, old_size: usize, align: usize, new_size: usize) -> *mut u8 {
    let (Ok(old), Ok(new)) = (
        Layout::from_size_align(old_size, align),
        Layout::from_size_align(new_size, align),
    ) else {
        return ptr::null_mut();
    };
    // SAFETY: the caller passes a pointer this allocator returned for `old`.
    match unsafe { Kmalloc::realloc(NonNull::new(ptr), new, old, context_flags()) } {
        Ok(p) => {
            LIVE_BYTES.fetch_add(new_size, Ordering::Relaxed);
            LIVE_BYTES.fetch_sub(old_size, Ordering::Relaxed);
            p.cast::<u8>().as_ptr()
        }
        Err(_) => ptr::null_mut(),
    }
}

/// Called by `alloc` when an infallible allocation fails.
#[rustc_std_internal_symbol]
pub fn __rust_alloc_error_handler(size: usize, align: usize) -> ! {
    panic!("markpatch: allocation of {size} bytes (align {align}) failed");
}

/// Referenced by `alloc` to mark that an allocator shim exists.
#[rustc_std_internal_symbol]
pub fn __rust_no_alloc_shim_is_unstable_v2() {}
