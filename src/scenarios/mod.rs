// SPDX-License-Identifier: GPL-2.0

//! The patent's scenarios as built-in hooks (scenarios.c registers them):
//! the disk quota (quota.c, its decisions in [`quota`]) and the
//! per-context scope (scope.c).

pub(crate) mod quota;
