// SPDX-License-Identifier: GPL-2.0

//! Which kernel functions are not C functions, by rule, from the kernel
//! build tree markpatch was built against (scripts/gen-symbol-classes.py
//! writes the table; docs/design.md, "What markpatch may not patch"):
//! functions written in assembly, called with register contracts of their
//! own, take only `count`; code entered by a jump has no return address
//! on its stack, and no hook may run for it.

use kernel::prelude::*;

use crate::ksys::symbol;

mod generated {
    include!("../../build/symbol_classes.rs");
}

/// What kind of code a kernel function is.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Class {
    /// A C function (or anything the table does not name: module code).
    C,
    /// Written in assembly: a register contract of its own.
    Assembly,
    /// Entered by a jump, not a call.
    JumpEntered,
}

/// The table, placed at the running kernel's _stext.
pub(crate) struct SymbolClasses {
    stext: usize,
}

impl SymbolClasses {
    /// Places the table and checks it against the running kernel: every
    /// entry whose name is unique must be where the table says (ENOEXEC,
    /// with one dmesg line, when the kernel is not the one built from the
    /// tree markpatch was built against).
    pub(crate) fn load() -> Result<Self> {
        let stext = symbol::kallsyms_address(kernel::c_str!("_stext")).ok_or(ENOEXEC)?;
        let wrong = generated::CHECK
            .iter()
            .filter(|(off, name)| symbol::kallsyms_address(name) != Some(stext + *off as usize))
            .count();
        if wrong > 0 {
            pr_err!(
                "this kernel is not the one markpatch was built against: {} of {} symbols are not where its build tree has them\n",
                wrong,
                generated::CHECK.len()
            );
            return Err(ENOEXEC);
        }
        Ok(SymbolClasses { stext })
    }

    /// The class of the function that starts at `start`.
    pub(crate) fn of(&self, start: usize) -> Class {
        let Some(off) = start.checked_sub(self.stext).and_then(|o| u32::try_from(o).ok()) else {
            return Class::C;
        };
        if generated::JUMP_ENTERED.binary_search(&off).is_ok() {
            Class::JumpEntered
        } else if generated::ASSEMBLY.binary_search(&off).is_ok() {
            Class::Assembly
        } else {
            Class::C
        }
    }

    /// How many functions of each class the table has.
    pub(crate) fn counts() -> (usize, usize) {
        (generated::ASSEMBLY.len(), generated::JUMP_ENTERED.len())
    }
}
