// SPDX-License-Identifier: GPL-2.0

//! The control files of /sys/kernel/markpatch/: plan, install, revert,
//! patches, stats, timing and the per-patch directories. Each write that
//! fails says why in one dmesg line and returns the errno.

use core::fmt::Write;
use core::sync::atomic::Ordering;
use kernel::prelude::*;
use kernel::str::CStr;
use markplan::input::{parse_install, HookSpec};

use crate::bindings::{self, markpatch_patch_attr as patch_attr, same_signature};
use crate::engine::patch::State;
use crate::engine::verdict::Verdict;
use crate::engine::{Engine, Failure, Installed, Reverted};
use crate::ksys::wait;
use crate::ksys::probes::Probes;
use crate::ksys::symbol::{self, SymbolName, Unresolved};
use crate::ui::report;
use crate::ui::sysfs::{written_name, PageWriter, PatchDir, Report};
use crate::Shared;

/// The engine and the sysfs directories of its patches (kept apart so that
/// a directory is removed only after the lock is dropped).
pub(crate) struct Control {
    pub(crate) engine: Engine,
    dirs: alloc::vec::Vec<(usize, PatchDir)>,
    /// Set at unload: no new installs.
    closing: bool,
}

impl Control {
    pub(crate) fn new(engine: Engine) -> Self {
        Control { engine, dirs: alloc::vec::Vec::new(), closing: false }
    }

    /// Takes the directory of the patch on `start` out of the table; drop
    /// it after the lock.
    fn take_dir(&mut self, start: usize) -> Option<PatchDir> {
        let i = self.dirs.iter().position(|(s, _)| *s == start)?;
        Some(self.dirs.swap_remove(i).1)
    }

    /// Finishes the reverts whose hook calls have returned since, and takes
    /// their directories out of the table; drop them after the lock.
    fn reap(&mut self) -> alloc::vec::Vec<(usize, PatchDir)> {
        self.engine.reap();
        let mut gone = alloc::vec::Vec::new();
        let mut i = 0;
        while i < self.dirs.len() {
            if self.engine.find(self.dirs[i].0).is_none() && gone.try_reserve(1).is_ok() {
                gone.push(self.dirs.swap_remove(i));
                continue;
            }
            i += 1;
        }
        gone
    }
}

fn full(_: core::fmt::Error) -> Error {
    EFBIG
}

/// The one dmesg line of a refusal: "<op>: <name>: refused: <why>".
fn log_refusal(op: &str, name: &str, v: &Verdict) {
    pr_info!("{}: {}: {}\n", op, name, v.reason());
}

/// A write to `plan`: plans the function once and keeps the report for
/// reads (a refused plan too, with the errno for the write: a name that is
/// no function of live text reads `NAME refused: <why>` like any other
/// refusal). A write that is not a name keeps the last report.
pub(crate) fn store_plan(shared: &Shared, input: &[u8]) -> Result {
    let (name, name_c) = written_name(input, "plan")?;
    let (out, errno) = {
        let ctl = shared.control.lock();
        let mut probes = Probes::new(1 + markplan::plan::MAX_REGION)?;
        let planned = ctl.engine.plan(&mut probes, name_c.as_cstr())?;
        // iced-x86 formats; the report is made and kept inside the reserve's call.
        let out = crate::ksys::reserve::run(|| {
            let mut out = Report::new();
            report::plan(&mut out, name, &planned).map(|()| out).map_err(|_| ENOMEM)
        })??;
        if planned.verdict.errno().is_some() {
            log_refusal("plan", name, &planned.verdict);
        }
        (out, planned.verdict.errno())
    };
    out.check_fits()?;
    *shared.plan.lock() = out;
    errno.map_or(Ok(()), Err)
}

/// Installs at load (the symbol= and hook= parameters) or from `install`.
pub(crate) fn install(shared: &Shared, name: &str, hook: &str) -> Result {
    let spec = markplan::input::parse_hook(hook).map_err(|e| {
        pr_info!("install: {}: {}\n", name, e);
        EINVAL
    })?;
    install_spec(shared, name, spec, hook)
}

