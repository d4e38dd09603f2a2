// SPDX-License-Identifier: GPL-2.0

//! markpatch: on-the-fly patching of a running kernel's functions with the
//! mark method (see README.md). This file is the module's entry point; the
//! pure logic lives in the `markplan` crate, shared with host tests.

use kernel::prelude::*;
use kernel::sync::{new_mutex, Mutex};

mod alloc_selftest;
mod arena;
mod control;
mod cost;
mod decode_file;
mod errno;
mod hook_api;
mod hooks;
mod patch;
mod quota;
mod report;
mod resolver;
mod symbol;
mod sync;
mod survey;
mod sysfs;
mod text;

module! {
    type: Markpatch,
    name: "markpatch",
    author: "markpatch developers",
    description: "On-the-fly patching of running kernel functions with the mark method",
    license: "GPL",
}

/// A vector of `len` copies of `value`, allocated fallibly.
fn vec_filled<T: Clone>(len: usize, value: T) -> Result<alloc::vec::Vec<T>> {
    let mut v = alloc::vec::Vec::new();
    v.try_reserve_exact(len).map_err(|_| ENOMEM)?;
    v.resize(len, value);
    Ok(v)
}

/// Pushes onto a vector, allocating fallibly.
fn try_push<T>(v: &mut alloc::vec::Vec<T>, value: T) -> Result {
    v.try_reserve(1).map_err(|_| ENOMEM)?;
    v.push(value);
    Ok(())
}

/// The function `decode` shows at load, so that the module shows it works on
/// a live kernel as soon as it is loaded.
const DEFAULT_DECODE_SYMBOL: &[u8] = b"vfs_statfs";

extern "C" {
    fn markpatch_int3_register() -> i32;
    fn markpatch_int3_unregister();
    fn markpatch_builtin_hooks_register() -> i32;
    fn markpatch_quota_unregister();
    fn markpatch_module_notifier_register() -> i32;
    fn markpatch_module_notifier_unregister();
    fn markpatch_param_symbol() -> *const u8;
    fn markpatch_param_hook() -> *const u8;
    fn markpatch_run_on_fresh_stack(f: extern "C" fn());
}

extern "C" fn warm_up_iced() {
    markplan::decode::warm_up();
}

/// The state that sysfs and the hook API work on.
#[pin_data]
struct Shared {
    #[pin]
    decode: Mutex<decode_file::Selected>,
    #[pin]
    plan: Mutex<sysfs::Report>,
    #[pin]
    survey: Mutex<sysfs::Report>,
    #[pin]
    control: Mutex<control::Control>,
}

/// A kernel registration made by src/*.c (a notifier), undone on drop.
struct Registration {
    unregister: unsafe extern "C" fn(),
}

impl Registration {
    /// # Safety
    /// `register` and `unregister` are a matching pair that may each be
    /// called once, in that order.
    unsafe fn new(register: unsafe extern "C" fn() -> i32, unregister: unsafe extern "C" fn()) -> Result<Self> {
        // SAFETY: per this function's contract.
        let ret = unsafe { register() };
        if ret < 0 {
            return Err(Error::from_errno(ret));
        }
        Ok(Registration { unregister })
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        // SAFETY: registered in `new`.
        unsafe { (self.unregister)() };
    }
}

struct Markpatch {
    // Dropped in this order, after `drop` below reverted every patch: the
    // module notifier, the directory (its callbacks use `shared`; removal
    // waits for them), the built-in hooks' state (quota limits), the int3
    // handler, then the state.
    _modules: Registration,
    _sysfs: sysfs::Directory,
    _builtin: Registration,
    _int3: Registration,
    shared: Pin<KBox<Shared>>,
}

fn param(p: *const u8) -> Option<&'static str> {
    if p.is_null() {
        return None;
    }
    // SAFETY: a charp module parameter: NUL-terminated, alive for the
    // module's lifetime.
    let s = unsafe { kernel::str::CStr::from_char_ptr(p.cast()) };
    s.to_str().ok().filter(|s| !s.is_empty())
}

impl kernel::Module for Markpatch {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        // iced-x86 builds its tables on first use, with allocation and (for
        // the formatter) a 10 KiB stack frame: do it now, in a kworker with a
        // fresh stack, never first in atomic context or deep in a caller.
        // SAFETY: runs the function and waits for it.
        unsafe { markpatch_run_on_fresh_stack(warm_up_iced) };
        alloc_selftest::run()?;

        let engine = patch::Engine::new()?;
        let selected = decode_file::Selected::new(DEFAULT_DECODE_SYMBOL)?;
        let shared = KBox::pin_init(
            pin_init!(Shared {
                decode <- new_mutex!(selected, "markpatch::decode"),
                plan <- new_mutex!(sysfs::Report::new(), "markpatch::plan"),
                survey <- new_mutex!(sysfs::Report::new(), "markpatch::survey"),
                control <- new_mutex!(control::Control::new(engine), "markpatch::control"),
            }),
            GFP_KERNEL,
        )?;
        // SAFETY: the int3 notifier's register/unregister pair; no patch
        // (so no int3 of ours) is left when it is dropped.
        let int3 = unsafe { Registration::new(markpatch_int3_register, markpatch_int3_unregister)? };
        let dir = sysfs::Directory::create(shared.as_ref())?;
        // SAFETY: the module notifier's register/unregister pair.
        let modules = unsafe { Registration::new(markpatch_module_notifier_register, markpatch_module_notifier_unregister)? };
        // SAFETY: the built-in hooks' register/unregister pair (the quota
        // hooks' limits are dropped at unload, after every patch is reverted).
        let builtin = unsafe { Registration::new(markpatch_builtin_hooks_register, markpatch_quota_unregister)? };
        let module = Markpatch { _builtin: builtin, _modules: modules, _sysfs: dir, _int3: int3, shared };

        // SAFETY: reads the module parameters' pointers.
        let (sym, hook) = unsafe { (param(markpatch_param_symbol()), param(markpatch_param_hook())) };
        if let Some(sym) = sym {
            // On failure `module` drops: nothing is left installed.
            control::install(&module.shared, sym, hook.unwrap_or("count"))?;
        }
        pr_info!("loaded; /sys/kernel/markpatch/ ready\n");
        Ok(module)
    }
}

impl Drop for Markpatch {
    fn drop(&mut self) {
        control::shutdown(&self.shared);
        pr_info!("unloaded\n");
    }
}
