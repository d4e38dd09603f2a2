// SPDX-License-Identifier: GPL-2.0

//! The user interface: /sys/kernel/markpatch/ ([`sysfs`] dispatches every
//! file to the module that serves it).

pub(crate) mod control;
pub(crate) mod decode;
pub(crate) mod report;
pub(crate) mod survey;
pub(crate) mod sysfs;
