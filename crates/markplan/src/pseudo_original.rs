//! The pseudo-original P: I1..IM relocated to run at P's address, with an
//! entry point for each Ik, then a jump back to the original IM+1.
//!
//! The resolver continues a thread at P's entry for Ik with an indirect jump,
//! and a hook that calls the original enters P's entry for I1 with an
//! indirect call: with IBT each entry starts with ENDBR64 (a NOP on the
//! fall-through path from Ik-1).
//!
//! A `call rel32` (always IM) becomes `push $<original address of IM+1>`
//! (sign-extended imm32) and `jmp <callee>`: the callee returns into the
//! original function, where its unwind data is, and never into P, which may
//! be freed while the callee sleeps.

use alloc::vec::Vec;
use iced_x86::{BlockEncoder, BlockEncoderOptions, Code, Decoder, DecoderOptions, Instruction, InstructionBlock};

use crate::plan::{fits_push_imm32, Plan};
use crate::refusal::Refusal;

/// The relocated region.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PseudoOriginal {
    /// The code, to be copied to `p_addr`.
    pub bytes: Vec<u8>,
    /// Offset in `bytes` of the entry for each Ik (0-based like
    /// `Plan::insns`): the ENDBR before its copy with IBT, else the copy.
    pub entries: Vec<usize>,
}

impl PseudoOriginal {
    /// Total length in bytes.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Whether there are no bytes (never, for a built one).
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }
}

/// An upper bound of the pseudo-original's length for a plan, whatever its
/// address: size the executable allocation with it before building.
pub fn max_len(plan: &Plan, ibt: bool) -> usize {
    let endbr = if ibt { 4 } else { 0 };
    // A short branch grows by at most 7 bytes (loop rel8 becomes loop,
    // jmp short, jmp rel32); a call becomes push imm32 + jmp rel32 (10).
    plan.insns
        .iter()
        .map(|i| endbr + core::cmp::max(i.len + 7, 10))
        .sum::<usize>()
        + 5
}

/// Farthest distance (bytes) allowed between P and any absolute target, a
/// margin below the 2 GB of rel32 so P's own length never matters.
const REACH: u64 = 0x7fff_0000;

fn within_reach(p_addr: u64, target: u64) -> bool {
    let d = target.wrapping_sub(p_addr) as i64;
    d.unsigned_abs() <= REACH
}

