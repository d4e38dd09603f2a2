// SPDX-License-Identifier: GPL-2.0

//! The patching engine: the table of patches and the life of each, in
//! process context, the caller holding the engine lock (crate::ui::control
//! serialises every call). A patch's life, named as kprobes and livepatch
//! name theirs:
//!
//!   plan     -> [`verdict`]: may the function be patched, and how
//!   prepare  -> [`prepare`]: stub and pseudo-original in the arena, the
//!               patch published in the LIVE table (state Installing)
//!   arm      -> [`arm`]: IM, then IM-1..I1 rewritten (Installed)
//!   disarm   -> [`disarm`]: the original bytes back (Reverting)
//!   retire   -> [`retire`]: unlinked and freed once nothing can run it
//!               (or kept for good: Abandoned)
//!
//! The direct method ([`direct`], tests only) replaces arm and disarm.
//! What runs in a caller's context is crate::runtime. The correctness
//! argument is docs/design.md.

pub(crate) mod arm;
pub(crate) mod cold_part;
pub(crate) mod cost;
pub(crate) mod dependencies;
pub(crate) mod direct;
pub(crate) mod disarm;
pub(crate) mod insn_write;
pub(crate) mod patch;
pub(crate) mod prepare;
pub(crate) mod retire;
pub(crate) mod symbol_class;
pub(crate) mod verdict;

use core::sync::atomic::Ordering;
use kernel::prelude::*;
use kernel::str::CStr;
use markplan::input::HookSpec;
use markplan::plan::{Facts, MAX_REGION};
use markplan::refusal::Refusal;

use self::arm::{ArmError, InsnAt};
use self::cold_part::ColdPart;
use self::cost::OpCost;
use self::dependencies::Dependencies;
use self::symbol_class::{Class, SymbolClasses};
use self::patch::{Method, Patch, State};
use self::prepare::Request;
use self::verdict::{Planned, Verdict};
use crate::bindings;
use crate::hooks::Registry;
use crate::ksys::probes::Probes;
use crate::ksys::symbol::{self, Function, Unresolved};
use crate::ksys::wait;
use crate::runtime::kernel_text::{CORE_TEXT, KERNEL_TEXT_ADDRESS, KERNEL_TEXT_ADDRESS_LIKE, MODULE_TEXT_ADDRESS};
use crate::runtime::live;
use crate::text::{self, arena::ExecArena};

/// The largest function read whole (for the planner's branch scan).
const MAX_FUNCTION: usize = 256 * 1024;

fn ibt() -> bool {
    // SAFETY: reads a compile-time constant.
    unsafe { bindings::markpatch_config_ibt() }
}

/// What the planner is told of `func` as it is in this kernel: one answer
/// for `plan` and `install`.
fn facts<'a>(func: &Function, has_fixup: &'a dyn Fn(u64) -> bool, cold: Option<&'a ColdPart>) -> Facts<'a> {
    Facts { ibt: ibt(), fentry: func.fentry, has_fixup, cold: cold.map(ColdPart::as_fact) }
}

/// Why an install did not happen.
pub(crate) enum Failure {
    /// The function may not be patched: the verdict says why.
    Refused(Verdict),
    /// An errno, and the reason for dmesg; `at`: the instruction whose
    /// write failed, if that is what failed.
    Failed { err: Error, what: &'static str, at: Option<InsnAt> },
}

impl Failure {
    pub(crate) fn new(err: Error, what: &'static str) -> Self {
        Failure::Failed { err, what, at: None }
    }

    fn refused(r: Refusal) -> Self {
        Failure::Refused(Verdict::Refused(r))
    }

    pub(crate) fn errno(&self) -> Error {
        match self {
            Failure::Refused(v) => v.errno().unwrap_or(EINVAL),
            Failure::Failed { err, .. } => *err,
        }
    }
}

impl From<Error> for Failure {
    fn from(err: Error) -> Self {
        Failure::new(err, "failed")
    }
}

impl From<kernel::alloc::AllocError> for Failure {
    fn from(_: kernel::alloc::AllocError) -> Self {
        Failure::new(ENOMEM, "out of memory")
    }
}

/// What a revert did.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Reverted {
    /// The original bytes are back and the patch is freed.
    Done,
    /// The original bytes are back, but a filter call that started before
    /// is still in its hook: the patch stays listed, `reverting`, until
    /// the calls return (its hook may still call the pseudo-original).
    Draining,
}

