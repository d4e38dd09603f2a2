// SPDX-License-Identifier: GPL-2.0

//! The Rust side of the exported hook API (include/markpatch.h, exported
//! from src/hooks/api.c).

use kernel::ffi::{c_char, c_void};
use kernel::prelude::*;
use kernel::str::CStr;

use crate::bindings::{self, same_signature};
use crate::hooks::FilterFn;
use crate::ui::sysfs::with_shared;

#[no_mangle]
extern "C" fn markpatch_rust_register_hook(
    name: *const c_char,
    func: Option<FilterFn>,
    data: *mut c_void,
    owner: *mut bindings::module,
) -> i32 {
    let Some(func) = func else { return EINVAL.to_errno() };
    if name.is_null() {
        return EINVAL.to_errno();
    }
    // SAFETY: the caller passes a NUL-terminated name.
    let name = unsafe { CStr::from_char_ptr(name) };
    let r = with_shared(|shared| {
        shared.control.lock().engine.hooks.register(name.as_bytes(), func, data, owner)?;
        pr_info!("hook {} registered\n", name.to_str().unwrap_or("?"));
        Ok(0)
    });
    r as i32
}

#[no_mangle]
extern "C" fn markpatch_rust_unregister_hook(name: *const c_char) -> i32 {
    if name.is_null() {
        return EINVAL.to_errno();
    }
    // SAFETY: the caller passes a NUL-terminated name.
    let name = unsafe { CStr::from_char_ptr(name) };
    let r = with_shared(|shared| {
        let mut ctl = shared.control.lock();
        let in_use = ctl.engine.hook_in_use(name.as_bytes());
        ctl.engine.hooks.unregister(name.as_bytes(), in_use)?;
        Ok(0)
    });
    r as i32
}

same_signature!(bindings::markpatch_rust_register_hook, markpatch_rust_register_hook);
same_signature!(bindings::markpatch_rust_unregister_hook, markpatch_rust_unregister_hook);
