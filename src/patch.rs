// SPDX-License-Identifier: GPL-2.0

//! The patching engine: plan, install in reverse order, replace a hook in
//! place, revert. One `Engine` holds every patch; the caller serialises
//! calls (the engine lock). The lock-free side is src/resolver.rs.
//!
//! Install (DESIGN-NOTES.md, and the patent's steps): the stub and the
//! pseudo-original P are written into the arena and the patch is published
//! in LIVE before any byte of the target changes; then IM becomes `jmp stub`
//! and IM-1..I1 become marks, each with one atomic write of its aligned
//! window (or the int3 protocol when it straddles one), every CPU
//! serialised after each write.
//!
//! Revert: int3 over the first byte of every Ik; wait until no task can be
//! inside a NOP filler (RCU tasks: the region never sleeps, and the only way
//! on from a mark is through an int3 or the stub, neither a voluntary
//! switch); restore bytes 2.. of every Ik; restore every first byte; check
//! the bytes against the saved originals; unlink; wait for hook calls in
//! flight and for any task still in the stub or P; free.

use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, Ordering};
use kernel::prelude::*;
use kernel::str::CStr;
use markplan::input::HookSpec;
use markplan::marks::WriteMethod;
use markplan::plan::{Facts, Plan, MAX_REGION};
use markplan::pseudo_original::{self, PseudoOriginal};
use markplan::refusal::Refusal;
use markplan::stub::{stub_bytes, STUB_LEN};

use crate::arena::{ExecArena, Slot};
use crate::hooks::{HookConfig, Registry};
use crate::resolver::{Live, CORE_TEXT, KERNEL_TEXT_ADDRESS, MODULE_TEXT_ADDRESS, LIVE, MAX_PATCHES};
use crate::symbol::{self, Function, Probes, Unresolved};
use crate::cost::{self, OpCost};
use crate::{errno, sync, text};

extern "C" {
    fn markpatch_config_ibt() -> bool;
    fn markpatch_param_install_delay_ms() -> u32;
    fn markpatch_param_int3_writes() -> bool;
    fn markpatch_param_naive_unsafe() -> bool;
    fn markpatch_resolver_entry();
}

const INT3: u8 = 0xcc;

/// The largest function we read whole (for the branch scan).
const MAX_FUNCTION: usize = 256 * 1024;

fn ibt() -> bool {
    // SAFETY: reads a compile-time constant.
    unsafe { markpatch_config_ibt() }
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    Installing,
    Installed,
    Reverting,
}

impl State {
    pub(crate) fn name(self) -> &'static str {
        match self {
            State::Installing => "installing",
            State::Installed => "installed",
            State::Reverting => "reverting",
        }
    }
}

/// One patched function.
pub(crate) struct Patch {
    name: alloc::vec::Vec<u8>,
    pub(crate) func: Function,
    index: usize,
    pub(crate) live: KBox<Live>,
    pub(crate) plan: Plan,
    pub(crate) pseudo: PseudoOriginal,
    slot: Slot,
    pub(crate) p_addr: u64,
    pub(crate) stub_addr: u64,
    /// The config published in `live.hook` (owned here).
    cfg: Option<KBox<HookConfig>>,
    pub(crate) state: State,
    /// Installed with the direct method (`naive_unsafe`, tests only): one
    /// plain copy of `jmp stub` over I1..Ij, no marks.
    naive: bool,
}

impl Patch {
    pub(crate) fn name(&self) -> &str {
        core::str::from_utf8(&self.name).unwrap_or("?")
    }

    pub(crate) fn hook_desc(&self) -> &str {
        self.cfg.as_ref().map(|c| c.desc()).unwrap_or("-")
    }

    fn insn_addr(&self, k: usize) -> u64 {
        self.plan.addr + self.plan.insns[k].offset as u64
    }

