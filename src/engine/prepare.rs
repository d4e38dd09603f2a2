// SPDX-License-Identifier: GPL-2.0

//! Staging a patch (kprobes' "prepare", livepatch's "init"): the
//! pseudo-original built from the plan and checked, the stub, both written
//! into an arena slot, the hook's config made, and the patch published in
//! the LIVE table, all before any byte of the target changes.

use core::sync::atomic::Ordering;
use kernel::prelude::*;
use kernel::str::CStr;
use markplan::input::HookSpec;
use markplan::plan::{Plan, MAX_REGION};
use markplan::pseudo_original;
use markplan::marks::replacement_bytes;
use markplan::stub::{slot_bytes, stub_bytes, SLOT_P_OFFSET};

use super::patch::{Method, Patch, Replacements};
use super::Failure;
use crate::bindings;
use crate::hooks::Registry;
use crate::ksys::symbol::Function;
use crate::runtime::live::{self, Live};
use crate::text::arena::{ExecArena, Slot};

/// What a patch is made of.
pub(super) struct Request<'a> {
    pub(super) name: &'a CStr,
    pub(super) func: Function,
    /// The function's bytes the plan was made from.
    pub(super) code: &'a [u8],
    pub(super) plan: Plan,
    /// A free index in the LIVE table.
    pub(super) index: usize,
    pub(super) method: Method,
    pub(super) spec: HookSpec<'a>,
    pub(super) desc: &'a str,
    pub(super) ibt: bool,
}

/// Stages and publishes the patch `req` describes, in state Installing.
/// On failure nothing is left: no slot, no LIVE entry.
pub(super) fn prepare(arena: &mut ExecArena, hooks: &Registry, req: Request<'_>) -> Result<KBox<Patch>, Failure> {
    let slot = arena
        .alloc(SLOT_P_OFFSET as usize + pseudo_original::max_len(&req.plan, req.ibt))
        .map_err(|e| Failure::new(e, "executable arena full"))?;
    match stage(arena, hooks, req, &slot) {
        Ok(parts) => {
            let patch = parts.into_patch(slot);
            live::publish(patch.index, &patch.live);
            Ok(patch)
        }
        Err(f) => {
            // Nothing ever ran in the slot.
            arena.free(slot);
            Err(f)
        }
    }
}

/// A patch before it owns its slot, every allocation made.
struct Parts<'a> {
    req: Request<'a>,
    name: alloc::vec::Vec<u8>,
    live: KBox<Live>,
    pseudo: pseudo_original::PseudoOriginal,
    replacements: Replacements,
    cfg: KBox<crate::hooks::HookConfig>,
    place: KBox<core::mem::MaybeUninit<Patch>>,
}

impl Parts<'_> {
    fn into_patch(self, slot: Slot) -> KBox<Patch> {
        let r = self.req;
        self.place.write(Patch::new(self.name, r.func, r.index, self.live, r.plan, self.pseudo, self.replacements, slot, self.cfg, r.method))
    }
}

/// What iced-x86 and markplan make for a patch: the pseudo-original, the
/// slot's bytes (stub, then pseudo-original) and each Ik's replacement.
struct Code {
    pseudo: pseudo_original::PseudoOriginal,
    slot_bytes: alloc::vec::Vec<u8>,
    replacements: Replacements,
}

/// Makes [`Code`] for `req` in `slot` (inside the allocation reserve: its
/// allocations cannot fail).
fn make_code(req: &Request<'_>, slot: &Slot) -> Result<Code, Failure> {
    let (plan, ibt) = (&req.plan, req.ibt);
    let p_addr = slot.addr() + SLOT_P_OFFSET;
    let pseudo = pseudo_original::build(plan, req.code, req.func.start as u64, p_addr, ibt).map_err(Failure::refused)?;
    if let Err(mismatch) = pseudo_original::verify(plan, req.code, p_addr, ibt, &pseudo) {
        pr_err!("{}\n", mismatch);
        return Err(Failure::new(EINVAL, "pseudo-original failed its self-check"));
    }
    let entry = bindings::markpatch_resolver_entry as *const () as u64;
    let stub = stub_bytes(slot.addr(), req.index as u32, entry).ok_or(Failure::new(ERANGE, "resolver out of reach of the stub"))?;
    // A filter hook calls P as the original (struct markpatch_call).
    let preamble = crate::text::kcfi::preamble_of(bindings::markpatch_original_like as *const () as usize)
        .map_err(|e| Failure::new(e, "no kCFI preamble for the pseudo-original"))?;
    let slot_bytes = slot_bytes(&stub, &preamble, &pseudo.bytes).ok_or(Failure::new(ENOMEM, "out of memory"))?;
    // The direct method writes one span instead (crate::engine::direct).
    let mut replacements = [[0u8; 15]; MAX_REGION];
    let m = if req.method == Method::Marks { plan.m() } else { 0 };
    for (k, r) in replacements.iter_mut().enumerate().take(m) {
        let bytes = replacement_bytes(plan, k, slot.addr()).map_err(Failure::refused)?;
        r.get_mut(..bytes.len()).ok_or(Failure::new(EINVAL, "replacement longer than 15 bytes"))?.copy_from_slice(&bytes);
    }
    Ok(Code { pseudo, slot_bytes, replacements })
}

fn stage<'a>(arena: &ExecArena, hooks: &Registry, req: Request<'a>, slot: &Slot) -> Result<Parts<'a>, Failure> {
    let code = crate::ksys::reserve::run(|| make_code(&req, slot)).map_err(|e| Failure::new(e, "out of memory"))??;
    arena.fill(slot, &code.slot_bytes).map_err(|e| Failure::new(e, "cannot write the arena"))?;
    let (plan, pseudo) = (&req.plan, code.pseudo);
    let p_addr = slot.addr() + SLOT_P_OFFSET;

    // The direct method has no marks: the resolver sees a region of one
    // instruction, so every caller of the stub is a new call.
    let m = if req.method == Method::Direct { 1 } else { plan.m() };
    let (mut insn_addr, mut effects, mut entries) = ([0; MAX_REGION], [0; MAX_REGION], [0; MAX_REGION]);
    let mut reg_uses = [markplan::resolve::RegUse::default(); MAX_REGION];
    for (k, i) in plan.insns.iter().enumerate().take(m) {
        insn_addr[k] = plan.addr + i.offset as u64;
        effects[k] = i.stack_effect;
        reg_uses[k] = i.reg_use;
        entries[k] = p_addr + pseudo.entries[k] as u64;
    }
    let live = KBox::new(Live::new(m, insn_addr, effects, reg_uses, entries, plan.realign), GFP_KERNEL)?;
    // "The original function" a hook calls: P's entry for I1.
    let cfg = hooks.make_config(req.spec, req.desc, entries[0]).map_err(|e| Failure::new(e, "no such hook"))?;
    live.hook.store(core::ptr::from_ref(&*cfg).cast_mut(), Ordering::Release);
    let name = crate::vec_from(req.name.as_bytes())?;
    let place = KBox::new_uninit(GFP_KERNEL)?;
    Ok(Parts { req, name, live, pseudo, replacements: code.replacements, cfg, place })
}