fn install_spec(shared: &Shared, name: &str, spec: HookSpec<'_>, desc: &str) -> Result {
    let name_c = SymbolName::new(name.as_bytes())?;
    let c = name_c.as_cstr();
    // Declared before the guard: dropped (directories removed) after it.
    let reaped;
    let mut guard = shared.control.lock();
    let ctl = &mut *guard;
    if ctl.closing {
        return Err(ENODEV);
    }
    reaped = ctl.reap();
    // The patch's directory appears once it is linked, so that its state
    // can be read while its instructions are written.
    let mut staged_dir = None;
    let result = ctl.engine.install(c, spec, desc, |p| {
        staged_dir = Some((p.func.start, PatchDir::create(c)?));
        Ok(())
    });
    let failed_dir = match result {
        Ok(Installed::Replaced) => {
            pr_info!("{}: replaced hook with {} (no code rewritten)\n", name, desc);
            None
        }
        Ok(Installed::New) => {
            let p = ctl.engine.find_name(c).ok_or(EINVAL)?;
            pr_info!("{}: installed hook {} (M={}, stub {:#x}, P {:#x})\n", name, desc, p.plan.m(), p.stub_addr, p.p_addr);
            if let Some(dir) = staged_dir.take() {
                crate::try_push(&mut ctl.dirs, dir)?;
            }
            None
        }
        Err(ref f) => {
            match f {
                Failure::Refused(v) => log_refusal("install", name, v),
                Failure::Failed { err, what, at: Some(at) } => pr_info!(
                    "install: {}: writing I{} at +{:#x}: {} (errno {})\n",
                    name,
                    at.k + 1,
                    at.offset,
                    what,
                    err.to_errno()
                ),
                Failure::Failed { err, what, at: None } => pr_info!("install: {}: {} (errno {})\n", name, what, err.to_errno()),
            }
            // An abandoned patch stays listed, with its directory.
            let abandoned = ctl.engine.find_name(c).is_some_and(|p| p.state() == State::Abandoned);
            match staged_dir.take() {
                Some(dir) if abandoned && ctl.dirs.try_reserve(1).is_ok() => {
                    ctl.dirs.push(dir);
                    None
                }
                dir => dir.map(|(_, d)| d),
            }
        }
    };
    drop(guard);
    drop(reaped);
    drop(failed_dir);
    result.map(|_| ()).map_err(|f| f.errno())
}

pub(crate) fn store_install(shared: &Shared, input: &[u8]) -> Result {
    let (name, spec) = parse_install(input).map_err(|e| {
        pr_info!("install: {}\n", e);
        EINVAL
    })?;
    let line = input.strip_suffix(b"\n").unwrap_or(input);
    let desc = line.rsplit(|&b| b == b' ' || b == b'\t').next().unwrap_or(b"?");
    install_spec(shared, name, spec, core::str::from_utf8(desc).unwrap_or("?"))
}

/// The start of the patched function `c` names: its own name, or another
/// name of it.
fn patched_start(engine: &Engine, name: &str, c: &CStr) -> Result<usize> {
    if let Some(p) = engine.find_name(c) {
        return Ok(p.func.start);
    }
    let start = symbol::find(c)
        .map_err(|u| {
            pr_info!("revert: {}: {}\n", name, u);
            u.errno()
        })?
        .start;
    if engine.find(start).is_none() {
        pr_info!("revert: {}: not patched\n", name);
        return Err(ENOENT);
    }
    Ok(start)
}

pub(crate) fn store_revert(shared: &Shared, input: &[u8]) -> Result {
    let names = input.split(|&b| b == b'\n' || b == b' ').filter(|t| !t.is_empty());
    if names.clone().count() > 1 {
        return revert_batch(shared, names);
    }
    let (name, name_c) = written_name(input, "revert")?;
    // A filter call in flight keeps the patch (`reverting`) after its bytes
    // are back: wait for it a while, without the control lock, so that
    // every other operation goes on meanwhile.
    let mut waited_ms = 0;
    // The patch this revert is waiting for: the lock is dropped between
    // polls, and meanwhile another operation may finish it and a new patch
    // may be installed on the same function, which this revert must leave.
    let mut waiting_for: Option<u64> = None;
    loop {
        // Declared before the guard: dropped (directories removed) after it.
        let reaped;
        let done = {
            let mut ctl = shared.control.lock();
            let start = patched_start(&ctl.engine, name, name_c.as_cstr());
            // A draining revert of this patch may finish here.
            reaped = ctl.reap();
            let current = start.as_ref().ok().and_then(|&s| ctl.engine.find(s).map(|p| (s, p.serial)));
            match (current, waiting_for) {
                // What we waited for is gone (finished, by us or another).
                (None, Some(_)) => Some(None),
                (Some((_, serial)), Some(w)) if serial != w => Some(None),
                (None, None) => {
                    start?;
                    Some(None)
                }
                (Some((start, serial)), _) => match ctl.engine.revert(start)? {
                    Reverted::Done => Some(ctl.take_dir(start)),
                    Reverted::Draining => {
                        waiting_for = Some(serial);
                        None
                    }
                },
            }
        };
        drop(reaped);
        if let Some(dir) = done {
            // Removing the patch's directory waits for its readers: not
            // under the lock.
            drop(dir);
            return Ok(());
        }
        if waited_ms >= REVERT_WAIT_MS {
            pr_info!(
                "revert: {}: a call of its hook is still in flight: the original bytes are back, and the patch stays reverting until the call returns (revert again to finish it)\n",
                name
            );
            return Err(EBUSY);
        }
        wait::sleep_ms(10);
        waited_ms += 10;
    }
}

