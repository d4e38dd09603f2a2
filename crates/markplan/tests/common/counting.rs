//! The system allocator, counting what the calling thread asks for while
//! [`measure`] runs: each size with its alignment as padding, each
//! `realloc` at its whole new size. That is what a block that never reuses
//! memory needs (the kernel module's allocation reserve, and the block
//! iced-x86's tables are built in). A test binary installs it with
//! `#[global_allocator] static A: counting::Counting = counting::Counting;`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

pub struct Counting;

thread_local! {
    static ON: Cell<bool> = const { Cell::new(false) };
    static ASKED: Cell<Asked> = const { Cell::new(Asked { bytes: 0, largest: 0, calls: 0 }) };
}

/// What a measured call asked for.
#[derive(Clone, Copy, Debug, Default)]
pub struct Asked {
    /// Every size plus its alignment, summed.
    pub bytes: usize,
    /// The largest single size.
    pub largest: usize,
    /// How many allocations and reallocations.
    pub calls: usize,
}

fn count(size: usize, align: usize) {
    if ON.with(Cell::get) {
        ASKED.with(|a| {
            let mut v = a.get();
            v.bytes += size + align;
            v.largest = v.largest.max(size);
            v.calls += 1;
            a.set(v);
        });
    }
}

// SAFETY: every call is passed to the system allocator unchanged.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size(), layout.align());
        // SAFETY: as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count(layout.size(), layout.align());
        // SAFETY: as the caller's.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(new_size, layout.align());
        // SAFETY: as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
}

/// Runs `f`; returns what it returned and what it asked for.
pub fn measure<T>(f: impl FnOnce() -> T) -> (T, Asked) {
    ASKED.with(|a| a.set(Asked::default()));
    ON.with(|o| o.set(true));
    let r = f();
    ON.with(|o| o.set(false));
    (r, ASKED.with(Cell::get))
}