    /// What Ik holds once installed.
    pub(crate) fn replacement(&self, k: usize) -> Result<alloc::vec::Vec<u8>> {
        markplan::marks::replacement_bytes(&self.plan, k, self.stub_addr).map_err(|_| EINVAL)
    }

    /// The direct method's span, I1..Ij: the original bytes, and `jmp stub`
    /// with its filler.
    fn naive_span(&self) -> Result<(alloc::vec::Vec<u8>, alloc::vec::Vec<u8>)> {
        let mut original = alloc::vec::Vec::new();
        for i in &self.plan.insns {
            original.try_reserve(i.len).map_err(|_| ENOMEM)?;
            original.extend_from_slice(&i.original);
        }
        let new = markplan::naive::span_bytes(self.insn_addr(0), original.len(), self.stub_addr).ok_or(ERANGE)?;
        Ok((original, new))
    }
}

/// Why an install did not happen: an errno, and the reason for dmesg.
pub(crate) struct Failure {
    pub(crate) err: Error,
    pub(crate) refusal: Option<Refusal>,
    pub(crate) what: &'static str,
    /// The arena slot stays in use (an abandoned patch still runs there).
    keep_slot: bool,
}

impl Failure {
    fn new(err: Error, what: &'static str) -> Self {
        Failure { err, refusal: None, what, keep_slot: false }
    }
    fn refused(r: Refusal) -> Self {
        Failure { err: errno::EOPNOTSUPP(), refusal: Some(r), what: "", keep_slot: false }
    }
}

impl From<Error> for Failure {
    fn from(err: Error) -> Self {
        Failure::new(err, "")
    }
}

impl From<kernel::alloc::AllocError> for Failure {
    fn from(_: kernel::alloc::AllocError) -> Self {
        Failure::new(ENOMEM, "out of memory")
    }
}

/// A plan of a live function, with the bytes it was made from.
pub(crate) struct Planned {
    pub(crate) func: Function,
    pub(crate) code: alloc::vec::Vec<u8>,
    pub(crate) result: core::result::Result<Plan, Refusal>,
    /// Set when kprobes refuses an Ik (jump label, static call, bug entry...).
    pub(crate) probe_refused: Option<(usize, Error)>,
}

pub(crate) struct Engine {
    arena: ExecArena,
    patches: alloc::vec::Vec<KBox<Patch>>,
    pub(crate) hooks: Registry,
    search_exception_tables: u64,
    /// What the last install and the last revert cost.
    pub(crate) last_install: Option<OpCost>,
    pub(crate) last_revert: Option<OpCost>,
}

impl Engine {
    pub(crate) fn new() -> Result<Self> {
        let mut arena = ExecArena::new()?;
        KERNEL_TEXT_ADDRESS.store(arena.thunk(kernel::c_str!("kernel_text_address"))?, Ordering::Release);
        symbol::KALLSYMS_LOOKUP_NAME.store(arena.thunk(kernel::c_str!("kallsyms_lookup_name"))?, Ordering::Release);
        MODULE_TEXT_ADDRESS.store(arena.thunk(kernel::c_str!("__module_text_address"))?, Ordering::Release);
        let core_text = [kernel::c_str!("_stext"), kernel::c_str!("_etext")].map(symbol::kallsyms_address);
        if let [Some(start), Some(end)] = core_text {
            CORE_TEXT[0].store(start as u64, Ordering::Relaxed);
            CORE_TEXT[1].store(end as u64, Ordering::Release);
        }
        let search_exception_tables = arena.thunk(kernel::c_str!("search_exception_tables"))?;
        Ok(Engine {
            arena,
            patches: alloc::vec::Vec::new(),
            hooks: Registry::new(),
            search_exception_tables,
            last_install: None,
            last_revert: None,
        })
    }

    pub(crate) fn patches(&self) -> impl Iterator<Item = &Patch> {
        self.patches.iter().map(|p| &**p)
    }

    pub(crate) fn find(&self, start: usize) -> Option<&Patch> {
        self.patches().find(|p| p.func.start == start)
    }