/// Several names in one `revert` write: reverted together, sharing their
/// grace periods (crate::engine::Engine::revert_many). Every name must be
/// a patched function (EINVAL or ENOENT before anything is reverted); then
/// the first error of the batch, each one said in dmesg.
fn revert_batch<'a>(shared: &Shared, names: impl Iterator<Item = &'a [u8]> + Clone) -> Result {
    for name in names.clone() {
        written_name(name, "revert")?;
    }
    let reaped;
    let gone = {
        let mut ctl = shared.control.lock();
        reaped = ctl.reap();
        let mut starts = alloc::vec::Vec::new();
        for name in names {
            let (name, c) = written_name(name, "revert")?;
            let start = patched_start(&ctl.engine, name, c.as_cstr())?;
            crate::try_push(&mut starts, start)?;
        }
        let result = ctl.engine.revert_many(&starts);
        let mut gone = alloc::vec::Vec::new();
        for start in starts {
            if ctl.engine.find(start).is_none() {
                if let Some(dir) = ctl.take_dir(start) {
                    // On failure the directory is dropped here, under the
                    // lock: only when out of memory.
                    let _ = crate::try_push(&mut gone, dir);
                }
            }
        }
        (result, gone)
    };
    drop(reaped);
    let (result, dirs) = gone;
    drop(dirs);
    result
}

/// How long a revert waits for its hook's calls in flight before it
/// answers EBUSY.
const REVERT_WAIT_MS: u32 = 2000;

/// Reverts everything and refuses new installs (module unload).
pub(crate) fn shutdown(shared: &Shared) {
    let dirs = {
        let mut ctl = shared.control.lock();
        ctl.closing = true;
        ctl.engine.revert_all();
        core::mem::take(&mut ctl.dirs)
    };
    drop(dirs);
}

pub(crate) fn show_patches(shared: &Shared, w: &mut PageWriter<'_>) -> Result {
    let ctl = shared.control.lock();
    for p in ctl.engine.patches() {
        writeln!(
            w,
            "{} {} {} {} {}",
            p.name(),
            p.hook_desc(),
            p.state().name(),
            p.live.calls.load(Ordering::Relaxed),
            p.live.partial.load(Ordering::Relaxed)
        )
        .map_err(full)?;
    }
    Ok(())
}

/// Bytes the module's Rust code holds on the heap through `alloc` (plans,
/// pseudo-originals, names; iced-x86's tables are in a block of their own).
fn heap_bytes() -> usize {
    // SAFETY: reads an atomic counter (src/ksys/alloc_shim.rs).
    unsafe { bindings::markpatch_heap_bytes() }
}

pub(crate) fn show_stats(shared: &Shared, w: &mut PageWriter<'_>) -> Result {
    let ctl = shared.control.lock();
    writeln!(w, "patches {}", ctl.engine.patches().count()).map_err(full)?;
    writeln!(w, "arena_bytes {}", ctl.engine.arena_used()).map_err(full)?;
    writeln!(w, "heap_bytes {}", heap_bytes()).map_err(full)?;
    writeln!(w, "reserve_used {}", crate::ksys::reserve::used()).map_err(full)?;
    writeln!(w, "iced_tables_bytes {}", crate::ksys::iced_tables::IcedTables::used()).map_err(full)?;
    let inconsistent = crate::runtime::live::INCONSISTENT_STACKS.load(Ordering::Relaxed);
    writeln!(w, "inconsistent_stacks {}", inconsistent).map_err(full)?;
    let ambiguous = crate::runtime::live::AMBIGUOUS_DECISIONS.load(Ordering::Relaxed);
    writeln!(w, "ambiguous_decisions {}", ambiguous).map_err(full)?;
    let bounded = crate::runtime::live::BOUNDED_DECISIONS.load(Ordering::Relaxed);
    writeln!(w, "bounded_decisions {}", bounded).map_err(full)?;
    Ok(())
}

