// SPDX-License-Identifier: GPL-2.0

//! The control files of /sys/kernel/markpatch/: plan, install, revert,
//! patches, stats and the per-patch directories. Each write that fails
//! says why in one dmesg line and returns the errno.

use core::fmt::Write;
use core::sync::atomic::Ordering;
use kernel::prelude::*;
use kernel::str::CStr;
use markplan::input::{parse_install, parse_symbol, HookSpec};

use crate::patch::{Engine, Failure};
use crate::sysfs::{PageWriter, PatchDir, Report};
use crate::symbol::SymbolName;
use crate::{report, Shared};

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
}

fn full(_: core::fmt::Error) -> Error {
    EFBIG
}

/// A write to `plan`: plans the function once and keeps the report for
/// reads (a refused plan too, with the errno for the write). A write that
/// names no function keeps the last report.
pub(crate) fn store_plan(shared: &Shared, input: &[u8]) -> Result {
    let mut sel = crate::decode_file::Selected::empty();
    sel.set(input, "plan")?;
    let name = sel.name().to_str().unwrap_or("?");
    let mut out = Report::new();
    let result = {
        let ctl = shared.control.lock();
        let mut probes = crate::symbol::Probes::new(1 + markplan::plan::MAX_REGION)?;
        match ctl.engine.plan_in(&mut probes, sel.name()) {
            Err(None) => return Err(ENOMEM),
            Err(Some(u)) => {
                pr_info!("plan: {}: {}\n", name, u);
                writeln!(out, "{} refused: {}", name, u).map_err(|_| ENOMEM)?;
                Err(u.errno())
            }
            Ok(planned) => {
                report::plan(&mut out, name, &planned).map_err(|_| ENOMEM)?;
                match (&planned.result, planned.probe_refused) {
                    (Err(r), _) => {
                        pr_info!("plan: {}: refused: {}\n", name, r);
                        Err(crate::errno::EOPNOTSUPP())
                    }
                    (Ok(_), Some((k, e))) => {
                        pr_info!("plan: {}: refused: kprobes refuses I{} (errno {})\n", name, k + 1, e.to_errno());
                        Err(crate::errno::EOPNOTSUPP())
                    }
                    _ => Ok(()),
                }
            }
        }
    };
    out.check_fits()?;
    *shared.plan.lock() = out;
    result
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
    let mut ctl = shared.control.lock();
    if ctl.closing {
        return Err(ENODEV);
    }
    match ctl.engine.install(c, spec, desc) {
        Ok(true) => {
            pr_info!("{}: replaced hook with {} (no code rewritten)\n", name, desc);
            Ok(())
        }
        Ok(false) => {
            let p = ctl.engine.find_name(c).ok_or(EINVAL)?;
            pr_info!("{}: installed hook {} (M={}, stub {:#x}, P {:#x})\n", name, desc, p.plan.m(), p.stub_addr, p.p_addr);
            let start = p.func.start;
            let dir = PatchDir::create(c)?;
            crate::try_push(&mut ctl.dirs, (start, dir))?;
            Ok(())
        }
        Err(Failure { err, refusal: Some(r), .. }) => {
            pr_info!("install: {}: refused: {}\n", name, r);
            Err(err)
        }
        Err(Failure { err, what, .. }) => {
            pr_info!("install: {}: {} (errno {})\n", name, if what.is_empty() { "failed" } else { what }, err.to_errno());
            Err(err)
        }
    }
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

pub(crate) fn store_revert(shared: &Shared, input: &[u8]) -> Result {
    let name = parse_symbol(input).map_err(|e| {
        pr_info!("revert: {}\n", e);
        EINVAL
    })?;
    let name_c = SymbolName::new(name.as_bytes())?;
    let c = name_c.as_cstr();
    let dir;
    {
        let mut ctl = shared.control.lock();
        let start = match ctl.engine.find_name(c) {
            Some(p) => p.func.start,
            None => {
                let start = crate::symbol::resolve(c)
                    .map_err(|e| {
                        pr_info!("revert: {}: no such function\n", name);
                        e
                    })?
                    .start;
                if ctl.engine.find(start).is_none() {
                    pr_info!("revert: {}: not patched\n", name);
                    return Err(ENOENT);
                }
                start
            }
        };
        ctl.engine.revert(c)?;
        dir = ctl.dirs.iter().position(|(s, _)| *s == start).map(|i| ctl.dirs.remove(i));
    }
    drop(dir);
    Ok(())
}

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
            p.state.name(),
            p.live.calls.load(Ordering::Relaxed),
            p.live.partial.load(Ordering::Relaxed)
        )
        .map_err(full)?;
    }
    Ok(())
}

extern "C" {
    fn markpatch_heap_bytes() -> usize;
}

/// Bytes the module's Rust code holds on the heap through `alloc` (plans,
/// pseudo-originals, names, iced-x86's tables).
fn heap_bytes() -> usize {
    // SAFETY: reads an atomic counter (src/rust_alloc_shim.rs).
    unsafe { markpatch_heap_bytes() }
}

pub(crate) fn show_stats(shared: &Shared, w: &mut PageWriter<'_>) -> Result {
    let ctl = shared.control.lock();
    writeln!(w, "patches {}", ctl.engine.patches().count()).map_err(full)?;
    writeln!(w, "arena_bytes {}", ctl.engine.arena_used()).map_err(full)?;
    writeln!(w, "heap_bytes {}", heap_bytes()).map_err(full)?;
    Ok(())
}

/// The `timing` file: the last install and the last revert (src/cost.rs).
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

pub(crate) fn show_patch_file(shared: &Shared, symbol: &CStr, attr: &[u8], w: &mut PageWriter<'_>) -> Result {
    let ctl = shared.control.lock();
    let start = crate::symbol::resolve(symbol)?.start;
    let p = ctl.engine.find(start).ok_or(ENOENT)?;
    let live = &p.live;
    match attr {
        b"hook" => writeln!(w, "{}", p.hook_desc()),
        b"state" => writeln!(w, "{}", p.state.name()),
        b"calls" => writeln!(w, "{}", live.calls.load(Ordering::Relaxed)),
        b"partial" => writeln!(w, "{}", live.partial.load(Ordering::Relaxed)),
        b"traps" => writeln!(w, "{}", live.traps.load(Ordering::Relaxed)),
        b"code" => report::code(w, p),
        _ => return Err(ENOENT),
    }
    .map_err(full)
}

/// Called by the module notifier (src/module_going.c) when a module goes
/// away: reverts every patch on its text, and forgets hooks it registered.
#[no_mangle]
extern "C" fn markpatch_module_going(text: core::ffi::c_ulong, size: core::ffi::c_uint, module: *mut core::ffi::c_void) {
    let (start, end) = (text as usize, text as usize + size as usize);
    crate::sysfs::with_shared(|shared| {
        let dirs = {
            let mut ctl = shared.control.lock();
            crate::resolver::forget_module_callers(start as u64, end as u64);
            let n = ctl.engine.revert_range(start, end);
            if n > 0 {
                pr_info!("reverted {} patch(es) on a module that is going away\n", n);
            }
            ctl.engine.hooks.forget_owner(module);
            let mut gone = alloc::vec::Vec::new();
            let mut i = 0;
            while i < ctl.dirs.len() {
                if (start..end).contains(&ctl.dirs[i].0) {
                    if gone.try_reserve(1).is_ok() {
                        gone.push(ctl.dirs.swap_remove(i));
                        continue;
                    }
                }
                i += 1;
            }
            gone
        };
        drop(dirs);
        Ok(0)
    });
}
