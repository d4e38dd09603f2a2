// SPDX-License-Identifier: GPL-2.0

//! What the `plan` file and a patch's `code` file show.

use core::fmt::{self, Write};
use markplan::decode::write_texts as texts;
use markplan::marks::WriteMethod;

use crate::engine::patch::Patch;
use crate::engine::symbol_class::Class;
use crate::engine::verdict::{Planned, Verdict};
use crate::text;

fn method(w: WriteMethod) -> &'static str {
    match w {
        WriteMethod::Window8 { .. } => "window8",
        WriteMethod::Window16 { .. } => "window16",
        WriteMethod::Trap => "int3",
    }
}

/// The `plan` file: a first line saying plannable or refused (the
/// verdict's reason, and count-only for a function written in assembly),
/// then Ik.
pub(crate) fn plan(out: &mut dyn Write, name: &str, p: &Planned) -> fmt::Result {
    let count_only = if p.class == Class::Assembly { " count-only (written in assembly)" } else { "" };
    let (Verdict::Plannable(plan), Some(func)) = (&p.verdict, &p.func) else {
        let count_only = if matches!(p.verdict, Verdict::CountOnly) { "" } else { count_only };
        return writeln!(out, "{} {}{}", name, p.verdict.reason(), count_only);
    };
    writeln!(out, "{} {} prefix={} size={:#x}{}", name, p.verdict.reason(), plan.prefix_len, func.size, count_only)?;
    for (k, i) in plan.insns.iter().enumerate() {
        write!(out, "I{} +{:#x} len {} effect {:+} {} ", k + 1, i.offset, i.len, i.stack_effect, method(i.write))?;
        texts(out, &i.original, plan.addr + i.offset as u64, false)?;
        writeln!(out)?;
    }
    if plan.insns.iter().any(|i| i.reg_use.branch_target) {
        write!(out, "branches land on")?;
        for (k, _) in plan.insns.iter().enumerate().filter(|(_, i)| i.reg_use.branch_target) {
            write!(out, " I{}", k + 1)?;
        }
        writeln!(out)?;
    }
    if let Some(cold) = &p.cold {
        writeln!(out, "{}.cold size {:#x}: its branches into the region are checked as the function's own", name, cold.code.len())?;
    }
    if let Some(r) = plan.realign {
        if r.index + 1 < plan.m() {
            writeln!(
                out,
                "I{} realigns the stack to {} bytes: past it the resolver finds the entry at %rbp{:+} (set by I{})",
                r.index + 1,
                r.align,
                r.rbp_depth,
                r.mov_index + 1
            )?;
        }
    }
    Ok(())
}

/// A patch's `code` file: FIG. 1 of the patent as text. For each Ik, the
/// original instruction, what is in memory there now, and its copy in P.
pub(crate) fn code(out: &mut dyn Write, p: &Patch) -> fmt::Result {
    writeln!(out, "{} at +0 (stub at {:#x}, pseudo-original P at {:#x})", p.name(), p.stub_addr, p.p_addr)?;
    writeln!(out, "Ik  offset  original  |  in memory now  |  pseudo-original")?;
    let m = p.plan.m();
    for (k, i) in p.plan.insns.iter().enumerate() {
        let addr = p.plan.addr + i.offset as u64;
        write!(out, "I{:<2} +{:<#6x} ", k + 1, i.offset)?;
        texts(out, &i.original, addr, false)?;
        write!(out, "  |  ")?;
        let mut now = [0u8; 15];
        match text::read(addr, &mut now[..i.len]) {
            Ok(()) => texts(out, &now[..i.len], addr, false)?,
            Err(_) => write!(out, "?")?,
        }
        write!(out, "  |  P+{:#x} ", p.pseudo.entries[k])?;
        let end = p.pseudo.entries.get(k + 1).copied().unwrap_or(p.pseudo.len() - 5);
        let start = p.pseudo.entries[k];
        texts(out, &p.pseudo.bytes[start..end], p.p_addr + start as u64, true)?;
        writeln!(out)?;
    }
    let back = p.pseudo.len() - 5;
    write!(out, "P+{:#x} back to I{}+1: ", back, m)?;
    texts(out, &p.pseudo.bytes[back..], p.p_addr + back as u64, false)?;
    writeln!(out)
}
