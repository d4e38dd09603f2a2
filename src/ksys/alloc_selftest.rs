// SPDX-License-Identifier: GPL-2.0

//! A load-time check of what iced-x86 relies on in the allocator shim
//! (src/ksys/alloc_shim.rs): alignments above 8 are honoured, in process
//! context (GFP_KERNEL) and with interrupts off (GFP_ATOMIC). A failure makes
//! the module refuse to load.

use alloc::alloc::{alloc, alloc_zeroed, dealloc, realloc, Layout};
use core::ffi::c_void;
use kernel::prelude::*;

use crate::bindings;

/// (size, align) pairs: odd sizes, every alignment from 16 to a page.
const CASES: &[(usize, usize)] = &[
    (24, 16),
    (40, 32),
    (72, 64),
    (100, 128),
    (300, 256),
    (1000, 512),
    (1500, 1024),
    (3000, 2048),
    (4096, 4096),
];

fn check_all() -> Result<usize> {
    let mut n = 0;
    for &(size, align) in CASES {
        let layout = Layout::from_size_align(size, align).map_err(|_| EINVAL)?;
        // SAFETY: the layout has a non-zero size.
        let p = unsafe { alloc(layout) };
        // SAFETY: as above.
        let z = unsafe { alloc_zeroed(layout) };
        let ok = !p.is_null() && !z.is_null() && p as usize % align == 0 && z as usize % align == 0;
        // SAFETY: `z` is valid for `size` bytes when non-null.
        let zeroed = !z.is_null() && unsafe { core::slice::from_raw_parts(z, size) }.iter().all(|&b| b == 0);
        // SAFETY: `p` came from `alloc` with `layout` (or is null, then skipped).
        let q = if p.is_null() { p } else { unsafe { realloc(p, layout, size * 2 + 1) } };
        let grown_ok = !q.is_null() && q as usize % align == 0;
        for (ptr, l) in [(q, Layout::from_size_align(size * 2 + 1, align)), (z, Ok(layout))] {
            if let (false, Ok(l)) = (ptr.is_null(), l) {
                // SAFETY: each pointer came from this allocator with layout `l`.
                unsafe { dealloc(ptr, l) };
            }
        }
        if !(ok && zeroed && grown_ok) {
            pr_err!("allocator self-test: size {} align {} failed\n", size, align);
            return Err(ENOMEM);
        }
        n += 3;
    }
    Ok(n)
}

unsafe extern "C" fn check_all_atomic(out: *mut c_void) -> i32 {
    // SAFETY: plain query of the current context.
    let may_sleep = unsafe { bindings::markpatch_may_sleep() };
    let r = if may_sleep { Err(EINVAL) } else { check_all() };
    // SAFETY: `out` points at the caller's `usize`.
    unsafe { *out.cast::<usize>() = *r.as_ref().unwrap_or(&0) };
    match r {
        Ok(_) => 0,
        Err(e) => e.to_errno(),
    }
}

pub(crate) fn run() -> Result {
    // SAFETY: plain query of the current context.
    if !unsafe { bindings::markpatch_may_sleep() } {
        pr_err!("allocator self-test: module init cannot sleep?\n");
        return Err(EINVAL);
    }
    let in_process = check_all()?;
    let mut in_atomic = 0usize;
    // SAFETY: the callback only touches `in_atomic`, which outlives the call.
    let ret = unsafe { bindings::markpatch_call_atomic(Some(check_all_atomic), (&raw mut in_atomic).cast()) };
    if ret < 0 {
        pr_err!("allocator self-test with interrupts off failed ({})\n", ret);
        return Err(Error::from_errno(ret));
    }
    pr_info!(
        "allocator self-test: {} aligned allocations in process context, {} with interrupts off\n",
        in_process,
        in_atomic
    );
    Ok(())
}
