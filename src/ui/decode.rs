// SPDX-License-Identifier: GPL-2.0

//! /sys/kernel/markpatch/decode: write a function's name, read its first
//! instructions as they are in memory now (offset, length, bytes, text).

use kernel::prelude::*;
use kernel::str::CStr;
use kernel::sync::Mutex;

use crate::engine::verdict::Verdict;
use crate::ksys::errno;
use crate::ksys::symbol::{self, SymbolName, Unresolved};
use crate::text;
use crate::ui::sysfs::{written_name, PageWriter};

/// How much of a function the listing decodes at most.
const MAX_INSNS: usize = 16;
const MAX_BYTES: usize = 16 * 15;

/// The function whose start `decode` shows.
pub(crate) struct Selected {
    name: SymbolName,
}

impl Selected {
    /// Nothing selected yet.
    pub(crate) fn empty() -> Self {
        Selected { name: SymbolName::empty() }
    }

    /// Selects `name`; the name must resolve to a function.
    pub(crate) fn new(name: &[u8]) -> Result<Self> {
        let mut s = Selected::empty();
        s.set(name)?;
        Ok(s)
    }

    /// Selects the function a write names.
    pub(crate) fn set(&mut self, input: &[u8]) -> Result {
        let (name, selected) = written_name(input, "decode")?;
        symbol::find(selected.as_cstr()).map_err(|u| {
            pr_info!("decode: {}: {}\n", name, Verdict::Unresolved(u).reason());
            u.errno()
        })?;
        self.name = selected;
        Ok(())
    }

    pub(crate) fn name(&self) -> &CStr {
        self.name.as_cstr()
    }
}

pub(crate) fn store(selected: &Mutex<Selected>, input: &[u8]) -> Result {
    selected.lock().set(input)
}

/// Writes the listing of `code` (the first bytes of `name`, of `size`, at
/// `addr`).
fn list(w: &mut PageWriter<'_>, name: &str, size: usize, code: &[u8], addr: u64) -> Result {
    use core::fmt::Write;
    writeln!(w, "{} size {:#x}", name, size).map_err(|_| EFBIG)?;
    match markplan::decode::write_head(w, code, addr, MAX_INSNS) {
        Ok(written) => written.map_err(|_| EFBIG),
        Err(e) => {
            pr_info!("decode: {}: {}\n", name, e);
            Err(errno::EILSEQ())
        }
    }
}

pub(crate) fn show(selected: &Mutex<Selected>, w: &mut PageWriter<'_>) -> Result {
    let guard = selected.lock();
    let name = guard.name();
    let func = symbol::find(name).map_err(Unresolved::errno)?;
    let mut bytes = [0u8; MAX_BYTES];
    let len = func.size.min(MAX_BYTES);
    text::read(func.start as u64, &mut bytes[..len])?;
    let code = &bytes[..len];
    let name = name.to_str().map_err(|_| EINVAL)?;
    // iced-x86 decodes and formats; its allocations go to the reserve.
    crate::ksys::reserve::run(|| list(w, name, func.size, code, func.start as u64))?
}
