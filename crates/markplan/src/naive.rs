//! The "direct" method the patent measures itself against, for
//! `make torture-compare` only: a 5-byte `jmp` written over the first
//! instructions of a function with one ordinary copy, no marks and no
//! resolver. A thread that is between those instructions when the copy
//! lands (or that fetches them while it is being made) resumes inside the
//! `jmp`'s bytes: the failure markpatch exists to avoid. The kernel side
//! reaches this only through the `naive_unsafe` module parameter.
//!
//! The plan has the instructions I1..Ij that the 5 bytes cover (the
//! pseudo-original is built from them as usual); each `replacement` is that
//! instruction's slice of `jmp rel32` + NOP filler over the whole span, with
//! a zero displacement until the stub is known ([`span_bytes`]).

use alloc::vec::Vec;
use iced_x86::{Decoder, DecoderOptions};

use crate::marks::{self, WriteMethod};
use crate::plan::{check_flow, check_region_operands, prefix_len, scan_branches, Facts, Plan, PlannedInsn, MAX_REGION};
use crate::refusal::Refusal;
use crate::resolve::RegUse;

/// Plans the direct method: the instructions from I1 that cover 5 bytes.
pub fn plan(code: &[u8], addr: u64, facts: &Facts<'_>) -> Result<Plan, Refusal> {
    let start = prefix_len(code, facts)?;
    let bytes = code.get(start..).ok_or(Refusal::TooShort { len: code.len() })?;
    let mut decoder = Decoder::with_ip(64, bytes, addr.wrapping_add(start as u64), DecoderOptions::NONE);
    let mut region = Vec::new();
    let mut span = 0usize;
    while span < 5 {
        let offset = start + decoder.position();
        if region.len() == MAX_REGION || !decoder.can_decode() {
            return Err(Refusal::TooShort { len: code.len() });
        }
        let insn = decoder.decode();
        if insn.is_invalid() {
            return Err(Refusal::Undecodable { offset });
        }
        check_flow(&insn, offset)?;
        if (facts.has_fixup)(addr.wrapping_add(offset as u64)) {
            return Err(Refusal::ExceptionFixup { offset });
        }
        span += insn.len();
        region.push((offset, insn));
    }
    let jmp = span_bytes(addr.wrapping_add(start as u64), span, addr.wrapping_add((start + 5) as u64))
        .ok_or(Refusal::Internal)?;
    let mut insns = Vec::with_capacity(region.len());
    for (offset, insn) in &region {
        let (offset, len) = (*offset, insn.len());
        insns.push(PlannedInsn {
            offset,
            len,
            original: code.get(offset..offset + len).ok_or(Refusal::Internal)?.to_vec(),
            replacement: jmp[offset - start..offset - start + len].to_vec(),
            stack_effect: 0,
            write: WriteMethod::Trap,
            is_call: false,
            reg_use: RegUse::default(),
        });
    }
    let plan = Plan { addr, prefix_len: start, insns, realign: None };
    check_region_operands(&plan, &region)?;
    scan_branches(code, addr, &plan, facts.cold)?;
    // What the direct method does refuse, as any competent detour does: a
    // branch to I2..Ij would land inside the jmp's bytes however the jmp
    // is written. What remains is the race this comparison is about.
    let (first, end) = (plan.region_start(), plan.region_end());
    for (part_addr, part) in core::iter::once((addr, code)).chain(facts.cold) {
        let mut decoder = Decoder::with_ip(64, part, part_addr, DecoderOptions::NONE);
        while decoder.can_decode() {
            let from = decoder.position();
            let insn = decoder.decode();
            if insn.is_invalid() {
                break;
            }
            if insn.op_count() > 0 && insn.op0_kind() == iced_x86::OpKind::NearBranch64 {
                let to = insn.near_branch_target().wrapping_sub(addr);
                if to > first as u64 && to < end as u64 {
                    let to = to as usize;
                    return Err(if part_addr == addr {
                        Refusal::BranchIntoInstruction { from, to }
                    } else {
                        Refusal::ColdBranch { from, to }
                    });
                }
            }
        }
    }
    Ok(plan)
}

