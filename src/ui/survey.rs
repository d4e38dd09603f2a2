// SPDX-License-Identifier: GPL-2.0

//! /sys/kernel/markpatch/survey: a dry run of `plan` over many functions at
//! once. Write up to [`SURVEY_MAX`] names (separated by spaces or newlines);
//! read one line per name: `NAME ok M=<m>` or `NAME <reason>`, the reason
//! being the short name of the refusal. All the kprobes checks of one write
//! are removed together, so a write costs one RCU grace period instead of
//! two per name: what planning every function of a kernel (the coverage
//! report) costs is dominated by grace periods.

use core::fmt::Write;
use kernel::prelude::*;
use markplan::plan::MAX_REGION;

use crate::engine::verdict::Verdict;
use crate::ksys::probes::Probes;
use crate::ui::sysfs::{written_name, Report};
use crate::Shared;

/// The most names one write may hold.
pub(crate) const SURVEY_MAX: usize = 64;

pub(crate) fn store(shared: &Shared, input: &[u8]) -> Result {
    let names = input.split(|&b| b == b'\n' || b == b' ').filter(|t| !t.is_empty());
    let count = names.clone().count();
    if count == 0 || count > SURVEY_MAX {
        pr_info!("survey: expected 1 to {} names, got {}\n", SURVEY_MAX, count);
        return Err(EINVAL);
    }
    for name in names.clone() {
        written_name(name, "survey")?;
    }
    let mut out = Report::new();
    {
        let ctl = shared.control.lock();
        let mut probes = Probes::new(count * (1 + MAX_REGION))?;
        for name in names {
            let (text, c) = written_name(name, "survey")?;
            let planned = ctl.engine.plan(&mut probes, c.as_cstr())?;
            match &planned.verdict {
                Verdict::Plannable(plan) => writeln!(out, "{} ok M={}", text, plan.m()),
                v => writeln!(out, "{} {}", text, v.code()),
            }
            .map_err(|_| ENOMEM)?;
        }
        // `probes` goes here: one grace period for the whole write.
    }
    out.check_fits().inspect_err(|_| pr_info!("survey: the verdicts would not fit a page: write fewer names\n"))?;
    *shared.survey.lock() = out;
    Ok(())
}
