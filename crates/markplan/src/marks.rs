//! The bytes that replace each instruction of the region, and how each
//! replacement is written.
//!
//! For Ik, k < M: `push %rsp` (0x54) followed by ONE NOP instruction that
//! covers the rest of Ik, so every instruction boundary of the original is
//! still a boundary, and a thread stopped at any boundary resumes at a whole
//! instruction. For IM: `jmp rel32` to the patch's stub followed by one NOP.
//!
//! Each replacement is written by one atomic compare-and-exchange on the
//! aligned 8- or 16-byte window that holds the whole instruction, or, when the
//! instruction straddles a 16-byte boundary, by the int3 protocol.

use alloc::vec::Vec;

use crate::plan::Plan;
use crate::refusal::Refusal;

/// `push %rsp`: the mark. It stores the old RSP, so the slot at address A
/// holds A + 8.
pub const PUSH_RSP: u8 = 0x54;

/// `int3`: the int3 protocol's first byte, and what free code space holds.
pub const INT3: u8 = 0xcc;

/// `jmp rel32`.
pub const JMP_REL32: u8 = 0xe9;

/// The longest filler [`nop_filler`] makes: a 15-byte instruction less the
/// one-byte `push %rsp`.
pub const MAX_FILLER: usize = 14;

/// The standard x86 NOPs of 1 to 9 bytes (Intel SDM, "Recommended Multi-Byte
/// Sequence of NOP Instruction"), each one instruction.
const NOPS: [&[u8]; 10] = [
    &[],
    &[0x90],
    &[0x66, 0x90],
    &[0x0f, 0x1f, 0x00],
    &[0x0f, 0x1f, 0x40, 0x00],
    &[0x0f, 0x1f, 0x44, 0x00, 0x00],
    &[0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00],
    &[0x0f, 0x1f, 0x80, 0x00, 0x00, 0x00, 0x00],
    &[0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00],
    &[0x66, 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00],
];

/// `cs nopw 0x0(%rax,%rax,1)`, the 10-byte NOP gas emits; longer fillers add
/// `66` prefixes in front of it.
const NOP10: [u8; 10] = [0x66, 0x2e, 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00];

/// Appends one NOP instruction of exactly `len` bytes (nothing for 0).
/// Returns false, appending nothing, when `len` > [`MAX_FILLER`].
pub fn push_nop_filler(out: &mut Vec<u8>, len: usize) -> bool {
    if let Some(nop) = NOPS.get(len) {
        out.extend_from_slice(nop);
        return true;
    }
    if len > MAX_FILLER {
        return false;
    }
    // 10..=14: (len - 10) extra operand-size prefixes, still one instruction.
    for _ in NOP10.len()..len {
        out.push(0x66);
    }
    out.extend_from_slice(&NOP10);
    true
}

/// One NOP instruction of exactly `len` bytes (empty for 0), or None when
/// `len` > [`MAX_FILLER`].
pub fn nop_filler(len: usize) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(len);
    push_nop_filler(&mut out, len).then_some(out)
}

/// The mark for an instruction of `len` bytes (1..=15): `push %rsp` and one
/// NOP for the rest.
pub fn mark_bytes(len: usize) -> Option<Vec<u8>> {
    let filler = len.checked_sub(1)?;
    let mut out = Vec::with_capacity(len);
    out.push(PUSH_RSP);
    push_nop_filler(&mut out, filler).then_some(out)
}

/// `jmp rel32` from an instruction of `len` bytes at `at` to `target`,
/// followed by one NOP for the rest of the instruction. None when `len` < 5,
/// `len` > 15 or the target is out of rel32 range.
pub fn jmp_bytes(at: u64, len: usize, target: u64) -> Option<Vec<u8>> {
    let filler = len.checked_sub(5)?;
    let rel = rel32(at.wrapping_add(5), target)?;
    let mut out = Vec::with_capacity(len);
    out.push(JMP_REL32);
    out.extend_from_slice(&rel.to_le_bytes());
    push_nop_filler(&mut out, filler).then_some(out)
}

/// The rel32 that takes an instruction ending at `next` to `target`, if it
/// fits.
pub fn rel32(next: u64, target: u64) -> Option<i32> {
    i32::try_from(target.wrapping_sub(next) as i64).ok()
}

/// The bytes to write over IM: `jmp rel32` to the stub at `stub_addr` and a
/// NOP for the rest. Refuses when the stub is out of rel32 range.
pub fn jmp_to_stub(plan: &Plan, stub_addr: u64) -> Result<Vec<u8>, Refusal> {
    let last = plan.insns.last().ok_or(Refusal::Internal)?;
    let at = plan.addr.wrapping_add(last.offset as u64);
    jmp_bytes(at, last.len, stub_addr).ok_or(Refusal::StubOutOfRange { stub: stub_addr })
}

