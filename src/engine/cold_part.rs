// SPDX-License-Identifier: GPL-2.0

//! A function's `.cold` part: GCC moves a function's unlikely blocks into
//! a symbol of its own, `<name>.cold`, which jumps back into the function.
//! The planner checks those jumps as the function's own branches
//! (docs/design.md, "Reverse order", and its known limits).

use kernel::prelude::*;
use kernel::str::CStr;
use markplan::input::SYMBOL_MAX;

use super::MAX_FUNCTION;
use crate::ksys::symbol::{self, SymbolName, Unresolved};
use crate::text;

const SUFFIX: &[u8] = b".cold";

/// The bytes of a function's `.cold` part, read at plan time.
pub(crate) struct ColdPart {
    pub(crate) start: u64,
    pub(crate) code: alloc::vec::Vec<u8>,
}

/// Whether `name` is a `.cold` part itself: code entered by a jump from
/// its function, never called (as the build-time classes say of
/// vmlinux's, `scripts/gen-symbol-classes.py`; this also covers modules).
pub(crate) fn is_cold_part(name: &CStr) -> bool {
    name.as_bytes().windows(SUFFIX.len()).any(|w| w == SUFFIX)
}

impl ColdPart {
    /// The part as the planner takes it ([`markplan::plan::Facts::cold`]).
    pub(crate) fn as_fact(&self) -> (u64, &[u8]) {
        (self.start, &self.code)
    }

    /// The part kallsyms has as `<name>.cold`, if any. Where two functions
    /// share `name` (static functions of different files), kallsyms gives
    /// the first of each name, as it does for the function itself. GCC 8
    /// named the part `<name>.cold.N`, which is not looked for.
    pub(crate) fn find(name: &CStr) -> Result<Option<Self>> {
        let name = name.as_bytes();
        let mut buf = [0u8; SYMBOL_MAX];
        let Some(full) = buf.get_mut(..name.len() + SUFFIX.len()) else {
            return Ok(None); // no kallsyms name is that long
        };
        full[..name.len()].copy_from_slice(name);
        full[name.len()..].copy_from_slice(SUFFIX);
        let cold = SymbolName::new(full)?;
        let func = match symbol::find(cold.as_cstr()) {
            Ok(func) => func,
            Err(Unresolved::Other(e)) if e == ENOMEM => return Err(e),
            Err(_) => return Ok(None),
        };
        let mut code = crate::vec_filled(func.size.min(MAX_FUNCTION), 0u8)?;
        if code.is_empty() {
            return Ok(None);
        }
        text::read(func.start as u64, &mut code)?;
        Ok(Some(ColdPart { start: func.start as u64, code }))
    }
}
