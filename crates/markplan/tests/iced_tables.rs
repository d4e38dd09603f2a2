//! What building iced-x86's tables asks for (markplan::decode::warm_up).
//!
//! The kernel module builds them once, at load, in a block of
//! [`ICED_TABLES_BLOCK`] bytes served as a bump allocator that never reuses
//! (src/ksys/iced_tables.rs): the build must fit, counting every size asked
//! (each `realloc` at its whole new size) with its alignment as padding.
//! Its own test binary, so that nothing built the tables before.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use markplan::ICED_TABLES_BLOCK;

static ON: AtomicBool = AtomicBool::new(false);
static ASKED: AtomicUsize = AtomicUsize::new(0);
static LARGEST: AtomicUsize = AtomicUsize::new(0);
static CALLS: AtomicUsize = AtomicUsize::new(0);

fn count(size: usize, align: usize) {
    if ON.load(Ordering::Relaxed) {
        ASKED.fetch_add(size + align, Ordering::Relaxed);
        LARGEST.fetch_max(size, Ordering::Relaxed);
        CALLS.fetch_add(1, Ordering::Relaxed);
    }
}

/// The system allocator, counting what is asked while [`ON`].
struct Counting;

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

#[global_allocator]
static COUNTING: Counting = Counting;

#[test]
fn building_the_tables_fits_their_block() {
    ON.store(true, Ordering::SeqCst);
    markplan::decode::warm_up();
    ON.store(false, Ordering::SeqCst);
    let (asked, largest, calls) = (ASKED.load(Ordering::SeqCst), LARGEST.load(Ordering::SeqCst), CALLS.load(Ordering::SeqCst));
    eprintln!("iced-x86 tables: {calls} allocations, {asked} bytes asked with alignment, the largest {largest}; block {ICED_TABLES_BLOCK}");
    // The tables were really built here (a first use), not found built.
    assert!(asked > 512 * 1024, "{asked}");
    assert!(asked <= ICED_TABLES_BLOCK, "{asked} > {ICED_TABLES_BLOCK}");
}
