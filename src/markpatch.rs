// SPDX-License-Identifier: GPL-2.0

//! markpatch: on-the-fly patching of a running kernel's functions with the
//! mark method (see README.md). This file is the module's entry point; the
//! pure logic lives in the `markplan` crate, shared with host tests.

use kernel::prelude::*;
use kernel::sync::{new_mutex, Mutex};

mod alloc_selftest;
mod decode_file;
mod errno;
mod symbol;
mod sysfs;
mod text;

module! {
    type: Markpatch,
    name: "markpatch",
    author: "markpatch developers",
    description: "On-the-fly patching of running kernel functions with the mark method",
    license: "GPL",
}

/// The function decoded at load time, so that the module shows it works on a
/// live kernel as soon as it is loaded.
const DEFAULT_DECODE_SYMBOL: &[u8] = b"vfs_statfs";

/// The state that sysfs reads and writes.
#[pin_data]
struct Shared {
    #[pin]
    decode: Mutex<decode_file::Selected>,
}

struct Markpatch {
    // Declared first so that it is dropped first: the directory's callbacks
    // use `shared`, and removing it waits for them to finish.
    _sysfs: sysfs::Directory,
    _shared: Pin<KBox<Shared>>,
}

impl kernel::Module for Markpatch {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        // iced-x86 builds its decoder tables on first use, with allocation:
        // do it here, in process context, never first in atomic context.
        markplan::decode::warm_up();
        alloc_selftest::run()?;

        let selected = decode_file::Selected::new(DEFAULT_DECODE_SYMBOL)?;
        let shared = KBox::pin_init(
            pin_init!(Shared { decode <- new_mutex!(selected, "markpatch::decode") }),
            GFP_KERNEL,
        )?;
        let dir = sysfs::Directory::create(shared.as_ref())?;
        pr_info!("loaded; /sys/kernel/markpatch/ ready\n");
        Ok(Markpatch { _sysfs: dir, _shared: shared })
    }
}

impl Drop for Markpatch {
    fn drop(&mut self) {
        pr_info!("unloaded\n");
    }
}