/// `jmp rel32` from `at` to `target` and NOP filler, `len` bytes in all.
pub fn span_bytes(at: u64, len: usize, target: u64) -> Option<Vec<u8>> {
    marks::jmp_bytes(at, len, target)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{ENDBR64, FENTRY_NOP};

    #[test]
    fn covers_the_first_five_bytes_and_relocates() {
        // push %rbx; mov %rdi,%rbx; xor %eax,%eax; add $0x1234567,%rax
        let mut code = Vec::new();
        code.extend_from_slice(&ENDBR64);
        code.extend_from_slice(&FENTRY_NOP);
        code.extend_from_slice(&[0x53, 0x48, 0x89, 0xfb, 0x31, 0xc0, 0x48, 0x05, 0x67, 0x45, 0x23, 0x01, 0xc3]);
        code.extend_from_slice(&[0xcc; 8]);
        let addr = 0xffff_ffff_8100_0000;
        let facts = Facts { ibt: true, fentry: true, has_fixup: &|_| false, cold: None };
        let p = plan(&code, addr, &facts).unwrap();
        // push (1) + mov (3) + xor (2) = 6 bytes >= 5
        assert_eq!(p.insns.iter().map(|i| i.len).collect::<Vec<_>>(), [1, 3, 2]);
        let all: Vec<u8> = p.insns.iter().flat_map(|i| i.replacement.clone()).collect();
        assert_eq!(all[0], 0xe9);
        // Until the stub is known the jmp goes to the next instruction.
        assert_eq!(all[1..5], [0, 0, 0, 0]);
        assert_eq!(all.len(), 6);
        let p_addr = addr + 0x10_0000;
        let pseudo = crate::pseudo_original::build(&p, &code, addr, p_addr, true).unwrap();
        crate::pseudo_original::verify(&p, &code, p_addr, true, &pseudo).unwrap();
    }

    #[test]
    fn refuses_a_cold_parts_jump_into_the_span() {
        // push %rbx (+9); mov %rdi,%rbx (+10); xor %eax,%eax (+13): the jmp
        // covers all three; the .cold part jumps back onto the xor.
        let code = function(&[0x53, 0x48, 0x89, 0xfb, 0x31, 0xc0, 0x48, 0x05, 0x67, 0x45, 0x23, 0x01]);
        let addr = 0xffff_ffff_8100_0000u64;
        let cold_addr = addr + 0x8000;
        let mut cold = alloc::vec![0xe9];
        cold.extend_from_slice(&((addr + 13).wrapping_sub(cold_addr + 5) as u32).to_le_bytes());
        assert!(plan(&code, addr, &facts()).is_ok());
        let with_cold = Facts { cold: Some((cold_addr, &cold)), ..facts() };
        assert_eq!(plan(&code, addr, &with_cold).unwrap_err(), Refusal::ColdBranch { from: 0, to: 13 });
    }

    #[test]
    fn refuses_a_branch_into_the_span() {
        // inc %rdi (I1, +9); test $7,%dil (I2, +12); jnz back to I2.
        let mut code = Vec::new();
        code.extend_from_slice(&ENDBR64);
        code.extend_from_slice(&FENTRY_NOP);
        code.extend_from_slice(&[0x48, 0xff, 0xc7, 0x40, 0xf6, 0xc7, 0x07, 0x75, 0xfa, 0xc3]);
        code.extend_from_slice(&[0xcc; 8]);
        let facts = Facts { ibt: true, fentry: true, has_fixup: &|_| false, cold: None };
        assert!(matches!(
            plan(&code, 0xffff_ffff_8100_0000, &facts),
            Err(Refusal::BranchIntoInstruction { .. })
        ));
    }

    /// ENDBR, the fentry NOP, `body`, then `ret` and int3 padding.
    fn function(body: &[u8]) -> Vec<u8> {
        let mut code = Vec::new();
        code.extend_from_slice(&ENDBR64);
        code.extend_from_slice(&FENTRY_NOP);
        code.extend_from_slice(body);
        code.push(0xc3);
        code.extend_from_slice(&[0xcc; 8]);
        code
    }

    fn facts() -> Facts<'static> {
        Facts { ibt: true, fentry: true, has_fixup: &|_| false, cold: None }
    }

    #[test]
    fn a_span_of_exactly_five_bytes_stops_there() {
        // mov $1,%eax (5 bytes, I1) ends the span; the ret after it is not in it.
        let p = plan(&function(&[0xb8, 0x01, 0x00, 0x00, 0x00]), 0xffff_ffff_8100_0000, &facts()).unwrap();
        assert_eq!(p.insns.iter().map(|i| i.len).collect::<Vec<_>>(), [5]);
    }

    #[test]
    fn a_branch_just_past_the_span_is_taken() {
        // I1 +9: inc %rdi (3); I2 +12: test $7,%dil (4): span [9, 16).
        // +16: jnz to +16, the first byte past the span: it lands on a
        // whole instruction, so it is allowed. (A branch to the span's
        // first byte is a back-edge to the entry, refused by the planner's
        // scan_branches before this method's own check.)
        let code = function(&[0x48, 0xff, 0xc7, 0x40, 0xf6, 0xc7, 0x07, 0x75, 0xfe]);
        let p = plan(&code, 0xffff_ffff_8100_0000, &facts()).unwrap();
        assert_eq!((p.region_start(), p.region_end()), (9, 16));
    }

    #[test]
    fn a_function_shorter_than_the_jmp_is_too_short() {
        // Two NOPs after the prefix, and nothing after them.
        let mut code = Vec::new();
        code.extend_from_slice(&ENDBR64);
        code.extend_from_slice(&FENTRY_NOP);
        code.extend_from_slice(&[0x90, 0x90]);
        assert_eq!(plan(&code, 0xffff_ffff_8100_0000, &facts()).unwrap_err(), Refusal::TooShort { len: 11 });
    }

    #[test]
    fn an_exception_fixup_in_the_span_is_refused() {
        let code = function(&[0xb8, 0x01, 0x00, 0x00, 0x00]);
        let addr = 0xffff_ffff_8100_0000u64;
        let f = Facts { ibt: true, fentry: true, has_fixup: &|a| a == addr + 9, cold: None };
        assert_eq!(plan(&code, addr, &f).unwrap_err(), Refusal::ExceptionFixup { offset: 9 });
    }
}