/// Builds P for `plan` to run at `p_addr`. `code` and `addr` are the
/// function's bytes and address (checked against the plan).
pub fn build(plan: &Plan, code: &[u8], addr: u64, p_addr: u64, ibt: bool) -> Result<PseudoOriginal, Refusal> {
    if addr != plan.addr || plan.insns.is_empty() {
        return Err(Refusal::Internal);
    }
    let region_end_addr = addr.wrapping_add(plan.region_end() as u64);

    // The instructions to encode, and for each Ik the index of its entry.
    let mut block: Vec<Instruction> = Vec::with_capacity(plan.m() * 3 + 1);
    let mut entry_index = Vec::with_capacity(plan.m());
    for planned in &plan.insns {
        let bytes = code
            .get(planned.offset..planned.offset + planned.len)
            .ok_or(Refusal::Internal)?;
        if bytes != planned.original.as_slice() {
            return Err(Refusal::TextChanged {
                addr: addr.wrapping_add(planned.offset as u64),
            });
        }
        let ip = addr.wrapping_add(planned.offset as u64);
        let mut decoder = Decoder::with_ip(64, bytes, ip, DecoderOptions::NONE);
        let insn = decoder.decode();
        let site = planned.is_padded_exit() && matches!(insn.code(), Code::Retnq | Code::Jmp_rel8_64);
        if insn.is_invalid() || (insn.len() != planned.len && !site) {
            return Err(Refusal::Undecodable { offset: planned.offset });
        }
        check_reach(&insn, p_addr, planned.offset)?;

        entry_index.push(block.len());
        if ibt {
            // IP 0: not a branch target of its own; branches inside the
            // region go to the copy after it (an ENDBR is only needed for
            // indirect arrivals, which use the entry offset).
            block.push(Instruction::with(Code::Endbr64));
        }
        if insn.code() == Code::Call_rel32_64 {
            let ret = insn.next_ip();
            if !fits_push_imm32(ret) {
                return Err(Refusal::ReturnAddressTooWide { offset: planned.offset });
            }
            // The push keeps the call's IP, so a branch to the call inside
            // the region lands on it.
            let mut push = Instruction::with1(Code::Pushq_imm32, ret as i64 as i32).map_err(|_| Refusal::Encoder)?;
            push.set_ip(ip);
            block.push(push);
            block.push(
                Instruction::with_branch(Code::Jmp_rel32_64, insn.near_branch_target())
                    .map_err(|_| Refusal::Encoder)?,
            );
        } else {
            block.push(insn);
        }
    }
    if !within_reach(p_addr, region_end_addr) {
        return Err(Refusal::OutOfRange {
            offset: plan.region_end(),
        });
    }
    block.push(Instruction::with_branch(Code::Jmp_rel32_64, region_end_addr).map_err(|_| Refusal::Encoder)?);

    let result = BlockEncoder::encode(
        64,
        InstructionBlock::new(&block, p_addr),
        BlockEncoderOptions::RETURN_NEW_INSTRUCTION_OFFSETS,
    )
    .map_err(|_| Refusal::Encoder)?;
    // u32::MAX marks an instruction the encoder had to rewrite (a branch
    // too far, turned into an indirect jump): never acceptable here.
    if result.new_instruction_offsets.len() != block.len() || result.new_instruction_offsets.contains(&u32::MAX) {
        return Err(Refusal::OutOfRange {
            offset: plan.region_start(),
        });
    }
    let entries = entry_index
        .iter()
        .map(|&i| {
            result
                .new_instruction_offsets
                .get(i)
                .map(|&o| o as usize)
                .ok_or(Refusal::Internal)
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(PseudoOriginal {
        bytes: result.code_buffer,
        entries,
    })
}

/// Refuses when a branch target or RIP-relative operand of the instruction
/// is too far from P for rel32.
fn check_reach(insn: &Instruction, p_addr: u64, offset: usize) -> Result<(), Refusal> {
    if insn.is_ip_rel_memory_operand() && !within_reach(p_addr, insn.ip_rel_memory_address()) {
        return Err(Refusal::OutOfRange { offset });
    }
    if insn.op_count() > 0
        && insn.op0_kind() == iced_x86::OpKind::NearBranch64
        && !within_reach(p_addr, insn.near_branch_target())
    {
        return Err(Refusal::OutOfRange { offset });
    }
    Ok(())
}

/// Where a built pseudo-original differs from its plan (see [`verify`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mismatch {
    /// The region index (0-based) whose copy differs; M for the final jump.
    pub index: usize,
    /// What differs.
    pub what: &'static str,
}

impl core::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "pseudo-original, instruction {}: {}", self.index, self.what)
    }
}

/// Decodes `p` (built for `p_addr`) and checks it against the plan: each
/// entry starts with ENDBR64 when `ibt`, then the copy of Ik with the same
/// mnemonic and operands and the same ABSOLUTE branch and RIP-relative
/// targets (a branch to an instruction of the region goes to that
/// instruction's copy in P); a `call` became `push $<IM+1>` + `jmp callee`;
/// the copies follow each other with nothing in between, and the last
/// instruction is `jmp` to the original IM+1. A cheap self-check the kernel
/// side can run after [`build`], and what the tests assert.
pub fn verify(plan: &Plan, code: &[u8], p_addr: u64, ibt: bool, p: &PseudoOriginal) -> Result<(), Mismatch> {
    let m = plan.m();
    let fail = |index: usize, what: &'static str| Mismatch { index, what };
    if p.entries.len() != m {
        return Err(fail(0, "entry count differs from the region"));
    }
    // Where a branch to region index t must go in P: its copy (after the
    // ENDBR).
    let endbr_len = if ibt { 4 } else { 0 };
    let copy_addr = |t: usize| p.entries.get(t).map(|&e| p_addr.wrapping_add((e + endbr_len) as u64));
    let region_start = plan.addr.wrapping_add(plan.region_start() as u64);
    let region_end = plan.addr.wrapping_add(plan.region_end() as u64);
    let map_target = |target: u64| -> Option<u64> {
        if (region_start..region_end).contains(&target) {
            let t = plan
                .insns
                .iter()
                .position(|i| plan.addr.wrapping_add(i.offset as u64) == target)?;
            copy_addr(t)
        } else {
            Some(target)
        }
    };

    let mut decoder = Decoder::with_ip(64, &p.bytes, p_addr, DecoderOptions::NONE);
    let mut next = || -> Option<(usize, Instruction)> {
        if !decoder.can_decode() {
            return None;
        }
        let at = decoder.position();
        let insn = decoder.decode();
        (!insn.is_invalid()).then_some((at, insn))
    };
    for (index, planned) in plan.insns.iter().enumerate() {
        let bytes = code
            .get(planned.offset..planned.offset + planned.len)
            .ok_or(fail(index, "plan outside code"))?;
        let orig = Decoder::with_ip(
            64,
            bytes,
            plan.addr.wrapping_add(planned.offset as u64),
            DecoderOptions::NONE,
        )
        .decode();
        let (at, mut insn) = next().ok_or(fail(index, "undecodable or missing"))?;
        if Some(&at) != p.entries.get(index) {
            return Err(fail(index, "entry offset is not where the copy starts"));
        }
        if ibt {
            if insn.code() != Code::Endbr64 {
                return Err(fail(index, "entry does not start with endbr64"));
            }
            insn = next().ok_or(fail(index, "nothing after endbr64"))?.1;
        }
        if orig.code() == Code::Call_rel32_64 {
            if insn.code() != Code::Pushq_imm32 || insn.immediate(0) != orig.next_ip() {
                return Err(fail(index, "call not relocated as push of the return address"));
            }
            let jmp = next().ok_or(fail(index, "nothing after the push"))?.1;
            if jmp.mnemonic() != iced_x86::Mnemonic::Jmp || jmp.near_branch_target() != orig.near_branch_target() {
                return Err(fail(index, "call not relocated as jmp to the callee"));
            }
            continue;
        }
        same_operands(&orig, &insn, &map_target).map_err(|what| fail(index, what))?;
    }
    let (_, last) = next().ok_or(fail(m, "no final jump"))?;
    if last.mnemonic() != iced_x86::Mnemonic::Jmp || last.near_branch_target() != region_end {
        return Err(fail(m, "final instruction is not jmp to IM+1"));
    }
    if next().is_some() || decoder_left(&p.bytes, p_addr) {
        return Err(fail(m, "bytes after the final jump"));
    }
    Ok(())
}

