//! Decoding the first instructions of a function into their boundaries.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use iced_x86::{Decoder, DecoderOptions, Formatter, GasFormatter, Instruction};

/// One decoded instruction: where it starts (relative to the bytes handed
/// in), how long it is, and the instruction itself.
#[derive(Clone, Debug)]
pub struct Insn {
    /// Offset of the first byte from the start of the decoded bytes.
    pub offset: usize,
    /// Length in bytes (1..=15).
    pub len: usize,
    /// The decoded instruction, with its IP set to the real address.
    pub insn: Instruction,
}

/// Why decoding stopped before it was asked to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// The bytes at `offset` are not a valid x86-64 instruction.
    Invalid { offset: usize },
    /// The instruction at `offset` runs past the end of the bytes.
    Truncated { offset: usize },
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Invalid { offset } => write!(f, "invalid instruction at +{offset:#x}"),
            DecodeError::Truncated { offset } => {
                write!(f, "instruction at +{offset:#x} runs past the bytes given")
            }
        }
    }
}

/// Decodes up to `max` instructions from `code`, which is the memory at
/// address `ip`. Stops early, without error, when the bytes end exactly on an
/// instruction boundary.
pub fn decode_insns(code: &[u8], ip: u64, max: usize) -> Result<Vec<Insn>, DecodeError> {
    let mut out = Vec::new();
    let mut decoder = Decoder::with_ip(64, code, ip, DecoderOptions::NONE);
    while out.len() < max && decoder.can_decode() {
        let offset = decoder.position();
        let insn = decoder.decode();
        if insn.is_invalid() {
            return Err(match decoder.last_error() {
                iced_x86::DecoderError::NoMoreBytes => DecodeError::Truncated { offset },
                _ => DecodeError::Invalid { offset },
            });
        }
        out.push(Insn { offset, len: insn.len(), insn });
    }
    Ok(out)
}

/// Builds iced-x86's lazily allocated tables (decoder, formatter, encoder)
/// now. The kernel module calls this once at load, on a fresh stack (some of
/// these initialisers have stack frames of several KiB) and in process
/// context, so that no later first use allocates in atomic context or runs
/// deep in a caller's stack.
pub fn warm_up() {
    // nop; mov 0x10(%rip),%rax; jne (rel8)
    const SAMPLE: &[u8] = &[0x90, 0x48, 0x8b, 0x05, 0x10, 0, 0, 0, 0x75, 0x02];
    if let Ok(insns) = decode_insns(SAMPLE, 0x1000, 3) {
        let mut copies = Vec::new();
        for i in &insns {
            let _ = format_gas(&i.insn);
            copies.push(i.insn);
        }
        let block = [iced_x86::InstructionBlock::new(&copies, 0x2000)];
        let _ = iced_x86::BlockEncoder::encode_slice(64, &block, iced_x86::BlockEncoderOptions::NONE);
    }
}

/// Formats one instruction in AT&T syntax, as objdump prints it.
pub fn format_gas(insn: &Instruction) -> String {
    let mut text = String::new();
    let mut formatter = GasFormatter::new();
    // objdump's style: lower-case hex with a 0x prefix.
    formatter.options_mut().set_uppercase_hex(false);
    formatter.options_mut().set_hex_prefix("0x");
    formatter.options_mut().set_hex_suffix("");
    formatter.format(insn, &mut text);
    text
}

/// Writes one line per instruction: offset, length, bytes and AT&T text,
/// tab-separated (`+0x9\t2\t41 56\tpush %r14`). This is what
/// /sys/kernel/markpatch/decode shows, and what the objdump cross-check reads.
pub fn write_listing(out: &mut dyn fmt::Write, code: &[u8], insns: &[Insn]) -> fmt::Result {
    for i in insns {
        write!(out, "+{:#x}\t{}\t", i.offset, i.len)?;
        for (n, b) in code[i.offset..i.offset + i.len].iter().enumerate() {
            write!(out, "{}{:02x}", if n == 0 { "" } else { " " }, b)?;
        }
        writeln!(out, "\t{}", format_gas(&i.insn))?;
    }
    Ok(())
}

/// Decodes the first `max` instructions of `code` (at `ip`, the start of a
/// function cut at some length) and writes their listing: a cut that falls
/// inside an instruction lists the whole ones before it. What the `decode`
/// file shows.
pub fn write_head(out: &mut dyn fmt::Write, code: &[u8], ip: u64, max: usize) -> Result<Result<(), fmt::Error>, DecodeError> {
    let insns = match decode_insns(code, ip, max) {
        Err(DecodeError::Truncated { offset }) => decode_insns(&code[..offset], ip, max)?,
        r => r?,
    };
    Ok(write_listing(out, code, &insns))
}