    /// The patch installed under `name`.
    pub(crate) fn find_name(&self, name: &CStr) -> Option<&Patch> {
        self.patches().find(|p| p.name == name.as_bytes())
    }

    pub(crate) fn arena_used(&self) -> usize {
        self.arena.used()
    }

    fn has_fixup(&self, addr: u64) -> bool {
        // SAFETY: an arena thunk to search_exception_tables(unsigned long),
        // which returns a pointer (NULL when there is no entry).
        let f: extern "C" fn(u64) -> *const u8 = unsafe { core::mem::transmute(self.search_exception_tables as usize) };
        !f(addr).is_null()
    }

    /// Plans `name`, its kprobes checks made in `probes` (removed with the
    /// set). The error is None when out of memory.
    pub(crate) fn plan_in(&self, probes: &mut Probes, name: &CStr) -> core::result::Result<Planned, Option<Unresolved>> {
        let func = probes.symbol(name).map_err(Some)?;
        self.plan_function(probes, func)
    }

    /// Plans `func` as it is in memory now, its kprobes checks made in
    /// `probes`. The error is None when out of memory.
    fn plan_function(&self, probes: &mut Probes, func: Function) -> core::result::Result<Planned, Option<Unresolved>> {
        let len = func.size.min(MAX_FUNCTION);
        let mut code = crate::vec_filled(len, 0u8).map_err(|_| None)?;
        text::read(func.start as u64, &mut code).map_err(|e| Some(Unresolved::Other(e)))?;
        let facts = Facts { ibt: ibt(), fentry: func.fentry, has_fixup: &|a| self.has_fixup(a) };
        let result = markplan::plan::plan(&code, func.start as u64, &facts);
        let mut probe_refused = None;
        if let Ok(plan) = &result {
            let mut addrs = [0usize; MAX_REGION];
            for (k, i) in plan.insns.iter().enumerate() {
                addrs[k] = (plan.addr + i.offset as u64) as usize;
            }
            probe_refused = probes.check(&addrs[..plan.m()]).err();
        }
        Ok(Planned { func, code, result, probe_refused })
    }

    /// Installs `spec` on `name`, or replaces the hook of its patch.
    /// Returns true when an existing patch's hook was replaced.
    pub(crate) fn install(&mut self, name: &CStr, spec: HookSpec<'_>, desc: &str) -> core::result::Result<bool, Failure> {
        if let Some(i) = self.patches.iter().position(|p| p.name == name.as_bytes()) {
            self.replace_hook(i, spec, desc)?;
            return Ok(true);
        }
        let start = cost::start();
        // One set of kprobes for the lookup and the region's checks: one
        // grace period, taken when the set is dropped, before any write.
        let mut probes = Probes::new(1 + MAX_REGION).map_err(|e| Failure::new(e, "out of memory"))?;
        let func = probes.symbol(name).map_err(|u| Failure::new(u.errno(), u.what()))?;
        if let Some(i) = self.patches.iter().position(|p| p.func.start == func.start) {
            drop(probes);
            self.replace_hook(i, spec, desc)?;
            return Ok(true);
        }
        let index = LIVE
            .iter()
            .position(|p| p.load(Ordering::Relaxed).is_null())
            .ok_or(Failure::new(ENOSPC, "patch table full"))?;
        let planned = self.plan_function(&mut probes, func).map_err(|u| match u {
            Some(u) => Failure::new(u.errno(), "cannot read the function"),
            None => Failure::new(ENOMEM, "out of memory"),
        })?;
        // Unregistering the probes waits for a grace period.
        sync::timed(|| drop(probes));
        if let Some((_, e)) = planned.probe_refused {
            return Err(Failure::new(
                errno::EOPNOTSUPP(),
                if e == EBUSY {
                    "an armed kprobe (int3 or optimized jump) is on an instruction of the region"
                } else {
                    "kprobes refuses an instruction of the region (jump label, static call, bug entry or blacklisted)"
                },
            ));
        }
        // SAFETY: reads a module parameter.
        let naive = unsafe { markpatch_param_naive_unsafe() };
        let plan = if naive {
            let facts = Facts { ibt: ibt(), fentry: func.fentry, has_fixup: &|a| self.has_fixup(a) };
            markplan::naive::plan(&planned.code, func.start as u64, &facts).map_err(Failure::refused)?
        } else {
            planned.result.map_err(Failure::refused)?
        };
        let slot = self
            .arena
            .alloc(16 + pseudo_original::max_len(&plan, ibt()))
            .map_err(|e| Failure::new(e, "executable arena full"))?;
        // On failure the slot is free again (a rollback has unlinked the
        // patch and waited until nothing can run its stub or P).
        let m = plan.m();
        let result = self.install_in(name, func, planned.code, plan, slot, index, spec, desc, naive);
        text::flush_aliases();
        if matches!(&result, Err(f) if !f.keep_slot) {
            self.arena.free(slot);
        }
        let write_ns = result?;
        self.last_install = Some(OpCost::finish(name.as_bytes(), m, self.patches.len() - 1, start, write_ns));
        Ok(false)
    }