/// The bytes to write over instruction `index` (0-based: index 0 is I1) of
/// the plan, once the stub's address is known: the mark for k < M, the jump
/// to the stub for IM.
pub fn replacement_bytes(plan: &Plan, index: usize, stub_addr: u64) -> Result<Vec<u8>, Refusal> {
    let insn = plan.insns.get(index).ok_or(Refusal::Internal)?;
    if index + 1 == plan.insns.len() {
        jmp_to_stub(plan, stub_addr)
    } else {
        Ok(insn.replacement.clone())
    }
}

/// How one instruction's replacement is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteMethod {
    /// One `lock cmpxchg` on the aligned 8 bytes at `start`.
    Window8 { start: u64 },
    /// One `lock cmpxchg16b` on the aligned 16 bytes at `start`.
    Window16 { start: u64 },
    /// The instruction straddles an aligned 16-byte window: int3 over the
    /// first byte, the other bytes, then the first byte, serialising after
    /// each step.
    Trap,
}

impl WriteMethod {
    /// The method for an instruction of `len` bytes at address `addr`.
    pub fn for_insn(addr: u64, len: usize) -> WriteMethod {
        let last = addr.wrapping_add((len as u64).saturating_sub(1));
        if len == 0 || last < addr {
            WriteMethod::Trap
        } else if addr & !7 == last & !7 {
            WriteMethod::Window8 { start: addr & !7 }
        } else if addr & !15 == last & !15 {
            WriteMethod::Window16 { start: addr & !15 }
        } else {
            WriteMethod::Trap
        }
    }

    /// The window's start and size, or None for [`WriteMethod::Trap`].
    pub fn window(&self) -> Option<(u64, usize)> {
        match *self {
            WriteMethod::Window8 { start } => Some((start, 8)),
            WriteMethod::Window16 { start } => Some((start, 16)),
            WriteMethod::Trap => None,
        }
    }
}

/// The old and new values of a window, little-endian, for one cmpxchg.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WindowValues {
    U64 { old: u64, new: u64 },
    U128 { old: u128, new: u128 },
}

/// Given the `current` bytes of the window that `method` names (8 or 16 of
/// them, read from the live text), the instruction's address and the bytes
/// expected there now (`expected`: the original on install, the
/// replacement on revert), returns the cmpxchg's old value (the current
/// window) and new value (the same window with only the instruction's bytes
/// changed to `new`).
///
/// Refuses when `method` is [`WriteMethod::Trap`], when the sizes do not
/// match, when the instruction does not lie inside the window, or when the
/// bytes at the instruction are not `expected` (someone else changed them).
pub fn window_values(
    method: WriteMethod,
    current: &[u8],
    insn_addr: u64,
    expected: &[u8],
    new: &[u8],
) -> Result<WindowValues, Refusal> {
    let (start, size) = method.window().ok_or(Refusal::Internal)?;
    if current.len() != size || expected.len() != new.len() {
        return Err(Refusal::Internal);
    }
    let at = usize::try_from(insn_addr.wrapping_sub(start)).map_err(|_| Refusal::Internal)?;
    let end = at.checked_add(new.len()).ok_or(Refusal::Internal)?;
    if insn_addr < start || end > size {
        return Err(Refusal::Internal);
    }
    if current.get(at..end) != Some(expected) {
        return Err(Refusal::TextChanged { addr: insn_addr });
    }
    let mut updated = [0u8; 16];
    let mut old_bytes = [0u8; 16];
    // Both lengths are `size` (8 or 16), checked above.
    old_bytes[..size].copy_from_slice(current);
    updated[..size].copy_from_slice(current);
    updated[at..end].copy_from_slice(new);
    Ok(if size == 8 {
        let mut o = [0u8; 8];
        let mut n = [0u8; 8];
        o.copy_from_slice(&old_bytes[..8]);
        n.copy_from_slice(&updated[..8]);
        WindowValues::U64 {
            old: u64::from_le_bytes(o),
            new: u64::from_le_bytes(n),
        }
    } else {
        WindowValues::U128 {
            old: u128::from_le_bytes(old_bytes),
            new: u128::from_le_bytes(updated),
        }
    })
}

/// What one instruction of a region holds now, as a revert sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InsnBytes {
    /// Its original bytes.
    Original,
    /// What markpatch wrote: a mark, or the jmp to the stub.
    Replaced,
    /// Part-way through markpatch's int3 protocol: int3 over the first
    /// byte (markpatch's own trap is set), the other bytes original or
    /// replaced.
    Trapped,
    /// Anything else: another writer's bytes (a kprobe's int3 or jump,
    /// ftrace, another patcher). Restoring over them would destroy theirs,
    /// and they would later put back bytes of ours over the original.
    Foreign,
}