/// What an install did.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Installed {
    /// A new patch, its region written.
    New,
    /// The function was patched already: its hook was replaced in place,
    /// no code rewritten.
    Replaced,
}

/// How the search_exception_tables thunk is called.
type SearchExceptionTables = extern "C" fn(u64) -> *const u8;
/// Of type [`SearchExceptionTables`]: the thunk gets its kCFI preamble.
const SEARCH_EXCEPTION_TABLES_LIKE: SearchExceptionTables = search_exception_tables_like;
extern "C" fn search_exception_tables_like(_: u64) -> *const u8 {
    core::ptr::null()
}

/// Every patch, and what making them needs.
pub(crate) struct Engine {
    arena: ExecArena,
    patches: alloc::vec::Vec<KBox<Patch>>,
    pub(crate) hooks: Registry,
    /// search_exception_tables(), through an arena thunk.
    search_exception_tables: u64,
    /// What markpatch runs on, never patched.
    pub(crate) dependencies: Dependencies,
    /// Which kernel functions are not C functions.
    classes: SymbolClasses,
    /// What the last install and the last revert cost.
    pub(crate) last_install: Option<OpCost>,
    pub(crate) last_revert: Option<OpCost>,
}

impl Engine {
    pub(crate) fn new() -> Result<Self> {
        crate::text::kcfi::check_kernel()?;
        let mut arena = ExecArena::new()?;
        let (kta, kln) = (KERNEL_TEXT_ADDRESS_LIKE as usize, symbol::KALLSYMS_LOOKUP_NAME_LIKE as usize);
        KERNEL_TEXT_ADDRESS.store(arena.thunk(kernel::c_str!("kernel_text_address"), kta)?, Ordering::Release);
        symbol::KALLSYMS_LOOKUP_NAME.store(arena.thunk(kernel::c_str!("kallsyms_lookup_name"), kln)?, Ordering::Release);
        let mta = bindings::markpatch_module_text_address_like as *const () as usize;
        MODULE_TEXT_ADDRESS.store(arena.thunk(kernel::c_str!("__module_text_address"), mta)?, Ordering::Release);
        let core_text = [kernel::c_str!("_stext"), kernel::c_str!("_etext")].map(symbol::kallsyms_address);
        if let [Some(start), Some(end)] = core_text {
            CORE_TEXT[0].store(start as u64, Ordering::Relaxed);
            CORE_TEXT[1].store(end as u64, Ordering::Release);
        }
        let search_exception_tables = arena.thunk(kernel::c_str!("search_exception_tables"), SEARCH_EXCEPTION_TABLES_LIKE as usize)?;
        let classes = SymbolClasses::load()?;
        let dependencies = Dependencies::find()?;
        let (assembly, jump_entered) = SymbolClasses::counts();
        pr_info!(
            "{} kernel functions are markpatch's own dependencies, never patched; {} are written in assembly (count only), {} entered by a jump (never patched)\n",
            dependencies.kernel_functions(),
            assembly,
            jump_entered
        );
        Ok(Engine {
            dependencies,
            classes,
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

    /// The patch on the function that starts at `start`.
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
        let f: SearchExceptionTables = unsafe { core::mem::transmute(self.search_exception_tables as usize) };
        !f(addr).is_null()
    }

    /// The verdict on `name` as it is in memory now, its kprobes checks
    /// made in `probes` (removed with the set).
    pub(crate) fn plan(&self, probes: &mut Probes, name: &CStr) -> Result<Planned> {
        match probes.find(name) {
            Ok(func) => self.plan_function(probes, name, func),
            Err(Unresolved::Other(e)) if e == ENOMEM => Err(e),
            Err(u) => Ok(Planned {
                func: None,
                class: Class::C,
                code: alloc::vec::Vec::new(),
                cold: None,
                verdict: Verdict::Unresolved(u),
            }),
        }
    }

    fn plan_function(&self, probes: &mut Probes, name: &CStr, func: Function) -> Result<Planned> {
        let mut code = crate::vec_filled(func.size.min(MAX_FUNCTION), 0u8)?;
        text::read(func.start as u64, &mut code)?;
        let class = if cold_part::is_cold_part(name) { Class::JumpEntered } else { self.classes.of(func.start) };
        if self.dependencies.contains(func.start) {
            return Ok(Planned { func: Some(func), class, code, cold: None, verdict: Verdict::Dependency });
        }
        if class == Class::JumpEntered {
            return Ok(Planned { func: Some(func), class, code, cold: None, verdict: Verdict::JumpEntered });
        }
        let cold = ColdPart::find(name)?;
        let has_fixup = |a| self.has_fixup(a);
        let facts = facts(&func, &has_fixup, cold.as_ref());
        // iced-x86 decodes; its allocations go to the reserve (ENOMEM).
        let planned = crate::ksys::reserve::run(|| markplan::plan::plan(&code, func.start as u64, &facts))?;
        let verdict = match planned {
            Err(r) => Verdict::Refused(r),
            Ok(plan) => {
                let mut addrs = [0usize; MAX_REGION];
                for (k, a) in addrs.iter_mut().enumerate().take(plan.m()) {
                    *a = (plan.addr + plan.insns[k].offset as u64) as usize;
                }
                match probes.check(&addrs[..plan.m()]) {
                    Ok(()) => Verdict::Plannable(plan),
                    Err((k, err)) => Verdict::KprobesRefuses { k, offset: plan.insns[k].offset, err },
                }
            }
        };
        Ok(Planned { func: Some(func), class, code, cold, verdict })
    }

    /// Installs `spec` on `name`, or replaces the hook of its patch.
    /// `on_staged` runs once the new patch is linked, before its first
    /// write (the caller shows it to the user then).
    pub(crate) fn install(
        &mut self,
        name: &CStr,
        spec: HookSpec<'_>,
        desc: &str,
        on_staged: impl FnOnce(&Patch) -> Result,
    ) -> Result<Installed, Failure> {
        if let Some(i) = self.patches.iter().position(|p| p.name == name.as_bytes()) {
            self.replace_hook(i, spec, desc)?;
            return Ok(Installed::Replaced);
        }
        let start = cost::start();
        // One set of kprobes for the lookup and the region's checks: one
        // grace period, taken when the set is dropped, before any write.
        let mut probes = Probes::new(1 + MAX_REGION).map_err(|e| Failure::new(e, "out of memory"))?;
        let func = probes.find(name).map_err(|u| Failure::Refused(Verdict::Unresolved(u)))?;
        if let Some(i) = self.patches.iter().position(|p| p.func.start == func.start) {
            drop(probes);
            self.replace_hook(i, spec, desc)?;
            return Ok(Installed::Replaced);
        }
        self.hook_allowed(func.start, spec)?;
        let index = live::free_index().ok_or(Failure::new(ENOSPC, "patch table full"))?;
        let planned = self.plan_function(&mut probes, name, func).map_err(|e| match e {
            e if e == ENOMEM => Failure::new(e, "out of memory"),
            e => Failure::new(e, "cannot read the function"),
        })?;
        // Unregistering the probes waits for a grace period.
        wait::timed(|| drop(probes));
        // SAFETY: reads a module parameter.
        let method = if unsafe { bindings::markpatch_param_naive_unsafe() } { Method::Direct } else { Method::Marks };
        let has_fixup = |a| self.has_fixup(a);
        let facts = facts(&func, &has_fixup, planned.cold.as_ref());
        let plan = match (planned.verdict, method) {
            (v @ (Verdict::KprobesRefuses { .. } | Verdict::Dependency | Verdict::JumpEntered), _) => {
                return Err(Failure::Refused(v))
            }
            (_, Method::Direct) => direct::plan(&planned.code, func.start as u64, &facts)?,
            (Verdict::Plannable(plan), Method::Marks) => plan,
            (v, Method::Marks) => return Err(Failure::Refused(v)),
        };
        let m = plan.m();
        self.patches.try_reserve(1).map_err(|_| Failure::new(ENOMEM, "out of memory"))?;
        // Every write of the install, and of its rollback, goes through
        // aliases made now: none of them can fail for want of memory.
        let mut held = text::HeldAliases::new();
        held.hold_region(&plan).and_then(|()| held.hold_arena()).map_err(|e| Failure::new(e, "out of memory"))?;
        let request = Request { name, func, code: &planned.code, plan, index, method, spec, desc, ibt: ibt() };
        let patch = prepare::prepare(&mut self.arena, &self.hooks, request)?;
        let result = on_staged(&patch).map_err(|e| Failure::new(e, "cannot create its sysfs directory")).and_then(|()| {
            match method {
                Method::Marks => arm::arm(&patch).map_err(|e| self.arm_failed(&patch, e)),
                Method::Direct => direct::arm(&patch).map_err(|e| Failure::new(e, "the direct method's write failed")),
            }
        });
        let outcome = match result {
            Ok(write_ns) => {
                patch.set_state(State::Installed);
                self.patches.push(patch);
                self.last_install = Some(OpCost::finish(cost::OpName::new(name.as_bytes()), m, self.patches.len() - 1, start, write_ns));
                Ok(Installed::New)
            }
            Err(f) if patch.state() == State::Abandoned => {
                self.patches.push(patch);
                Err(f)
            }
            Err(f) => {
                // Nothing was written, or all of it was undone (and the
                // rollback waited for an RCU-tasks grace period).
                let slot = retire::unlink(patch, method == Method::Marks);
                self.arena.free(slot);
                Err(f)
            }
        };
        drop(held);
        text::flush_aliases();
        outcome
    }

    /// A failed arm: the failure to report, the patch abandoned when its
    /// bytes could not be put back.
    fn arm_failed(&self, patch: &Patch, e: ArmError) -> Failure {
        match e {
            ArmError::RolledBack { err, at } => Failure::Failed { err, what: "the code changed under us; rolled back", at: Some(at) },
            ArmError::Stuck { err, at } => {
                retire::abandon(patch, err);
                Failure::Failed { err, what: "the code changed under us, and the rollback failed", at: Some(at) }
            }
        }
    }

    /// Whether `spec` may run for the function that starts at `start`:
    /// only `count` for one written in assembly; no filter hook that
    /// calls the function itself.
    fn hook_allowed(&self, start: usize, spec: HookSpec<'_>) -> Result<(), Failure> {
        if self.classes.of(start) == Class::Assembly && !matches!(spec, HookSpec::Count) {
            return Err(Failure::Refused(Verdict::CountOnly));
        }
        if let HookSpec::Named(name) = spec {
            if self.hooks.reaches(name, start) {
                return Err(Failure::Refused(Verdict::HookDependency));
            }
        }
        Ok(())
    }

    fn replace_hook(&mut self, i: usize, spec: HookSpec<'_>, desc: &str) -> Result<(), Failure> {
        self.hook_allowed(self.patches[i].func.start, spec)?;
        let patch = &mut self.patches[i];
        if patch.state() == State::Abandoned {
            return Err(Failure::new(EBUSY, "abandoned: its original bytes could not be restored"));
        }
        if patch.state() == State::Reverting {
            return Err(Failure::new(EBUSY, "still reverting: a call of its hook is in flight"));
        }
        let cfg = self.hooks.make_config(spec, desc, patch.live.entries[0]).map_err(|e| Failure::new(e, "no such hook"))?;
        patch.live.hook.store(core::ptr::from_ref(&*cfg).cast_mut(), Ordering::Release);
        if let Some(old) = patch.cfg.replace(cfg) {
            retire::retire_config(old);
        }
        Ok(())
    }

    /// Reverts the patch on `start` (ENOENT when there is none). EBUSY,
    /// the patch left as it is, when another writer's bytes are in its
    /// region (a kprobe, ftrace, another patcher): restoring over them
    /// would destroy theirs, and theirs would later bring ours back. An
    /// abandoned patch is tried again.
    pub(crate) fn revert(&mut self, start: usize) -> Result<Reverted> {
        let i = self.patches.iter().position(|p| p.func.start == start).ok_or(ENOENT)?;
        if self.patches[i].state() == State::Reverting {
            return Ok(if self.try_finish(i) { Reverted::Done } else { Reverted::Draining });
        }
        self.revert_check(i)?;
        let patch = self.patches.remove(i);
        self.revert_patch(patch)
    }

    /// Reverts the patches on `starts` together: each step of the revert is
    /// taken for all of them before the next, so that the batch waits for
    /// one grace period of each kind instead of three per patch. A patch
    /// that cannot go with the batch (a direct-method, abandoned or
    /// draining one) is reverted alone; one with another writer's bytes in
    /// its region is left installed. Returns the first error; dmesg says
    /// what happened to each.
    pub(crate) fn revert_many(&mut self, starts: &[usize]) -> Result {
        let mut first_err: Option<Error> = None;
        let mut batch: alloc::vec::Vec<(KBox<Patch>, disarm::Disarming)> = alloc::vec::Vec::new();
        batch.try_reserve_exact(starts.len()).map_err(|_| ENOMEM)?;
        let mut held = text::HeldAliases::new();
        held.hold_arena()?;
        for &start in starts {
            let Some(i) = self.patches.iter().position(|p| p.func.start == start) else {
                first_err.get_or_insert(ENOENT);
                continue;
            };
            let p = &self.patches[i];
            if p.method != Method::Marks || p.state() != State::Installed {
                match self.revert(start) {
                    Ok(Reverted::Done) => {}
                    Ok(Reverted::Draining) => {
                        first_err.get_or_insert(EBUSY);
                    }
                    Err(e) => {
                        first_err.get_or_insert(e);
                    }
                }
                continue;
            }
            if let Err(e) = self.revert_check(i) {
                first_err.get_or_insert(e);
                continue;
            }
            if let Err(e) = held.hold_region(&self.patches[i].plan) {
                first_err.get_or_insert(e);
                continue;
            }
            let patch = self.patches.remove(i);
            patch.set_state(State::Reverting);
            match disarm::begin(&patch, 0) {
                Ok(d) => batch.push((patch, d)),
                Err(e) => {
                    first_err.get_or_insert(e);
                    self.keep_abandoned(patch, e, false);
                }
            }
        }
        if batch.is_empty() {
            return first_err.map_or(Ok(()), Err);
        }
        wait::synchronize_rcu_tasks();
        let mut done: alloc::vec::Vec<KBox<Patch>> = alloc::vec::Vec::new();
        // Cannot fail: as many as `batch` holds, which was reserved as much.
        let _ = done.try_reserve_exact(batch.len());
        for (patch, d) in batch {
            if let Err(e) = disarm::finish(&patch, &d) {
                first_err.get_or_insert(e);
                self.keep_abandoned(patch, e, false);
                continue;
            }
            self.log_restored(&patch);
            if patch.calls_in_flight() && self.patches.try_reserve(1).is_ok() {
                first_err.get_or_insert(EBUSY);
                pr_info!("revert: {}: a call of its hook is still in flight: the patch stays reverting until it returns\n", patch.name());
                self.patches.push(patch);
            } else if done.try_reserve(1).is_ok() {
                done.push(patch);
            } else {
                self.free_reverted(patch);
            }
        }
        let arena = &mut self.arena;
        retire::unlink_many(done, |slot| arena.free(slot));
        drop(held);
        text::flush_aliases();
        first_err.map_or(Ok(()), Err)
    }

    /// EBUSY, with one dmesg line, when another writer's bytes are in the
    /// region of the patch at `i` (see [`Engine::revert`]).
    fn revert_check(&self, i: usize) -> Result {
        if let Some(at) = self.foreign(&self.patches[i])? {
            let p = &self.patches[i];
            pr_warn!(
                "{}: revert refused: I{} at +{:#x} holds bytes markpatch did not write (a kprobe, ftrace or another patcher); the patch stays {}: revert again once that writer is gone\n",
                p.name(),
                at.k + 1,
                at.offset,
                p.state().name()
            );
            return Err(EBUSY);
        }
        Ok(())
    }

    /// Keeps a patch whose bytes could not be put back, listed as
    /// abandoned (it was already when `was_abandoned`: no second pin).
    fn keep_abandoned(&mut self, patch: KBox<Patch>, e: Error, was_abandoned: bool) {
        if was_abandoned {
            patch.set_state(State::Abandoned);
            pr_err!("{}: still cannot restore the original bytes (errno {})\n", patch.name(), e.to_errno());
        } else {
            retire::abandon(&patch, e);
        }
        // Kept linked: in the table, for `patches` to show.
        let _ = crate::try_push(&mut self.patches, patch).map_err(|_| {
            pr_err!("out of memory: an abandoned patch is no longer listed\n");
        });
    }

    /// Says in dmesg whether a reverted patch's bytes are the originals.
    fn log_restored(&self, patch: &Patch) {
        if patch.restored() {
            pr_info!("{}: reverted; original bytes restored and verified\n", patch.name());
        } else {
            pr_err!("{}: revert incomplete: the bytes differ from the saved originals\n", patch.name());
        }
    }

    /// Where another writer's bytes are in `patch`'s region, if anywhere.
    fn foreign(&self, patch: &Patch) -> Result<Option<InsnAt>> {
        match patch.method {
            Method::Marks => disarm::foreign(patch, 0),
            Method::Direct => Ok(None),
        }
    }

    /// Unlinks and frees the draining patch at `i` if its hook calls have
    /// all returned; says whether it did.
    fn try_finish(&mut self, i: usize) -> bool {
        if self.patches[i].calls_in_flight() {
            return false;
        }
        let patch = self.patches.remove(i);
        self.free_reverted(patch);
        true
    }

    /// Unlinks and frees a patch whose original bytes are back and whose
    /// hook calls have returned.
    fn free_reverted(&mut self, patch: KBox<Patch>) {
        // disarm() waited for an RCU-tasks grace period after unpublishing
        // the hook; the direct method's revert did not.
        let quiesced = patch.method == Method::Marks;
        let slot = retire::unlink(patch, quiesced);
        // Held already within a revert; out of memory here only means the
        // slot's refill makes its own alias.
        let mut held = text::HeldAliases::new();
        let _ = held.hold_arena();
        self.arena.free(slot);
    }

    /// Finishes every draining revert whose hook calls have returned.
    pub(crate) fn reap(&mut self) {
        while let Some(i) = self.patches.iter().position(|p| p.state() == State::Reverting && !p.calls_in_flight()) {
            self.try_finish(i);
        }
    }

    /// Reverts `patch`, taken out of the table (put back when it stays).
    fn revert_patch(&mut self, patch: KBox<Patch>) -> Result<Reverted> {
        let mut held = text::HeldAliases::new();
        let r = self.revert_held(patch, &mut held);
        drop(held);
        text::flush_aliases();
        r
    }

    fn revert_held(&mut self, patch: KBox<Patch>, held: &mut text::HeldAliases) -> Result<Reverted> {
        // Before anything changes: the writes of the revert, and the free of
        // its slot, allocate nothing. Out of memory here leaves the patch
        // as it was (were it not back in the table, it would be lost: then
        // the writes make their own aliases).
        if let Err(e) = held.hold_region(&patch.plan).and_then(|()| held.hold_arena()) {
            if self.patches.try_reserve(1).is_ok() {
                self.patches.push(patch);
                return Err(e);
            }
        }
        let start = cost::start();
        let was_abandoned = patch.state() == State::Abandoned;
        patch.set_state(State::Reverting);
        let restored = match patch.method {
            Method::Marks => disarm::disarm(&patch, 0),
            Method::Direct => direct::disarm(&patch),
        };
        let write_ns = cost::now_ns() - start.ns();
        if let Err(e) = restored {
            self.keep_abandoned(patch, e, was_abandoned);
            return Err(e);
        }
        if was_abandoned {
            retire::unpin();
        }
        self.log_restored(&patch);
        let m = patch.plan.m();
        let name = cost::OpName::new(&patch.name);
        let others = self.patches.len();
        let reverted = if patch.calls_in_flight() && self.patches.try_reserve(1).is_ok() {
            // Its hook's calls in flight may still call the pseudo-original:
            // kept, `reverting`, until they return (try_finish).
            self.patches.push(patch);
            Reverted::Draining
        } else {
            self.free_reverted(patch);
            Reverted::Done
        };
        self.last_revert = Some(OpCost::finish(name, m, others, start, write_ns));
        Ok(reverted)
    }

    /// Reverts every patch on a function of a module that is going away,
    /// in [start, end); returns how many. A region that holds another
    /// writer's bytes is not restored (its text is being freed, and the
    /// other writer's bytes with it): the patch is unlinked as it is, once
    /// nothing can run its stub, pseudo-original or hook.
    pub(crate) fn revert_going(&mut self, start: usize, end: usize) -> usize {
        let mut n = 0;
        // A patch whose revert failed and left it in the table (out of
        // memory before any write): unlinked as it is on the next pass.
        let mut failed = None;
        while let Some(i) = self.patches.iter().position(|p| (start..end).contains(&p.func.start)) {
            let patch = self.patches.remove(i);
            if patch.state() == State::Reverting {
                // Draining: its text is going, so its calls must be done.
                self.free_drained(patch);
            } else if patch.state() != State::Abandoned
                && failed != Some(patch.serial)
                && self.foreign(&patch).ok().flatten().is_none()
            {
                let serial = patch.serial;
                match self.revert_patch(patch) {
                    Ok(Reverted::Draining) => self.finish_draining(start, end),
                    Ok(Reverted::Done) => {}
                    Err(_) => {
                        failed = Some(serial);
                        continue;
                    }
                }
            } else {
                pr_warn!("{}: its module is going away and its original bytes cannot be put back (another writer's bytes are in its region, or a revert failed): unlinked without restoring\n", patch.name());
                patch.live.hook.store(core::ptr::null_mut(), Ordering::Release);
                if patch.state() == State::Abandoned {
                    retire::unpin();
                }
                let slot = retire::unlink(patch, false);
                self.arena.free(slot);
            }
            n += 1;
        }
        n
    }

    /// Reverts every patch (markpatch's unload; an abandoned patch pins
    /// the module, so there is none then). A patch whose region holds
    /// another writer's bytes is waited for: markpatch's text, which its
    /// callers run, must not be freed while it is linked, and its bytes
    /// cannot be restored over the other writer's.
    pub(crate) fn revert_all(&mut self) {
        // Together first (one grace period of each kind), then one by one
        // whatever could not go with the batch.
        let mut starts = alloc::vec::Vec::new();
        if starts.try_reserve_exact(self.patches.len()).is_ok() {
            starts.extend(self.patches.iter().filter(|p| self.foreign(p).ok().flatten().is_none()).map(|p| p.func.start));
            let _ = self.revert_many(&starts);
        }
        while let Some(patch) = self.patches.pop() {
            let mut waited_ms = 0u32;
            while let Ok(Some(at)) = self.foreign(&patch) {
                if waited_ms % 10_000 == 0 {
                    pr_warn!(
                        "{}: unload waits: I{} at +{:#x} holds bytes markpatch did not write (a kprobe?); remove that writer\n",
                        patch.name(),
                        at.k + 1,
                        at.offset
                    );
                }
                wait::sleep_ms(100);
                waited_ms += 100;
            }
            if patch.state() == State::Reverting {
                self.free_drained(patch);
                continue;
            }
            match self.revert_patch(patch) {
                Ok(Reverted::Draining) => self.finish_draining(0, usize::MAX),
                Ok(Reverted::Done) => {}
                // Abandoned, and back in the table: markpatch's text must
                // outlive it, so the unload waits and tries again.
                Err(_) => wait::sleep_ms(100),
            }
        }
    }

    /// Waits for the draining patches in [start, end) and frees them
    /// (unload paths: nothing they run may be freed before they are done).
    fn finish_draining(&mut self, start: usize, end: usize) {
        while let Some(i) = self.patches.iter().position(|p| (start..end).contains(&p.func.start) && p.state() == State::Reverting) {
            let patch = self.patches.remove(i);
            self.free_drained(patch);
        }
    }

    /// Waits, without limit, until no call of a reverted patch's hook is in
    /// flight, then frees it (the unload paths).
    fn free_drained(&mut self, patch: KBox<Patch>) {
        retire::wait_drained(&patch);
        self.free_reverted(patch);
    }

    /// Whether a patch uses the registered hook `name`.
    pub(crate) fn hook_in_use(&self, name: &[u8]) -> bool {
        self.patches().any(|p| p.hook_desc().as_bytes() == name)
    }
}
