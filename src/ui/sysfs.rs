// SPDX-License-Identifier: GPL-2.0

//! The Rust side of /sys/kernel/markpatch/ (the kobjects and the table of
//! attributes are in sysfs.c): reads and writes dispatched by the
//! attribute's id (src/glue.h), the text a write leaves for its reads, and
//! a writer that formats into sysfs's one-page buffer.

use kernel::ffi::c_char;
use core::fmt;
use core::pin::Pin;
use core::sync::atomic::{AtomicPtr, Ordering};
use kernel::prelude::*;
use kernel::str::CStr;

use crate::bindings::{self, markpatch_attr as attr, markpatch_patch_attr as patch_attr, same_signature};
use crate::Shared;

/// sysfs gives show() one page.
pub(crate) const PAGE: usize = 4096;

/// The state the callbacks (and the exported hook API) work on: set while
/// the directory exists.
static SHARED: AtomicPtr<Shared> = AtomicPtr::new(core::ptr::null_mut());

/// /sys/kernel/markpatch/ while this value lives.
pub(crate) struct Directory;

impl Directory {
    /// Creates the directory. `shared` must outlive the returned value (the
    /// module struct declares the directory before the state it points to,
    /// so it is dropped first).
    pub(crate) fn create(shared: Pin<&Shared>) -> Result<Self> {
        SHARED.store(core::ptr::from_ref(shared.get_ref()).cast_mut(), Ordering::Release);
        // SAFETY: plain call into sysfs.c; no arguments.
        let ret = unsafe { bindings::markpatch_sysfs_create() };
        if ret < 0 {
            SHARED.store(core::ptr::null_mut(), Ordering::Release);
            return Err(Error::from_errno(ret));
        }
        Ok(Directory)
    }
}

impl Drop for Directory {
    fn drop(&mut self) {
        // SAFETY: the directory exists (create succeeded). The call returns
        // only once no callback runs, so none can see SHARED after this.
        unsafe { bindings::markpatch_sysfs_remove() };
        SHARED.store(core::ptr::null_mut(), Ordering::Release);
    }
}

/// The one symbol name a write to `file` gives, as text and as the C
/// string kallsyms takes; a malformed name is EINVAL, said in dmesg as
/// "<file>: <why>".
pub(crate) fn written_name<'a>(input: &'a [u8], file: &str) -> Result<(&'a str, crate::ksys::symbol::SymbolName)> {
    let name = markplan::input::parse_symbol(input).map_err(|e| {
        pr_info!("{}: {}\n", file, e);
        EINVAL
    })?;
    Ok((name, crate::ksys::symbol::SymbolName::new(name.as_bytes())?))
}

/// What a write to a file leaves for its reads (`plan`, `survey`): the
/// text is made once, when written, and each read copies it.
pub(crate) struct Report(alloc::vec::Vec<u8>);

impl Report {
    pub(crate) fn new() -> Self {
        Report(alloc::vec::Vec::new())
    }

    /// E2BIG when the text would not fit the page a read gets.
    pub(crate) fn check_fits(&self) -> Result {
        if self.0.len() > PAGE {
            return Err(E2BIG);
        }
        Ok(())
    }

    pub(crate) fn show(&self, w: &mut PageWriter<'_>) -> Result {
        use core::fmt::Write;
        w.write_str(core::str::from_utf8(&self.0).map_err(|_| EINVAL)?).map_err(|_| EFBIG)
    }
}

impl core::fmt::Write for Report {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        self.0.try_reserve(s.len()).map_err(|_| core::fmt::Error)?;
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

/// Formats into the page sysfs hands to show(); fails, rather than
/// truncating silently, when the page is full.
pub(crate) struct PageWriter<'a> {
    buf: &'a mut [u8],
    len: usize,
}

/// A patch's directory, /sys/kernel/markpatch/patch/<symbol>/, while this
/// value lives. Drop it without holding the engine lock: removal waits for
/// running reads, which take that lock.
pub(crate) struct PatchDir(core::ptr::NonNull<bindings::kobject>);

impl PatchDir {
    pub(crate) fn create(symbol: &CStr) -> Result<Self> {
        // SAFETY: `symbol` is NUL-terminated; the C side copies it.
        let dir = unsafe { bindings::markpatch_sysfs_patch_add(symbol.as_char_ptr()) };
        core::ptr::NonNull::new(dir).map(PatchDir).ok_or(ENOMEM)
    }
}