/// Classifies `current`, the bytes of an instruction whose original bytes
/// are `original` and whose installed bytes are `replacement` (same
/// length); `trapped`: markpatch's int3 handler claims an int3 there.
pub fn classify(current: &[u8], original: &[u8], replacement: &[u8], trapped: bool) -> InsnBytes {
    if current.len() != original.len() || current.len() != replacement.len() || current.is_empty() {
        return InsnBytes::Foreign;
    }
    if current == original {
        InsnBytes::Original
    } else if current == replacement {
        InsnBytes::Replaced
    } else if trapped && current[0] == INT3 && (current[1..] == original[1..] || current[1..] == replacement[1..]) {
        InsnBytes::Trapped
    } else {
        InsnBytes::Foreign
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_or_wrapping_instruction_is_written_with_int3() {
        assert_eq!(WriteMethod::for_insn(0x1000, 0), WriteMethod::Trap);
        assert_eq!(WriteMethod::for_insn(u64::MAX - 1, 4), WriteMethod::Trap);
        assert_eq!(WriteMethod::for_insn(0x1000, 1), WriteMethod::Window8 { start: 0x1000 });
    }
    use crate::decode::decode_insns;
    use iced_x86::Mnemonic;

    #[test]
    fn every_filler_decodes_as_one_nop_of_its_length() {
        for len in 1..=MAX_FILLER {
            let bytes = nop_filler(len).unwrap();
            assert_eq!(bytes.len(), len);
            let insns = decode_insns(&bytes, 0, 16).unwrap();
            assert_eq!(insns.len(), 1, "filler of {len} bytes: {bytes:02x?}");
            assert_eq!(insns[0].len, len);
            assert_eq!(insns[0].insn.mnemonic(), Mnemonic::Nop, "filler of {len} bytes");
        }
        assert_eq!(nop_filler(0).unwrap(), []);
        assert!(nop_filler(MAX_FILLER + 1).is_none());
    }

    #[test]
    fn every_mark_is_push_rsp_and_one_nop() {
        for len in 1..=15 {
            let bytes = mark_bytes(len).unwrap();
            assert_eq!(bytes.len(), len);
            let insns = decode_insns(&bytes, 0, 16).unwrap();
            assert_eq!(insns[0].len, 1);
            assert_eq!(crate::decode::format_gas(&insns[0].insn), "push %rsp");
            assert_eq!(insns.len(), if len == 1 { 1 } else { 2 });
            if len > 1 {
                assert_eq!(insns[1].insn.mnemonic(), Mnemonic::Nop);
            }
        }
        assert!(mark_bytes(0).is_none());
        assert!(mark_bytes(16).is_none());
    }

    #[test]
    fn jmp_encodes_rel32_and_fills() {
        let at = 0xffff_ffff_8100_0010;
        let target = 0xffff_ffff_a000_0000;
        for len in 5..=15 {
            let bytes = jmp_bytes(at, len, target).unwrap();
            let insns = decode_insns(&bytes, at, 16).unwrap();
            assert_eq!(bytes.len(), len);
            assert_eq!(insns[0].insn.mnemonic(), Mnemonic::Jmp);
            assert_eq!(insns[0].len, 5);
            assert_eq!(insns[0].insn.near_branch_target(), target);
            assert_eq!(insns.len(), if len == 5 { 1 } else { 2 });
        }
        assert!(jmp_bytes(at, 4, target).is_none());
        // 3 GB away does not fit.
        assert!(jmp_bytes(at, 5, at.wrapping_sub(0xc000_0000)).is_none());
        // rel32 counts from the end of the jmp: -2 GB exactly fits, one more does not.
        assert!(jmp_bytes(at, 5, (at + 5).wrapping_sub(0x8000_0000)).is_some());
        assert!(jmp_bytes(at, 5, (at + 4).wrapping_sub(0x8000_0000)).is_none());
        assert!(jmp_bytes(at, 5, (at + 5).wrapping_add(0x7fff_ffff)).is_some());
        assert!(jmp_bytes(at, 5, (at + 5).wrapping_add(0x8000_0000)).is_none());
    }

    #[test]
    fn write_method_by_alignment() {
        let base = 0xffff_ffff_8100_0000u64;
        assert_eq!(WriteMethod::for_insn(base, 8), WriteMethod::Window8 { start: base });
        assert_eq!(WriteMethod::for_insn(base + 7, 1), WriteMethod::Window8 { start: base });
        assert_eq!(WriteMethod::for_insn(base + 3, 5), WriteMethod::Window8 { start: base });
        assert_eq!(
            WriteMethod::for_insn(base + 4, 5),
            WriteMethod::Window16 { start: base }
        );
        assert_eq!(
            WriteMethod::for_insn(base + 9, 5),
            WriteMethod::Window8 { start: base + 8 }
        );
        assert_eq!(
            WriteMethod::for_insn(base + 1, 15),
            WriteMethod::Window16 { start: base }
        );
        assert_eq!(WriteMethod::for_insn(base + 2, 15), WriteMethod::Trap);
        assert_eq!(WriteMethod::for_insn(base + 14, 3), WriteMethod::Trap);
        assert_eq!(
            WriteMethod::for_insn(base + 15, 1),
            WriteMethod::Window8 { start: base + 8 }
        );
        assert_eq!(WriteMethod::for_insn(base + 0x1c, 5), WriteMethod::Trap);
        assert_eq!(
            WriteMethod::for_insn(base + 0x18, 5),
            WriteMethod::Window8 { start: base + 0x18 }
        );
    }

    #[test]
    fn window_values_change_only_the_instruction() {
        let start = 0x1000u64;
        let current: [u8; 8] = [0x11, 0x22, 0x41, 0x56, 0x33, 0x44, 0x55, 0x66];
        let v = window_values(
            WriteMethod::Window8 { start },
            &current,
            start + 2,
            &[0x41, 0x56],
            &[0x54, 0x90],
        )
        .unwrap();
        assert_eq!(
            v,
            WindowValues::U64 {
                old: u64::from_le_bytes(current),
                new: u64::from_le_bytes([0x11, 0x22, 0x54, 0x90, 0x33, 0x44, 0x55, 0x66]),
            }
        );
        let current16: [u8; 16] = core::array::from_fn(|i| i as u8);
        let v = window_values(
            WriteMethod::Window16 { start },
            &current16,
            start + 6,
            &[6, 7, 8],
            &[0x54, 0x66, 0x90],
        )
        .unwrap();
        let mut expect = current16;
        expect[6..9].copy_from_slice(&[0x54, 0x66, 0x90]);
        assert_eq!(
            v,
            WindowValues::U128 {
                old: u128::from_le_bytes(current16),
                new: u128::from_le_bytes(expect)
            }
        );
    }

    #[test]
    fn window_values_refuse_changed_or_misplaced_bytes() {
        let start = 0x1000u64;
        let current = [0u8; 8];
        let w8 = WriteMethod::Window8 { start };
        assert_eq!(
            window_values(w8, &current, start, &[1], &[2]),
            Err(Refusal::TextChanged { addr: start })
        );
        assert_eq!(
            window_values(w8, &current, start + 7, &[0, 0], &[1, 1]),
            Err(Refusal::Internal)
        );
        assert_eq!(
            window_values(w8, &current, start - 1, &[0], &[1]),
            Err(Refusal::Internal)
        );
        assert_eq!(
            window_values(w8, &current[..4], start, &[0], &[1]),
            Err(Refusal::Internal)
        );
        assert_eq!(
            window_values(WriteMethod::Trap, &current, start, &[0], &[1]),
            Err(Refusal::Internal)
        );
        assert_eq!(
            window_values(w8, &current, start, &[0], &[1, 2]),
            Err(Refusal::Internal)
        );
    }

    #[test]
    fn a_revert_tells_its_own_bytes_from_another_writers() {
        let original = [0x48, 0x89, 0xfb];
        let mark = [PUSH_RSP, 0x66, 0x90];
        assert_eq!(classify(&original, &original, &mark, false), InsnBytes::Original);
        assert_eq!(classify(&mark, &original, &mark, false), InsnBytes::Replaced);
        // A kprobe's int3 over a mark: not ours unless our trap is set.
        let probed = [INT3, 0x66, 0x90];
        assert_eq!(classify(&probed, &original, &mark, false), InsnBytes::Foreign);
        assert_eq!(classify(&probed, &original, &mark, true), InsnBytes::Trapped);
        assert_eq!(classify(&[INT3, 0x89, 0xfb], &original, &mark, true), InsnBytes::Trapped);
        // Our trap, but the tail is neither ours nor the original's.
        assert_eq!(classify(&[INT3, 0x00, 0x90], &original, &mark, true), InsnBytes::Foreign);
        // An optimized kprobe's jump over the region.
        assert_eq!(classify(&[0xe9, 0x12, 0x34], &original, &mark, false), InsnBytes::Foreign);
        assert_eq!(classify(&[], &[], &[], false), InsnBytes::Foreign);
        // Bytes of another length than the original are nobody's, even
        // when they equal the replacement.
        assert_eq!(classify(&mark, &original[..2], &mark, false), InsnBytes::Foreign);
        assert_eq!(classify(&original, &original, &mark[..2], false), InsnBytes::Foreign);
    }
}
