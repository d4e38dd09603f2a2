//! What a function branches to outside itself: the direct calls, jumps
//! and conditional jumps (tail calls) whose targets lie outside its own
//! bytes. The kernel module follows them from its own run-time entry
//! points to find every function markpatch depends on while a patch is
//! live (docs/design.md, "What markpatch may not patch").
//!
//! Only direct branches are seen: an indirect call reaches what a pointer
//! holds, which no decoder can know; the module names those targets itself
//! (the thunks it calls through pointers).

use iced_x86::{Decoder, DecoderOptions, FlowControl, Instruction, OpKind};

/// Calls `each` with the target of every direct branch in `code` (the
/// bytes of one function, at address `addr`) that leaves it, in the order
/// of the branches (a target branched to twice is seen twice). Allocates
/// nothing: the module walks whole functions with it at load.
///
/// Decoding is linear. Bytes that do not decode are stepped over one at a
/// time, so that data or padding inside a function does not hide the
/// branches after it; a target found in such bytes may be spurious, which
/// only makes the set larger, never smaller.
pub fn outside_targets(code: &[u8], addr: u64, mut each: impl FnMut(u64)) {
    let end = addr.wrapping_add(code.len() as u64);
    let mut decoder = Decoder::with_ip(64, code, addr, DecoderOptions::NONE);
    let mut insn = Instruction::default();
    while decoder.can_decode() {
        let at = decoder.position();
        decoder.decode_out(&mut insn);
        if insn.is_invalid() {
            let next = at + 1;
            if next >= code.len() {
                break;
            }
            // Cannot fail: `next` is within the bytes.
            let _ = decoder.set_position(next);
            decoder.set_ip(addr + next as u64);
            continue;
        }
        let branch = matches!(
            insn.flow_control(),
            FlowControl::Call | FlowControl::UnconditionalBranch | FlowControl::ConditionalBranch
        );
        if !branch || insn.op_count() == 0 || insn.op0_kind() != OpKind::NearBranch64 {
            continue;
        }
        let to = insn.near_branch_target();
        if to < addr || to >= end {
            each(to);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    fn targets(code: &[u8], addr: u64) -> Vec<u64> {
        let mut out = Vec::new();
        outside_targets(code, addr, |t| out.push(t));
        out
    }

    #[test]
    fn calls_jumps_and_tail_jcc_outside_are_found_in_order() {
        // at 0x1000:
        //   call 0x2000          e8 fb 0f 00 00
        //   jne  0x3000          0f 85 f5 1f 00 00
        //   call 0x2000          e8 f0 0f 00 00
        //   jmp  0x100e (inside) eb 00
        //   jmp  0x4000          e9 ed 2f 00 00
        let code = [
            0xe8, 0xfb, 0x0f, 0x00, 0x00, // call 0x2000
            0x0f, 0x85, 0xf5, 0x1f, 0x00, 0x00, // jne 0x3000
            0xe8, 0xf0, 0x0f, 0x00, 0x00, // call 0x2000
            0xeb, 0x00, // jmp +0 (inside)
            0xe9, 0xe9, 0x2f, 0x00, 0x00, // jmp 0x4000
        ];
        assert_eq!(targets(&code, 0x1000), [0x2000, 0x3000, 0x2000, 0x4000]);
    }

    #[test]
    fn a_call_to_itself_and_indirect_calls_are_not_targets() {
        // call 0x1000 (itself: recursion), call *%rax, ret
        let code = [0xe8, 0xfb, 0xff, 0xff, 0xff, 0xff, 0xd0, 0xc3];
        assert!(targets(&code, 0x1000).is_empty());
    }

    #[test]
    fn undecodable_bytes_do_not_hide_the_branches_after_them() {
        // 0x06 is invalid in 64-bit mode; then call 0x2000 at 0x1001.
        let code = [0x06, 0xe8, 0xfa, 0x0f, 0x00, 0x00];
        assert_eq!(targets(&code, 0x1000), [0x2000]);
    }

    #[test]
    fn a_truncated_last_instruction_ends_the_scan() {
        // call 0x2000, then the first two bytes of another call.
        let code = [0xe8, 0xfb, 0x0f, 0x00, 0x00, 0xe8, 0x00];
        assert_eq!(targets(&code, 0x1000), [0x2000]);
    }
}
