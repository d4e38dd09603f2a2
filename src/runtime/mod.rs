// SPDX-License-Identifier: GPL-2.0

//! What runs in a caller's context: a CPU that reaches a patch's stub
//! (entry.S, then [`resolver`]) or one of its int3s (int3_notifier.c, then
//! [`int3`]), and the hook trampolines (trampolines.S). No locks, no
//! allocation, possibly with interrupts off. Patches are reached through
//! the [`live`] table. The correctness argument is docs/design.md.

pub(crate) mod int3;
pub(crate) mod kernel_text;
pub(crate) mod live;
pub(crate) mod resolver;