    #[allow(clippy::too_many_arguments)]
    fn install_in(
        &mut self,
        name: &CStr,
        func: Function,
        code: alloc::vec::Vec<u8>,
        plan: Plan,
        slot: Slot,
        index: usize,
        spec: HookSpec<'_>,
        desc: &str,
        naive: bool,
    ) -> core::result::Result<u64, Failure> {
        let stub_addr = slot.addr;
        let p_addr = slot.addr + 16;
        let pseudo = pseudo_original::build(&plan, &code, func.start as u64, p_addr, ibt()).map_err(Failure::refused)?;
        if let Err(mismatch) = pseudo_original::verify(&plan, &code, p_addr, ibt(), &pseudo) {
            pr_err!("{}\n", mismatch);
            return Err(Failure::new(EINVAL, "pseudo-original failed its self-check"));
        }
        let stub = stub_bytes(stub_addr, index as u32, markpatch_resolver_entry as *const () as u64)
            .ok_or(Failure::new(ERANGE, "resolver out of reach of the stub"))?;
        // The slot: stub, int3 padding to 16, then P.
        let mut bytes = crate::vec_filled(16 + pseudo.len(), INT3)?;
        bytes[..STUB_LEN].copy_from_slice(&stub);
        bytes[16..].copy_from_slice(&pseudo.bytes);
        self.arena.fill(slot, &bytes).map_err(|e| Failure::new(e, "cannot write the arena"))?;

        let m = plan.m();
        // The direct method has no marks: the resolver sees a region of one
        // instruction, so every caller of the stub is a new call.
        let live_m = if naive { 1 } else { m };
        let mut live = KBox::new(
            Live {
                m: live_m,
                insn_addr: [0; MAX_REGION],
                effects: [0; MAX_REGION],
                realign: plan.realign,
                entries: [0; MAX_REGION],
                trap: [const { AtomicBool::new(false) }; MAX_REGION],
                hook: AtomicPtr::new(core::ptr::null_mut()),
                calls: AtomicU64::new(0),
                module_ret: AtomicU64::new(0),
                partial: AtomicU64::new(0),
                traps: AtomicU64::new(0),
                inconsistent: AtomicU64::new(0),
            },
            GFP_KERNEL,
        )?;
        for (k, i) in plan.insns.iter().enumerate().take(live_m) {
            live.insn_addr[k] = plan.addr + i.offset as u64;
            live.effects[k] = i.stack_effect;
            live.entries[k] = p_addr + pseudo.entries[k] as u64;
        }
        let original = live.entries[0];
        let cfg = self.hooks.make_config(spec, desc, original).map_err(|e| Failure::new(e, "no such hook"))?;
        live.hook.store(core::ptr::from_ref(&*cfg).cast_mut(), Ordering::Release);

        let mut name_v = crate::vec_filled(name.as_bytes().len(), 0u8)?;
        name_v.copy_from_slice(name.as_bytes());
        let mut patch = KBox::new(
            Patch { name: name_v, func, index, live, plan, pseudo, slot, p_addr, stub_addr, cfg: Some(cfg), state: State::Installing, naive },
            GFP_KERNEL,
        )?;
        self.patches.try_reserve(1).map_err(|_| Failure::new(ENOMEM, "out of memory"))?;
        LIVE[index].store(core::ptr::from_ref(&*patch.live).cast_mut(), Ordering::Release);

        if naive {
            // One ordinary copy over the span while other CPUs may be
            // running it: the method markpatch replaces. Tests only.
            let write_start = cost::now_ns();
            let result = patch.naive_span().and_then(|(old, new)| text::copy_bytes(patch.insn_addr(0), &old, &new));
            if let Err(e) = result {
                unlink_and_free(patch, false);
                return Err(Failure::new(e, "the direct method's write failed"));
            }
            pr_warn!("{}: installed with the UNSAFE direct method (naive_unsafe=1, tests only)\n", patch.name());
            patch.state = State::Installed;
            self.patches.push(patch);
            return Ok(cost::now_ns() - write_start);
        }

        // IM first, then IM-1 .. I1.
        let delay = || {
            // SAFETY: reads a module parameter.
            let ms = unsafe { markpatch_param_install_delay_ms() };
            if ms > 0 {
                sync::sleep_ms(ms);
            }
        };
        let write_start = cost::now_ns();
        for k in (0..m).rev() {
            let result = patch.replacement(k).and_then(|new| write_insn(&patch, k, &patch.plan.insns[k].original, &new));
            if let Err(e) = result {
                pr_err!("{}: writing I{} at +{:#x} failed ({}); rolling back\n", patch.name(), k + 1, patch.plan.insns[k].offset, e.to_errno());
                // Undo what was written: the suffix k+1..m, and Ik itself
                // when the int3 protocol left it part-way.
                let from = if patch.live.trap[k].load(Ordering::SeqCst) { k } else { k + 1 };
                if let Err(re) = restore(&mut patch, from) {
                    abandon(patch, re);
                    return Err(Failure { keep_slot: true, ..Failure::new(e, "the code changed under us, and the rollback failed") });
                }
                unlink_and_free(patch, true);
                return Err(Failure::new(if e == EBUSY { EBUSY } else { e }, "the code changed under us"));
            }
            if k > 0 {
                delay();
            }
        }
        let write_ns = cost::now_ns() - write_start;
        patch.state = State::Installed;
        // Cannot fail: reserved above.
        self.patches.push(patch);
        Ok(write_ns)
    }

