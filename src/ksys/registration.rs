// SPDX-License-Identifier: GPL-2.0

//! A kernel registration made by a C function (a notifier, the built-in
//! hooks), undone on drop.

use kernel::prelude::*;

/// A registration made by `register`, undone by `unregister` on drop.
pub(crate) struct Registration {
    unregister: unsafe extern "C" fn(),
}

impl Registration {
    /// # Safety
    /// `register` and `unregister` are a matching pair that may each be
    /// called once, in that order.
    pub(crate) unsafe fn new(register: unsafe extern "C" fn() -> i32, unregister: unsafe extern "C" fn()) -> Result<Self> {
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
