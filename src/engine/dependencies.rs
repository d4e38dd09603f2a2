// SPDX-License-Identifier: GPL-2.0

//! What markpatch may not patch because it runs on it: markpatch's own
//! text, and every function its run-time paths reach. A caller of a
//! patched function runs the stub, the resolver (entry.S, resolver.rs),
//! maybe the int3 handler (reached from the kernel's int3 exception
//! through the die chain) and the hook trampolines. If any of them called
//! a patched function, that call would come back into the resolver, which
//! would call it again: the stack overflows (docs/design.md, "What
//! markpatch may not patch").
//!
//! The set is derived, at load, from what those paths really call: from
//! their entry points, every direct call, jump and tail jump that leaves a
//! function (markplan::calls) is followed to the function kallsyms says
//! it lands in (a call into a function's padding, where call-depth
//! tracking sends it, lands in that function), transitively, through
//! markpatch's own text and the
//! kernel's. Indirect calls are not seen by decoding; the ones the run-time
//! paths make are through the arena thunks, whose targets are roots here.
//!
//! The walk enters, but does not follow, [`IRQS_OFF_UNREACHED`] and
//! [`REPORT_PATHS`]: paths that the
//! run-time code cannot take in the context it runs in (the resolver's
//! full path and the int3 handler run with interrupts off), or that only
//! report a broken state once. They are dependencies themselves (never
//! patched); what only they reach is not.
//!
//! The text writer is not a root: it runs in the engine's own process
//! context, never from a patched function's path, so a patched function it
//! calls goes through the resolver like any caller's call and nothing
//! comes back into the writer (`make sweep` patches what it calls).

use alloc::vec::Vec;
use kernel::prelude::*;
use kernel::str::CStr;

use crate::bindings;
use crate::ksys::symbol;
use crate::text;

/// The most functions the walk visits; more means the walk ran away (a
/// bug), and loading fails rather than leave the set incomplete.
const MAX_FUNCTIONS: usize = 16384;

/// The largest function decoded whole.
const MAX_SIZE: usize = 64 * 1024;

/// Kernel functions a run-time path enters without a direct call from
/// markpatch's code: the targets of the arena thunks the resolver calls;
/// the kernel's handling of an int3 in kernel mode, which reaches
/// markpatch's handler through the die chain (so its path there is a
/// dependency too; exc_int3 before it is noinstr, never patchable); and
/// the page-fault fixup a resolver's stack read past the top of a stack
/// takes (copy_from_kernel_nofault's exception-table entry).
const KERNEL_ROOTS: [&CStr; 5] = [
    kernel::c_str!("kernel_text_address"),
    kernel::c_str!("__module_text_address"),
    kernel::c_str!("do_int3"),
    kernel::c_str!("fixup_exception"),
    kernel::c_str!("search_exception_tables"),
];

/// Entered but not followed by the run-time paths' walk (see the module's
/// comment), besides [`REPORT_PATHS`]:
/// - the preemption points preempt_enable() calls: preempt_schedule()
///   returns at once when interrupts are off, as they are in the resolver
///   and the int3 handler;
/// - RCU's deferred unlock work: with interrupts off, rcu_read_unlock_special()
///   only sets flags or queues one irq_work (guarded by a pending flag).
const IRQS_OFF_UNREACHED: [&CStr; 3] = [
    kernel::c_str!("preempt_schedule_thunk"),
    kernel::c_str!("preempt_schedule_notrace_thunk"),
    kernel::c_str!("rcu_read_unlock_special"),
];

/// Entered but not followed in place of rcu_read_unlock_special() where the
/// compiler inlined it into __rcu_read_unlock() (gcc does), so that it has
/// no symbol: what it calls. With interrupts off it raises RCU's softirq or
/// queues one irq_work, each guarded by its pending flag;
/// rcu_preempt_deferred_qs_irqrestore() is its path with interrupts on.
const RCU_UNLOCK_SPECIAL_CALLEES: [&CStr; 3] = [
    kernel::c_str!("raise_softirq_irqoff"),
    kernel::c_str!("irq_work_queue_on"),
    kernel::c_str!("rcu_preempt_deferred_qs_irqrestore"),
];

