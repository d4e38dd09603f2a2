// SPDX-License-Identifier: GPL-2.0

//! The executable arena: MARKPATCH_ARENA_SIZE bytes of this module's own
//! text (arena_space.S), within +-2 GB of every kernel and module function,
//! holding each patch's stub and pseudo-original. Module text is read-only
//! once loaded, so it is written like any other text (crate::text). Free
//! space holds int3.
//!
//! It also holds direct-jump thunks to kernel functions that are not
//! exported: an indirect call to such a function would fault under IBT (it
//! has no ENDBR), while the thunk starts with ENDBR and reaches the
//! function with a direct `jmp`; before it, the kCFI preamble of the type
//! it is called as.

use kernel::prelude::*;
use kernel::str::CStr;
use markplan::arena::Arena as Granules;
use markplan::marks::INT3;

use crate::bindings;
use crate::ksys::symbol;
use crate::text;

/// Free-space bookkeeping; the caller serialises access (the engine lock).
pub(crate) struct ExecArena {
    granules: Granules,
}

/// A piece of the arena, owned: given back with [`ExecArena::free`] once
/// no CPU can execute it, or kept for as long as the module lives (a
/// patch that could not be reverted). Neither `Copy` nor `Clone`.
#[derive(Debug)]
pub(crate) struct Slot {
    addr: u64,
    len: usize,
}

impl Slot {
    pub(crate) fn addr(&self) -> u64 {
        self.addr
    }
}

fn base() -> u64 {
    // Only the symbol's address is taken (no read).
    core::ptr::addr_of!(bindings::markpatch_arena) as u64
}

const SIZE: usize = bindings::usize_of(bindings::MARKPATCH_ARENA_SIZE);

impl ExecArena {
    pub(crate) fn new() -> Result<Self> {
        Ok(ExecArena { granules: Granules::new(SIZE).ok_or(ENOMEM)? })
    }

    /// Reserves `len` bytes (still int3).
    pub(crate) fn alloc(&mut self, len: usize) -> Result<Slot> {
        let off = self.granules.alloc(len).ok_or(ENOSPC)?;
        Ok(Slot { addr: base() + off as u64, len })
    }

    /// Writes `code` at the start of `slot`, which must still be int3.
    pub(crate) fn fill(&self, slot: &Slot, code: &[u8]) -> Result {
        if code.len() > slot.len {
            return Err(EINVAL);
        }
        let int3s = crate::vec_filled(code.len(), INT3)?;
        text::copy_bytes(slot.addr, &int3s, code)
    }

    /// Gives `slot` back, refilled with int3. The caller guarantees that
    /// no CPU can still execute it. Allocates nothing (the bytes go through
    /// the stack), so that a revert's last step cannot fail for want of
    /// memory; a slot that could not be refilled is never handed out again.
    pub(crate) fn free(&mut self, slot: Slot) {
        const CHUNK: usize = 128;
        let int3s = [INT3; CHUNK];
        let mut current = [0u8; CHUNK];
        let refilled = (0..slot.len).step_by(CHUNK).try_for_each(|at| {
            let n = (slot.len - at).min(CHUNK);
            let addr = slot.addr + at as u64;
            text::read(addr, &mut current[..n])?;
            text::copy_bytes(addr, &current[..n], &int3s[..n])
        });
        match refilled {
            Ok(()) => self.granules.free((slot.addr - base()) as usize, slot.len),
            Err(e) => pr_warn!("arena: could not refill a freed slot at {:#x} with int3 (errno {}): it is not used again\n", slot.addr, e.to_errno()),
        }
    }

    /// The arena's first byte and its size.
    pub(crate) fn range() -> (u64, usize) {
        (base(), SIZE)
    }

    /// Bytes in use.
    pub(crate) fn used(&self) -> usize {
        self.granules.used_bytes()
    }

    /// A callable thunk to the unexported kernel function `name`, kept
    /// until unload, called as the type of `like` (a function of this
    /// module, whose kCFI preamble the thunk gets: crate::text::kcfi).
    pub(crate) fn thunk(&mut self, name: &CStr, like: usize) -> Result<u64> {
        const PRE: usize = markplan::kcfi::PREAMBLE_LEN;
        let func = symbol::find(name).map_err(symbol::Unresolved::errno)?;
        let preamble = super::kcfi::preamble_of(like)?;
        let slot = self.alloc(PRE + 9)?;
        let entry = slot.addr + PRE as u64;
        let mut code = [0u8; PRE + 9];
        code[..PRE].copy_from_slice(&preamble);
        code[PRE..PRE + 4].copy_from_slice(&markplan::plan::ENDBR64);
        let jmp = crate::ksys::reserve::run(|| markplan::marks::jmp_bytes(entry + 4, 5, func.start as u64))?.ok_or(ERANGE)?;
        code[PRE + 4..].copy_from_slice(&jmp);
        self.fill(&slot, &code)?;
        Ok(entry)
    }
}