/// Every instruction in `code` (at `ip`, at most 8) in AT&T syntax, as
/// "text; text"; an `endbr64` left out when `skip_endbr`. Bytes that do not
/// decode are left out. What the `plan` and `code` files show of an
/// instruction and its copies.
pub fn write_texts(out: &mut dyn fmt::Write, code: &[u8], ip: u64, skip_endbr: bool) -> fmt::Result {
    let insns = decode_insns(code, ip, 8).unwrap_or_default();
    let mut first = true;
    for i in insns.iter() {
        let t = format_gas(&i.insn);
        if skip_endbr && t == "endbr64" {
            continue;
        }
        write!(out, "{}{}", if first { "" } else { "; " }, t)?;
        first = false;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    // The start of vfs_statfs in the 6.12 test kernel: endbr64, the fentry NOP,
    // push %r14, push %rbx, sub $0x78,%rsp.
    const VFS_STATFS: &[u8] = &[
        0xf3, 0x0f, 0x1e, 0xfa, 0x0f, 0x1f, 0x44, 0x00, 0x00, 0x41, 0x56, 0x53, 0x48, 0x83,
        0xec, 0x78,
    ];

    #[test]
    fn boundaries_and_lengths_of_a_real_prologue() {
        let insns = decode_insns(VFS_STATFS, 0xffff_ffff_8120_0000, 16).unwrap();
        let spans: Vec<(usize, usize)> = insns.iter().map(|i| (i.offset, i.len)).collect();
        assert_eq!(spans, [(0, 4), (4, 5), (9, 2), (11, 1), (12, 4)]);
        assert_eq!(format_gas(&insns[0].insn), "endbr64");
        assert_eq!(format_gas(&insns[2].insn), "push %r14");
        assert_eq!(format_gas(&insns[4].insn), "sub $0x78,%rsp");
        let call = decode_insns(&[0xe8, 0x75, 0xff, 0xff, 0xff], 0xffff_ffff_b623_209b, 1).unwrap();
        assert_eq!(format_gas(&call[0].insn), "call 0xffffffffb6232015");
    }

    #[test]
    fn listing_shows_offset_length_bytes_and_text() {
        let insns = decode_insns(VFS_STATFS, 0, 3).unwrap();
        let mut out = String::new();
        write_listing(&mut out, VFS_STATFS, &insns).unwrap();
        assert_eq!(
            out,
            "+0x0\t4\tf3 0f 1e fa\tendbr64\n+0x4\t5\t0f 1f 44 00 00\tnopl (%rax,%rax)\n+0x9\t2\t41 56\tpush %r14\n"
        );
    }

    #[test]
    fn head_lists_whole_instructions_before_a_cut() {
        // Cut at 10 bytes: inside `push %r14` (9..11), so two lines.
        let mut out = String::new();
        write_head(&mut out, &VFS_STATFS[..10], 0, 16).unwrap().unwrap();
        assert_eq!(out, "+0x0\t4\tf3 0f 1e fa\tendbr64\n+0x4\t5\t0f 1f 44 00 00\tnopl (%rax,%rax)\n");
        // At most `max`, and nothing at all for bytes that do not decode.
        let mut out = String::new();
        write_head(&mut out, VFS_STATFS, 0, 1).unwrap().unwrap();
        assert_eq!(out, "+0x0\t4\tf3 0f 1e fa\tendbr64\n");
        let mut out = String::new();
        assert_eq!(write_head(&mut out, &[0x06, 0x90], 0, 4), Err(DecodeError::Invalid { offset: 0 }));
        assert_eq!(out, "");
    }

    #[test]
    fn texts_join_instructions_and_skip_endbr_on_request() {
        let mut out = String::new();
        write_texts(&mut out, &VFS_STATFS[..12], 0, false).unwrap();
        assert_eq!(out, "endbr64; nopl (%rax,%rax); push %r14; push %rbx");
        let mut out = String::new();
        write_texts(&mut out, &VFS_STATFS[..12], 0, true).unwrap();
        assert_eq!(out, "nopl (%rax,%rax); push %r14; push %rbx");
        // Undecodable bytes: nothing.
        let mut out = String::new();
        write_texts(&mut out, &[0x06], 0, false).unwrap();
        assert_eq!(out, "");
    }

    #[test]
    fn stops_at_max() {
        let insns = decode_insns(VFS_STATFS, 0, 2).unwrap();
        assert_eq!(insns.len(), 2);
    }

    #[test]
    fn reports_truncated_instruction() {
        assert_eq!(
            decode_insns(&VFS_STATFS[..6], 0, 16).unwrap_err(),
            DecodeError::Truncated { offset: 4 }
        );
    }

    #[test]
    fn reports_invalid_instruction() {
        // 0x06 (push es) does not exist in 64-bit mode.
        assert_eq!(decode_insns(&[0x90, 0x06, 0x90, 0x90], 0, 16).unwrap_err(), DecodeError::Invalid { offset: 1 });
    }

    #[test]
    fn rip_relative_operand_uses_real_address() {
        // mov 0x10(%rip),%rax at 0x1000: target 0x1000 + 7 + 0x10.
        let insns = decode_insns(&[0x48, 0x8b, 0x05, 0x10, 0, 0, 0], 0x1000, 1).unwrap();
        assert!(insns[0].insn.is_ip_rel_memory_operand());
        assert_eq!(insns[0].insn.ip_rel_memory_address(), 0x1017);
    }
}

#[cfg(test)]
mod messages {
    use super::*;
    use alloc::format;

    #[test]
    fn decode_errors_say_where() {
        assert_eq!(format!("{}", DecodeError::Invalid { offset: 0x12 }), "invalid instruction at +0x12");
        assert!(format!("{}", DecodeError::Truncated { offset: 4 }).contains("+0x4 runs past"));
    }
}