/// The functions markpatch depends on while a patch is live.
///
/// # Invariants
/// `starts` is sorted and holds each function's start once.
pub(crate) struct Dependencies {
    starts: Vec<usize>,
    /// markpatch's own text, [start, end).
    own: (usize, usize),
    /// The kernel's die chain (kallsyms), read again by every `contains`.
    die_chain: Option<usize>,
}

impl Dependencies {
    /// Walks the run-time paths. Needs the kallsyms thunk (for the kernel
    /// roots' addresses).
    pub(crate) fn find() -> Result<Self> {
        let (mut own_start, mut own_size): (usize, usize) = (0, 0);
        // SAFETY: writes this module's text range to the two locals.
        unsafe { bindings::markpatch_own_text(&mut own_start as *mut usize as *mut _, &mut own_size as *mut usize as *mut _) };
        let mut work: Vec<usize> = Vec::new();
        let own_roots: [usize; 7] = [
            bindings::markpatch_resolver_entry as *const () as usize,
            bindings::markpatch_resolve_irqs_off as *const () as usize,
            bindings::markpatch_resolve as *const () as usize,
            bindings::markpatch_fail_trampoline as *const () as usize,
            bindings::markpatch_filter_trampoline as *const () as usize,
            bindings::markpatch_int3 as *const () as usize,
            // SAFETY: returns the address of the die notifier's callback.
            unsafe { bindings::markpatch_int3_notifier_call() } as usize,
        ];
        for root in own_roots {
            crate::try_push(&mut work, root)?;
        }
        for name in KERNEL_ROOTS {
            match symbol::kallsyms_address(name) {
                Some(a) => crate::try_push(&mut work, a)?,
                None => pr_info!("dependencies: no {:?} in kallsyms\n", name),
            }
        }
        let inlined: &[&CStr] = match symbol::kallsyms_address(kernel::c_str!("rcu_read_unlock_special")) {
            Some(_) => &[],
            None => &RCU_UNLOCK_SPECIAL_CALLEES,
        };
        let mut seen = reach(&work, &[&IRQS_OFF_UNREACHED, &REPORT_PATHS, inlined])?;
        // Every callback on the die chain: notify_die() calls each through a
        // pointer on every int3, so an int3 of markpatch's in one recurses.
        // The callbacks themselves, not what they call: for an int3 in
        // kernel text that is not theirs they return at once (uprobes' for
        // any kernel int3, kprobes' for an address it has no probe on).
        // A notifier registered later is seen by `contains`, which reads the
        // chain again.
        let die_chain = symbol::kallsyms_address(kernel::c_str!("die_chain"));
        match die_chain {
            Some(chain) => {
                let mut calls = [0 as kernel::ffi::c_ulong; MAX_DIE_NOTIFIERS];
                let n = die_callbacks(chain, &mut calls);
                if n > calls.len() {
                    pr_err!("dependencies: {} die notifiers, more than {}\n", n, calls.len());
                    return Err(E2BIG);
                }
                for &c in &calls[..n] {
                    if let Some(func) = symbol::extent(c as usize) {
                        if let Err(i) = seen.binary_search(&func.start) {
                            seen.try_reserve(1).map_err(|_| ENOMEM)?;
                            seen.insert(i, func.start);
                        }
                    }
                }
            }
            None => pr_info!("dependencies: no die_chain in kallsyms\n"),
        }
        Ok(Dependencies { starts: seen, own: (own_start, own_start + own_size), die_chain })
    }

    /// Whether the function that starts at `start` is markpatch's own code,
    /// one its run-time paths reach, or a callback on the die chain now.
    pub(crate) fn contains(&self, start: usize) -> bool {
        (self.own.0..self.own.1).contains(&start) || self.starts.binary_search(&start).is_ok() || self.on_die_chain(start)
    }

