// SPDX-License-Identifier: GPL-2.0

//! Is this address kernel or module text? The resolver asks it of every
//! candidate return address. kernel_text_address() and
//! __module_text_address() are not exported: they are called through arena
//! thunks made at load (crate::text::arena), and core text [_stext, _etext)
//! is known without a call, for the fast path (entry.S).

use kernel::ffi::c_ulong;
use core::sync::atomic::{AtomicU64, Ordering};

use crate::bindings;

/// [_stext, _etext), set at load: the fast path (entry.S) takes a return
/// address there for text without asking kernel_text_address().
#[export_name = "markpatch_core_text"]
pub(crate) static CORE_TEXT: [AtomicU64; 2] = [AtomicU64::new(0), AtomicU64::new(0)];

/// kernel_text_address(), through an arena thunk called as
/// [`KernelTextAddress`].
pub(crate) static KERNEL_TEXT_ADDRESS: AtomicU64 = AtomicU64::new(0);
pub(crate) type KernelTextAddress = extern "C" fn(c_ulong) -> i32;
/// Of type [`KernelTextAddress`]: the thunk gets its kCFI preamble.
pub(crate) const KERNEL_TEXT_ADDRESS_LIKE: KernelTextAddress = kernel_text_address_like;
extern "C" fn kernel_text_address_like(_: c_ulong) -> i32 {
    0
}
/// __module_text_address(), through an arena thunk (called from C, as
/// bindings::markpatch_module_text_address_like).
pub(crate) static MODULE_TEXT_ADDRESS: AtomicU64 = AtomicU64::new(0);

/// Whether `addr` is in [_stext, _etext).
pub(crate) fn in_core_text(addr: u64) -> bool {
    let [start, end] = [&CORE_TEXT[0], &CORE_TEXT[1]].map(|a| a.load(Ordering::Relaxed));
    (start..end).contains(&addr)
}

/// Whether `addr` is live kernel or module text (false until the thunk is
/// made at load).
pub(crate) fn is_text(addr: u64) -> bool {
    let f = KERNEL_TEXT_ADDRESS.load(Ordering::Relaxed);
    if f == 0 {
        return false;
    }
    // SAFETY: `f` is a thunk (ENDBR; jmp kernel_text_address) in the arena,
    // written at load and kept until unload; kernel_text_address takes an
    // unsigned long and returns int, and is safe in any context.
    let f: KernelTextAddress = unsafe { core::mem::transmute(f as usize) };
    f(addr as c_ulong) != 0
}

/// Which kind of module text `addr` is in (MARKPATCH_MODTEXT_*), asked
/// through the __module_text_address thunk; NONE before the thunk exists.
fn module_text(addr: u64) -> u32 {
    let f = MODULE_TEXT_ADDRESS.load(Ordering::Relaxed);
    if f == 0 {
        return bindings::MARKPATCH_MODTEXT_NONE;
    }
    // SAFETY: `f` is a thunk (ENDBR; jmp __module_text_address) in the
    // arena, kept until unload; the C side calls it with preemption off and
    // reads the module's state and text ranges.
    unsafe { bindings::markpatch_module_text(addr as c_ulong, f as c_ulong) as u32 }
}

/// Whether `addr` is in the text of a module that is live (not coming, not
/// going).
pub(crate) fn in_live_module_text(addr: u64) -> bool {
    module_text(addr) == bindings::MARKPATCH_MODTEXT_LIVE
}

/// Whether `addr` is in the init text of a module (a coming module's, the
/// only kind that still has it).
pub(crate) fn in_module_init_text(addr: u64) -> bool {
    module_text(addr) == bindings::MARKPATCH_MODTEXT_INIT
}