    fn replace_hook(&mut self, i: usize, spec: HookSpec<'_>, desc: &str) -> core::result::Result<(), Failure> {
        let original = self.patches[i].live.entries[0];
        let cfg = self.hooks.make_config(spec, desc, original).map_err(|e| Failure::new(e, "no such hook"))?;
        let patch = &mut self.patches[i];
        patch.live.hook.store(core::ptr::from_ref(&*cfg).cast_mut(), Ordering::Release);
        let old = patch.cfg.replace(cfg);
        if let Some(old) = old {
            retire_config(old);
        }
        Ok(())
    }

    /// Reverts the patch on `name` (ENOENT when there is none).
    pub(crate) fn revert(&mut self, name: &CStr) -> Result {
        let i = match self.patches.iter().position(|p| p.name == name.as_bytes()) {
            Some(i) => i,
            // Another name of a patched function.
            None => {
                let func = symbol::resolve(name)?;
                self.patches.iter().position(|p| p.func.start == func.start).ok_or(ENOENT)?
            }
        };
        let patch = self.patches.remove(i);
        self.revert_patch(patch)
    }

    fn revert_patch(&mut self, mut patch: KBox<Patch>) -> Result {
        let start = cost::start();
        patch.state = State::Reverting;
        let restored = if patch.naive { restore_naive(&mut patch) } else { restore(&mut patch, 0) };
        let write_ns = cost::now_ns() - start.ns();
        text::flush_aliases();
        if let Err(e) = restored {
            abandon(patch, e);
            return Err(e);
        }
        if restored_ok(&patch) {
            pr_info!("{}: reverted; original bytes restored and verified\n", patch.name());
        } else {
            pr_err!("{}: revert incomplete: the bytes differ from the saved originals\n", patch.name());
        }
        // restore() waited for an RCU-tasks grace period after unpublishing
        // the hook; the direct method's revert did not.
        let quiesced = !patch.naive;
        let m = patch.plan.m();
        let mut name = [0u8; 64];
        let name_len = patch.name.len().min(name.len());
        name[..name_len].copy_from_slice(&patch.name[..name_len]);
        let slot = unlink_and_free(patch, quiesced);
        self.arena.free(slot);
        self.last_revert = Some(OpCost::finish(&name[..name_len], m, self.patches.len(), start, write_ns));
        Ok(())
    }