/// The `timing` file: the last install and the last revert (crate::engine::cost).
pub(crate) fn show_timing(shared: &Shared, w: &mut PageWriter<'_>) -> Result {
    let ctl = shared.control.lock();
    if let Some(c) = &ctl.engine.last_install {
        c.write_line("install", w).map_err(full)?;
    }
    if let Some(c) = &ctl.engine.last_revert {
        c.write_line("revert", w).map_err(full)?;
    }
    Ok(())
}

/// A read of /sys/kernel/markpatch/patch/<symbol>/<attr>. `state` is read
/// without waiting for the engine lock, which an install or a revert holds
/// while it writes: it shows `installing` and `reverting` then.
pub(crate) fn show_patch_file(shared: &Shared, symbol: &CStr, id: patch_attr::Type, w: &mut PageWriter<'_>) -> Result {
    if id == patch_attr::MARKPATCH_PATCH_STATE {
        if let Some(state) = crate::engine::patch::in_progress(symbol) {
            return writeln!(w, "{}", state.name()).map_err(full);
        }
    }
    let ctl = shared.control.lock();
    let start = symbol::find(symbol).map_err(Unresolved::errno)?.start;
    let p = ctl.engine.find(start).ok_or(ENOENT)?;
    let live = &p.live;
    match id {
        patch_attr::MARKPATCH_PATCH_HOOK => writeln!(w, "{}", p.hook_desc()),
        patch_attr::MARKPATCH_PATCH_STATE => writeln!(w, "{}", p.state().name()),
        patch_attr::MARKPATCH_PATCH_CALLS => writeln!(w, "{}", live.calls.load(Ordering::Relaxed)),
        patch_attr::MARKPATCH_PATCH_PARTIAL => writeln!(w, "{}", live.partial.load(Ordering::Relaxed)),
        patch_attr::MARKPATCH_PATCH_TRAPS => writeln!(w, "{}", live.traps.load(Ordering::Relaxed)),
        patch_attr::MARKPATCH_PATCH_AMBIGUOUS => writeln!(w, "{}", live.ambiguous.load(Ordering::Relaxed)),
        patch_attr::MARKPATCH_PATCH_BOUNDED => writeln!(w, "{}", live.bounded.load(Ordering::Relaxed)),
        // iced-x86 decodes and formats: inside the reserve (ENOMEM).
        patch_attr::MARKPATCH_PATCH_CODE => return crate::ksys::reserve::run(|| report::code(w, p).map_err(full))?,
        _ => return Err(ENOENT),
    }
    .map_err(full)
}

/// Called by the module notifier (src/ksys/module_notifier.c) when a module
/// goes away: reverts every patch on its text, and forgets hooks it
/// registered.
#[no_mangle]
extern "C" fn markpatch_module_going(text: kernel::ffi::c_ulong, size: kernel::ffi::c_uint, module: *mut bindings::module) {
    let (start, end) = (text as usize, text as usize + size as usize);
    crate::ui::sysfs::with_shared(|shared| {
        let dirs = {
            let mut ctl = shared.control.lock();
            crate::runtime::live::forget_module_callers(start as u64, end as u64);
            let n = ctl.engine.revert_going(start, end);
            if n > 0 {
                pr_info!("reverted {} patch(es) on a module that is going away\n", n);
            }
            ctl.engine.hooks.forget_owner(module);
            let mut gone = alloc::vec::Vec::new();
            let mut i = 0;
            while i < ctl.dirs.len() {
                if (start..end).contains(&ctl.dirs[i].0) && ctl.engine.find(ctl.dirs[i].0).is_none() && gone.try_reserve(1).is_ok() {
                    gone.push(ctl.dirs.swap_remove(i));
                    continue;
                }
                i += 1;
            }
            gone
        };
        drop(dirs);
        Ok(0)
    });
}
same_signature!(bindings::markpatch_module_going, markpatch_module_going);
