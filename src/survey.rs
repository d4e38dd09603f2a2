// SPDX-License-Identifier: GPL-2.0

//! /sys/kernel/markpatch/survey: a dry run of `plan` over many functions at
//! once. Write up to [`SURVEY_MAX`] names (separated by spaces or newlines);
//! read one line per name: `NAME ok M=<m>` or `NAME <reason>`, the reason
//! being the short name of the refusal. All the kprobes checks of one write
//! are removed together, so a write costs one RCU grace period instead of
//! two per name: this is what makes planning every function of a kernel
//! (the coverage report) take minutes instead of most of an hour under TCG.

use core::fmt::Write;
use kernel::prelude::*;
use kernel::str::CStr;
use markplan::input::{parse_symbol, SYMBOL_MAX};
use markplan::plan::MAX_REGION;

use crate::sysfs::{PageWriter, PAGE};
use crate::symbol::Probes;
use crate::Shared;

/// The most names one write may hold.
pub(crate) const SURVEY_MAX: usize = 64;

/// The verdicts of the last write, as the file shows them.
pub(crate) struct Verdicts(alloc::vec::Vec<u8>);

impl Verdicts {
    pub(crate) fn new() -> Self {
        Verdicts(alloc::vec::Vec::new())
    }
}

/// Appends to a byte vector with fallible allocation.
struct Lines<'a>(&'a mut alloc::vec::Vec<u8>);

impl Write for Lines<'_> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        self.0.try_reserve(s.len()).map_err(|_| core::fmt::Error)?;
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

pub(crate) fn store(shared: &Shared, input: &[u8]) -> Result {
    let names = input.split(|&b| b == b'\n' || b == b' ').filter(|t| !t.is_empty());
    let count = names.clone().count();
    if count == 0 || count > SURVEY_MAX {
        pr_info!("survey: expected 1 to {} names, got {}\n", SURVEY_MAX, count);
        return Err(EINVAL);
    }
    for name in names.clone() {
        parse_symbol(name).map_err(|e| {
            pr_info!("survey: {}\n", e);
            EINVAL
        })?;
    }
    let mut out = alloc::vec::Vec::new();
    {
        let ctl = shared.control.lock();
        let mut probes = Probes::new(count * (1 + MAX_REGION))?;
        for name in names {
            let mut buf = [0u8; SYMBOL_MAX + 1];
            buf[..name.len()].copy_from_slice(name);
            let c = CStr::from_bytes_with_nul(&buf[..=name.len()]).map_err(|_| EINVAL)?;
            let text = core::str::from_utf8(name).map_err(|_| EINVAL)?;
            let mut w = Lines(&mut out);
            match ctl.engine.plan_in(&mut probes, c) {
                Err(None) => return Err(ENOMEM),
                Err(Some(u)) => writeln!(w, "{} {}", text, u.code()),
                Ok(p) => match (&p.result, p.probe_refused) {
                    (Err(r), _) => writeln!(w, "{} {}", text, r.kind()),
                    (Ok(_), Some((_, e))) if e == EBUSY => writeln!(w, "{} kprobe-armed", text),
                    (Ok(_), Some(_)) => writeln!(w, "{} kprobes-refuses-region", text),
                    (Ok(plan), None) => writeln!(w, "{} ok M={}", text, plan.m()),
                },
            }
            .map_err(|_| ENOMEM)?;
        }
        // `probes` goes here: one grace period for the whole write.
    }
    if out.len() > PAGE {
        pr_info!("survey: the verdicts would not fit a page: write fewer names\n");
        return Err(E2BIG);
    }
    *shared.survey.lock() = Verdicts(out);
    Ok(())
}

pub(crate) fn show(shared: &Shared, w: &mut PageWriter<'_>) -> Result {
    let v = shared.survey.lock();
    w.write_str(core::str::from_utf8(&v.0).map_err(|_| EINVAL)?).map_err(|_| EFBIG)
}