    /// Reverts every patch on a function in [start, end); returns how many.
    pub(crate) fn revert_range(&mut self, start: usize, end: usize) -> usize {
        let mut n = 0;
        while let Some(i) = self.patches.iter().position(|p| (start..end).contains(&p.func.start)) {
            let patch = self.patches.remove(i);
            let _ = self.revert_patch(patch);
            n += 1;
        }
        n
    }

    /// Reverts every patch (rmmod).
    pub(crate) fn revert_all(&mut self) {
        while let Some(patch) = self.patches.pop() {
            let _ = self.revert_patch(patch);
        }
    }

    /// Whether a patch uses the registered hook `name`.
    pub(crate) fn hook_in_use(&self, name: &[u8]) -> bool {
        self.patches().any(|p| p.hook_desc().as_bytes() == name)
    }
}

/// Writes `new` over Ik (expecting `old`), with the method its plan says.
fn write_insn(patch: &Patch, k: usize, old: &[u8], new: &[u8]) -> Result {
    let addr = patch.insn_addr(k);
    // SAFETY: reads a module parameter.
    let int3_only = unsafe { markpatch_param_int3_writes() };
    match patch.plan.insns[k].write {
        WriteMethod::Window8 { .. } | WriteMethod::Window16 { .. } if !int3_only => {
            text::cmpxchg_bytes(addr, old, new)
        }
        _ => {
            // int3 over the first byte; the other bytes; the first byte.
            patch.live.trap[k].store(true, Ordering::SeqCst);
            let r = text::cmpxchg_bytes(addr, &old[..1], &[INT3])
                .and_then(|()| text::copy_bytes(addr + 1, &old[1..], &new[1..]))
                .and_then(|()| text::cmpxchg_bytes(addr, &[INT3], &new[..1]));
            if r.is_ok() {
                // The last write serialised every CPU: none is still in the
                // handler for this int3.
                patch.live.trap[k].store(false, Ordering::SeqCst);
            }
            r
        }
    }
}

/// The revert protocol over Ik for k >= `from` (the instructions that were
/// written; all of them for a revert, a suffix for a failed install).
fn restore(patch: &mut Patch, from: usize) -> Result {
    let m = patch.plan.m();
    // New calls run the original from now on.
    patch.live.hook.store(core::ptr::null_mut(), Ordering::Release);
    let mut current: [[u8; 15]; MAX_REGION] = [[0; 15]; MAX_REGION];
    for k in from..m {
        let len = patch.plan.insns[k].len;
        text::read(patch.insn_addr(k), &mut current[k][..len])?;
    }
    // 1. int3 over every first byte.
    for k in from..m {
        patch.live.trap[k].store(true, Ordering::SeqCst);
        let first = current[k][0];
        if first != INT3 {
            text::cmpxchg_bytes(patch.insn_addr(k), &[first], &[INT3])?;
        }
    }
    // 2. No task is inside a NOP filler any more.
    sync::synchronize_rcu_tasks();
    // 3. Bytes 2.. of every Ik (nobody executes them now).
    for k in from..m {
        let i = &patch.plan.insns[k];
        text::copy_bytes(patch.insn_addr(k) + 1, &current[k][1..i.len], &i.original[1..])?;
    }
    // 4. Every first byte.
    for k in from..m {
        let i = &patch.plan.insns[k];
        text::cmpxchg_bytes(patch.insn_addr(k), &[INT3], &i.original[..1])?;
    }
    for k in from..m {
        patch.live.trap[k].store(false, Ordering::SeqCst);
    }
    Ok(())
}

