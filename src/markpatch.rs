// SPDX-License-Identifier: GPL-2.0

//! markpatch: on-the-fly patching of a running kernel's functions with the
//! mark method (README.md; the argument: docs/design.md). This file is the
//! module's entry point: what is set up at load, in which order, and torn
//! down at unload. The pure logic lives in the `markplan` crate, shared
//! with host tests; the folders beside this file hold the rest by role
//! (README.md, "Architecture").

use kernel::prelude::*;
use kernel::sync::{new_mutex, Mutex};

mod bindings;
mod engine;
mod hooks;
mod ksys;
mod runtime;
mod scenarios;
mod text;
mod ui;

use ksys::registration::Registration;

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

/// A copy of `bytes`, allocated fallibly.
fn vec_from(bytes: &[u8]) -> Result<alloc::vec::Vec<u8>> {
    let mut v = alloc::vec::Vec::new();
    v.try_reserve_exact(bytes.len()).map_err(|_| ENOMEM)?;
    v.extend_from_slice(bytes);
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

/// The state that sysfs and the hook API work on.
#[pin_data]
struct Shared {
    #[pin]
    decode: Mutex<ui::decode::Selected>,
    #[pin]
    plan: Mutex<ui::sysfs::Report>,
    #[pin]
    survey: Mutex<ui::sysfs::Report>,
    #[pin]
    control: Mutex<ui::control::Control>,
}

struct Markpatch {
    // Dropped in this order, after `drop` below reverted every patch: the
    // module notifier, the scenarios (their files and the quota limits),
    // the directory (its callbacks use `shared`; removal waits for them),
    // the int3 handler, the state, then iced-x86's tables (nothing decodes
    // once the state is gone).
    _modules: Registration,
    _scenarios: Registration,
    _sysfs: ui::sysfs::Directory,
    _int3: Registration,
    shared: Pin<KBox<Shared>>,
    _iced_tables: ksys::iced_tables::IcedTables,
}

fn param(p: *const kernel::ffi::c_char) -> Option<&'static str> {
    if p.is_null() {
        return None;
    }
    // SAFETY: a charp module parameter: NUL-terminated, alive for the
    // module's lifetime.
    let s = unsafe { kernel::str::CStr::from_char_ptr(p) };
    s.to_str().ok().filter(|s| !s.is_empty())
}

impl kernel::Module for Markpatch {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        // iced-x86's tables, first: every decode needs them.
        let iced_tables = ksys::iced_tables::IcedTables::build()?;
        ksys::alloc_selftest::run()?;

        let engine = engine::Engine::new()?;
        let selected = ui::decode::Selected::new(DEFAULT_DECODE_SYMBOL)?;
        let shared = KBox::pin_init(
            pin_init!(Shared {
                decode <- new_mutex!(selected, "markpatch::decode"),
                plan <- new_mutex!(ui::sysfs::Report::new(), "markpatch::plan"),
                survey <- new_mutex!(ui::sysfs::Report::new(), "markpatch::survey"),
                control <- new_mutex!(ui::control::Control::new(engine), "markpatch::control"),
            }),
            GFP_KERNEL,
        )?;
        // SAFETY: the int3 notifier's register/unregister pair; no patch
        // (so no int3 of ours) is left when it is dropped.
        let int3 = unsafe { Registration::new(bindings::markpatch_int3_register, bindings::markpatch_int3_unregister)? };
        let dir = ui::sysfs::Directory::create(shared.as_ref())?;
        // SAFETY: the scenarios' register/unregister pair (their files go
        // into the directory, which exists now; the quota limits are
        // dropped at unload, after every patch is reverted).
        let scenarios = unsafe { Registration::new(bindings::markpatch_scenarios_register, bindings::markpatch_scenarios_unregister)? };
        // SAFETY: the module notifier's register/unregister pair.
        let modules = unsafe { Registration::new(bindings::markpatch_module_notifier_register, bindings::markpatch_module_notifier_unregister)? };
        let module = Markpatch { _modules: modules, _scenarios: scenarios, _sysfs: dir, _int3: int3, shared, _iced_tables: iced_tables };

        // SAFETY: reads the module parameters' pointers.
        let (sym, hook) = unsafe { (param(bindings::markpatch_param_symbol()), param(bindings::markpatch_param_hook())) };
        if let Some(sym) = sym {
            // On failure `module` drops: nothing is left installed.
            ui::control::install(&module.shared, sym, hook.unwrap_or("count"))?;
        }
        pr_info!("loaded; /sys/kernel/markpatch/ ready\n");
        Ok(module)
    }
}

impl Drop for Markpatch {
    fn drop(&mut self) {
        ui::control::shutdown(&self.shared);
        pr_info!("unloaded\n");
    }
}