    /// Whether a callback on the die chain, as it is now, is the function
    /// that starts at `start`. A chain longer than can be read counts as
    /// holding it (the set must not be incomplete).
    fn on_die_chain(&self, start: usize) -> bool {
        let Some(chain) = self.die_chain else { return false };
        let mut calls = [0 as kernel::ffi::c_ulong; MAX_DIE_NOTIFIERS];
        let n = die_callbacks(chain, &mut calls);
        if n > calls.len() {
            return true;
        }
        calls[..n].iter().any(|&c| symbol::extent(c as usize).is_some_and(|f| f.start == start))
    }

    /// How many kernel functions (outside markpatch) are in the set.
    pub(crate) fn kernel_functions(&self) -> usize {
        self.starts.iter().filter(|&&s| !(self.own.0..self.own.1).contains(&s)).count()
    }
}

/// The most die notifiers read; more fails the load, and after it counts
/// every function as one of them.
const MAX_DIE_NOTIFIERS: usize = 32;

/// The callbacks on the die chain at `chain` into `calls`; how many there
/// are (more than `calls` holds: only the first ones were stored).
fn die_callbacks(chain: usize, calls: &mut [kernel::ffi::c_ulong; MAX_DIE_NOTIFIERS]) -> usize {
    // SAFETY: `chain` is the kernel's die_chain (kallsyms); `calls` holds
    // MAX_DIE_NOTIFIERS entries.
    unsafe { bindings::markpatch_die_callbacks(chain as _, calls.as_mut_ptr(), calls.len()) }
}

/// Reporting a broken state (the printk family, WARN, BUG, panic, the
/// stack protector): run once per report, never on a path that works, so
/// no walk follows it. What a filter hook reaches is followed through the
/// preemption points and RCU's deferred work too, since a filter runs with
/// interrupts on and may sleep: for it, these alone are not followed.
pub(crate) const REPORT_PATHS: [&CStr; 10] = [
    kernel::c_str!("_printk"),
    kernel::c_str!("_printk_deferred"),
    kernel::c_str!("vprintk"),
    kernel::c_str!("vprintk_emit"),
    kernel::c_str!("vprintk_deferred"),
    kernel::c_str!("__warn_printk"),
    kernel::c_str!("panic"),
    kernel::c_str!("die"),
    kernel::c_str!("oops_end"),
    kernel::c_str!("__stack_chk_fail"),
];

/// The start of every function `roots` reach by direct calls, jumps and
/// tail jumps (markplan::calls), sorted, each once: the functions kallsyms
/// knows the roots to be in, and transitively what they branch to, entering
/// but not following the functions `not_followed` names.
pub(crate) fn reach(roots: &[usize], not_followed: &[&[&CStr]]) -> Result<Vec<usize>> {
    let mut cut: Vec<usize> = Vec::new();
    for name in not_followed.iter().flat_map(|names| names.iter()) {
        if let Some(a) = symbol::kallsyms_address(name) {
            crate::try_push(&mut cut, a)?;
        }
    }
    let mut work: Vec<usize> = Vec::new();
    work.try_reserve(roots.len()).map_err(|_| ENOMEM)?;
    work.extend_from_slice(roots);
    let mut seen: Vec<usize> = Vec::new();
    let mut code: Vec<u8> = Vec::new();
    while let Some(addr) = work.pop() {
        let Some(func) = symbol::entered_function(addr) else { continue };
        let Err(i) = seen.binary_search(&func.start) else { continue };
        if seen.len() >= MAX_FUNCTIONS {
            pr_err!("dependencies: more than {} functions reached\n", MAX_FUNCTIONS);
            return Err(E2BIG);
        }
        seen.try_reserve(1).map_err(|_| ENOMEM)?;
        seen.insert(i, func.start);
        if cut.contains(&func.start) {
            continue;
        }
        let size = func.size.min(MAX_SIZE);
        code.clear();
        code.try_reserve_exact(size).map_err(|_| ENOMEM)?;
        code.resize(size, 0);
        if text::read(func.start as u64, &mut code).is_err() {
            continue;
        }
        let mut pushed = Ok(());
        markplan::calls::outside_targets(&code, func.start as u64, |to| {
            if pushed.is_ok() {
                pushed = crate::try_push(&mut work, to as usize);
            }
        });
        pushed?;
    }
    Ok(seen)
}