/// Whether the region holds exactly the saved original bytes.
/// The direct method's revert: the original bytes back with one ordinary
/// copy (tests only, as unsafe as its install).
fn restore_naive(patch: &mut Patch) -> Result {
    patch.live.hook.store(core::ptr::null_mut(), Ordering::Release);
    let (original, new) = patch.naive_span()?;
    text::copy_bytes(patch.insn_addr(0), &new, &original)
}

fn restored_ok(patch: &Patch) -> bool {
    patch.plan.insns.iter().all(|i| {
        let mut b = [0u8; 15];
        text::read(patch.plan.addr + i.offset as u64, &mut b[..i.len]).is_ok() && b[..i.len] == i.original[..]
    })
}

/// A patch whose bytes could not be put back (someone else wrote the text
/// meanwhile): it stays linked, with its stub, P and int3 handling, for as
/// long as the module lives, since callers may still reach it. Its memory is
/// leaked on purpose; dmesg says so.
fn abandon(patch: KBox<Patch>, e: Error) {
    pr_err!(
        "{}: cannot restore the original bytes (errno {}); the patch stays linked and its memory is kept\n",
        patch.name(),
        e.to_errno()
    );
    let _ = KBox::into_raw(patch);
}

/// Waits until nothing can run `cfg` any more, then drops it.
fn retire_config(cfg: KBox<HookConfig>) {
    // Callers that loaded the old pointer have entered its trampoline (and
    // counted themselves in flight) or left.
    sync::synchronize_rcu_tasks();
    retire_quiesced_config(cfg);
}

/// Drops `cfg` once unpublished for an RCU-tasks grace period already:
/// waits for its hook calls in flight, then for the last instructions of
/// the trampolines after the count (and anything still in a stub or P).
fn retire_quiesced_config(cfg: KBox<HookConfig>) {
    crate::hooks::wait_idle(&cfg);
    sync::synchronize_rcu_tasks();
    drop(cfg);
}

/// Unlinks a patch whose bytes are restored and frees it once no task can
/// run its stub, P or hook; returns its arena slot, free to reuse now.
/// `quiesced`: the hook was unpublished and an RCU-tasks grace period has
/// passed since (restore() does both), so every caller that loaded it has
/// entered its trampoline or left.
fn unlink_and_free(mut patch: KBox<Patch>, quiesced: bool) -> Slot {
    crate::resolver::retire(&patch.live);
    LIVE[patch.index].store(core::ptr::null_mut(), Ordering::Release);
    // int3 handlers (interrupts off) that saw the patch are done.
    sync::synchronize_rcu();
    if let Some(cfg) = patch.cfg.take() {
        if quiesced {
            retire_quiesced_config(cfg);
        } else {
            retire_config(cfg);
        }
    } else {
        sync::synchronize_rcu_tasks();
    }
    if patch.live.inconsistent.load(Ordering::Relaxed) != 0 {
        pr_err!("{}: {} stack(s) fit no mark count\n", patch.name(), patch.live.inconsistent.load(Ordering::Relaxed));
    }
    let slot = patch.slot;
    drop(patch);
    slot
}

const _: () = assert!(MAX_PATCHES <= i32::MAX as usize);
