// SPDX-License-Identifier: GPL-2.0

//! Error codes that `kernel::error::code` in 6.12 does not declare.

use kernel::bindings;
use kernel::error::Error;

macro_rules! errno {
    ($($name:ident),*) => {$(
        #[allow(non_snake_case, dead_code)]
        pub(crate) fn $name() -> Error {
            Error::from_errno(-(bindings::$name as i32))
        }
    )*};
}

errno!(EILSEQ, EOPNOTSUPP, EDQUOT);