impl Drop for PatchDir {
    fn drop(&mut self) {
        // SAFETY: `self.0` came from markpatch_sysfs_patch_add.
        unsafe { bindings::markpatch_sysfs_patch_remove(self.0.as_ptr()) };
    }
}

// SAFETY: the kobject pointer may be released from any process context.
unsafe impl Send for PatchDir {}

impl fmt::Write for PageWriter<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len.checked_add(s.len()).ok_or(fmt::Error)?;
        if end > self.buf.len() {
            return Err(fmt::Error);
        }
        self.buf[self.len..end].copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

pub(crate) fn with_shared(f: impl FnOnce(&Shared) -> Result<isize>) -> isize {
    let ptr = SHARED.load(Ordering::Acquire);
    if ptr.is_null() {
        return ENODEV.to_errno() as isize;
    }
    // SAFETY: SHARED is non-null only while the directory exists, and the
    // state it points to outlives the directory (see `Directory::create`).
    match f(unsafe { &*ptr }) {
        Ok(n) => n,
        Err(e) => e.to_errno() as isize,
    }
}

/// Called by sysfs.c for every read of /sys/kernel/markpatch/<attr>.
#[no_mangle]
extern "C" fn markpatch_sysfs_show(id: attr::Type, buf: *mut c_char) -> isize {
    // SAFETY: sysfs passes a buffer of one page, ours until we return.
    let page = unsafe { core::slice::from_raw_parts_mut(buf.cast::<u8>(), PAGE) };
    with_shared(|shared| {
        let mut w = PageWriter { buf: page, len: 0 };
        match id {
            attr::MARKPATCH_ATTR_DECODE => crate::ui::decode::show(&shared.decode, &mut w)?,
            attr::MARKPATCH_ATTR_PLAN => shared.plan.lock().show(&mut w)?,
            attr::MARKPATCH_ATTR_SURVEY => shared.survey.lock().show(&mut w)?,
            attr::MARKPATCH_ATTR_PATCHES => crate::ui::control::show_patches(shared, &mut w)?,
            attr::MARKPATCH_ATTR_STATS => crate::ui::control::show_stats(shared, &mut w)?,
            attr::MARKPATCH_ATTR_TIMING => crate::ui::control::show_timing(shared, &mut w)?,
            _ => return Err(ENOENT),
        }
        Ok(w.len as isize)
    })
}
same_signature!(bindings::markpatch_sysfs_show, markpatch_sysfs_show);

/// Called by sysfs.c for reads of /sys/kernel/markpatch/patch/<symbol>/<attr>.
#[no_mangle]
extern "C" fn markpatch_patch_show(symbol: *const c_char, id: patch_attr::Type, buf: *mut c_char) -> isize {
    // SAFETY: sysfs passes the kobject's NUL-terminated name.
    let symbol = unsafe { CStr::from_char_ptr(symbol) };
    // SAFETY: sysfs passes a buffer of one page, ours until we return.
    let page = unsafe { core::slice::from_raw_parts_mut(buf.cast::<u8>(), PAGE) };
    with_shared(|shared| {
        let mut w = PageWriter { buf: page, len: 0 };
        crate::ui::control::show_patch_file(shared, symbol, id, &mut w)?;
        Ok(w.len as isize)
    })
}
same_signature!(bindings::markpatch_patch_show, markpatch_patch_show);

/// Called by sysfs.c for every write to /sys/kernel/markpatch/<attr>.
#[no_mangle]
extern "C" fn markpatch_sysfs_store(id: attr::Type, buf: *const c_char, len: usize) -> isize {
    // SAFETY: sysfs passes `len` readable bytes (at most a page).
    let input = unsafe { core::slice::from_raw_parts(buf.cast::<u8>(), len) };
    with_shared(|shared| {
        match id {
            attr::MARKPATCH_ATTR_DECODE => crate::ui::decode::store(&shared.decode, input)?,
            attr::MARKPATCH_ATTR_PLAN => crate::ui::control::store_plan(shared, input)?,
            attr::MARKPATCH_ATTR_SURVEY => crate::ui::survey::store(shared, input)?,
            attr::MARKPATCH_ATTR_INSTALL => crate::ui::control::store_install(shared, input)?,
            attr::MARKPATCH_ATTR_REVERT => crate::ui::control::store_revert(shared, input)?,
            _ => return Err(ENOENT),
        }
        Ok(len as isize)
    })
}
same_signature!(bindings::markpatch_sysfs_store, markpatch_sysfs_store);