/// Whether `bytes` hold anything after their last whole instruction
/// (a partial or invalid instruction at the end).
fn decoder_left(bytes: &[u8], ip: u64) -> bool {
    let mut decoder = Decoder::with_ip(64, bytes, ip, DecoderOptions::NONE);
    while decoder.can_decode() {
        if decoder.decode().is_invalid() {
            return true;
        }
    }
    false
}

/// Compares a relocated instruction with its original: mnemonic, prefixes,
/// every operand, with branch and RIP-relative targets compared as absolute
/// addresses (`map_target` gives where a target must be in P).
fn same_operands(
    orig: &Instruction,
    copy: &Instruction,
    map_target: &dyn Fn(u64) -> Option<u64>,
) -> Result<(), &'static str> {
    use iced_x86::OpKind;
    if orig.mnemonic() != copy.mnemonic() {
        return Err("mnemonic differs");
    }
    if orig.op_count() != copy.op_count() {
        return Err("operand count differs");
    }
    if orig.has_lock_prefix() != copy.has_lock_prefix()
        || orig.has_rep_prefix() != copy.has_rep_prefix()
        || orig.has_repne_prefix() != copy.has_repne_prefix()
        || orig.segment_prefix() != copy.segment_prefix()
    {
        return Err("prefixes differ");
    }
    for op in 0..orig.op_count() {
        let (a, b) = (orig.op_kind(op), copy.op_kind(op));
        match a {
            OpKind::NearBranch16 | OpKind::NearBranch32 | OpKind::NearBranch64 => {
                if a != b {
                    return Err("branch operand kind differs");
                }
                if map_target(orig.near_branch_target()) != Some(copy.near_branch_target()) {
                    return Err("branch target differs");
                }
            }
            OpKind::Register => {
                if b != a || orig.op_register(op) != copy.op_register(op) {
                    return Err("register operand differs");
                }
            }
            OpKind::Memory => {
                if b != a
                    || orig.memory_size() != copy.memory_size()
                    || orig.memory_index() != copy.memory_index()
                    || orig.memory_index_scale() != copy.memory_index_scale()
                    || orig.memory_segment() != copy.memory_segment()
                {
                    return Err("memory operand differs");
                }
                if orig.is_ip_rel_memory_operand() {
                    if !copy.is_ip_rel_memory_operand()
                        || map_target(orig.ip_rel_memory_address()) != Some(copy.ip_rel_memory_address())
                    {
                        return Err("RIP-relative target differs");
                    }
                } else if orig.memory_base() != copy.memory_base()
                    || orig.memory_displacement64() != copy.memory_displacement64()
                {
                    return Err("memory operand differs");
                }
            }
            _ => {
                if b != a {
                    return Err("operand kind differs");
                }
                if orig.try_immediate(op).ok() != copy.try_immediate(op).ok() {
                    return Err("immediate differs");
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
