use super::*;
use crate::decode::{decode_insns, format_gas};
use crate::plan::{plan, Facts, ENDBR64, FENTRY_NOP};
use alloc::string::{String, ToString};
use iced_x86::Mnemonic;

const ADDR: u64 = 0xffff_ffff_8120_0000;
const P_ADDR: u64 = 0xffff_ffff_c010_0040;

fn no_fixup(_: u64) -> bool {
    false
}

fn function(body: &[&[u8]]) -> Vec<u8> {
    let mut code = Vec::new();
    code.extend_from_slice(&ENDBR64);
    code.extend_from_slice(&FENTRY_NOP);
    for b in body {
        code.extend_from_slice(b);
    }
    code.extend_from_slice(&[0xc3, 0xcc]);
    code
}

fn planned(code: &[u8]) -> Plan {
    plan(
        code,
        ADDR,
        &Facts {
            ibt: true,
            fentry: true,
            has_fixup: &no_fixup,
            cold: None,
        },
    )
    .unwrap()
}

fn listing(bytes: &[u8], ip: u64) -> Vec<String> {
    decode_insns(bytes, ip, 64)
        .unwrap()
        .iter()
        .map(|i| format_gas(&i.insn))
        .collect()
}

// +9: test %edi,%edi; +11: je +2 (to +15, I4); +13: xor %eax,%eax;
// +15: mov 0x1000(%rip),%rax (IM, 7 bytes).
fn rip_and_jcc() -> Vec<u8> {
    function(&[
        &[0x85, 0xff],
        &[0x74, 0x02],
        &[0x31, 0xc0],
        &[0x48, 0x8b, 0x05, 0x00, 0x10, 0x00, 0x00],
    ])
}

#[test]
fn relocates_rip_relative_and_in_region_branches() {
    let code = rip_and_jcc();
    let p = planned(&code);
    assert_eq!(p.m(), 4);
    for ibt in [true, false] {
        let po = build(&p, &code, ADDR, P_ADDR, ibt).unwrap();
        verify(&p, &code, P_ADDR, ibt, &po).unwrap();
        let insns = decode_insns(&po.bytes, P_ADDR, 64).unwrap();
        let e = if ibt { 4 } else { 0 };
        // The je goes to the copy of I4 in P, after its ENDBR.
        let je = insns.iter().find(|i| i.insn.mnemonic() == Mnemonic::Je).unwrap();
        assert_eq!(je.insn.near_branch_target(), P_ADDR + (po.entries[3] + e) as u64);
        // The RIP-relative load reads the same absolute address.
        let mov = insns.iter().find(|i| i.insn.is_ip_rel_memory_operand()).unwrap();
        assert_eq!(mov.insn.ip_rel_memory_address(), ADDR + 22 + 0x1000);
        // The last instruction jumps back to IM+1.
        let last = insns.last().unwrap();
        assert_eq!(last.insn.mnemonic(), Mnemonic::Jmp);
        assert_eq!(last.insn.near_branch_target(), ADDR + 22);
        assert_eq!(last.offset + last.len, po.len());
        // Each entry is an ENDBR (with IBT) followed by the copy of Ik.
        for (k, &entry) in po.entries.iter().enumerate() {
            let at = insns.iter().position(|i| i.offset == entry).unwrap();
            if ibt {
                assert_eq!(format_gas(&insns[at].insn), "endbr64");
            }
            let copy = &insns[at + usize::from(ibt)];
            let orig = decode_insns(&p.insns[k].original, ADDR + p.insns[k].offset as u64, 1).unwrap();
            assert_eq!(copy.insn.mnemonic(), orig[0].insn.mnemonic(), "I{}", k + 1);
        }
        assert!(po.len() <= max_len(&p, ibt));
    }
    let po = build(&p, &code, ADDR, P_ADDR, true).unwrap();
    // endbr64 + test, endbr64 + je (still short: its target is close in P), endbr64 + xor, endbr64 + mov.
    assert_eq!(po.entries, [0, 6, 12, 18]);
}

#[test]
fn call_becomes_push_of_the_return_address_and_jmp() {
    // +9: push %rbx; +10: call +0x100 (callee at +0x10f); IM+1 at +15.
    let code = function(&[&[0x53], &[0xe8, 0x00, 0x01, 0x00, 0x00]]);
    let p = planned(&code);
    assert!(p.insns[1].is_call);
    let po = build(&p, &code, ADDR, P_ADDR, true).unwrap();
    verify(&p, &code, P_ADDR, true, &po).unwrap();
    let insns = decode_insns(&po.bytes, P_ADDR, 64).unwrap();
    let text: Vec<String> = insns.iter().map(|i| format_gas(&i.insn)).collect();
    assert_eq!(text[0], "endbr64");
    assert_eq!(text[1], "push %rbx");
    assert_eq!(text[2], "endbr64");
    assert_eq!(insns[3].insn.mnemonic(), Mnemonic::Push);
    assert_eq!(insns[3].insn.immediate(0), ADDR + 15, "push of the ORIGINAL IM+1");
    assert_eq!(insns[4].insn.mnemonic(), Mnemonic::Jmp);
    assert_eq!(insns[4].insn.near_branch_target(), ADDR + 15 + 0x100);
    // The trailing jmp to IM+1 is still there (unreachable after the jmp).
    assert_eq!(insns[5].insn.near_branch_target(), ADDR + 15);
    assert_eq!(insns.len(), 6);
}

#[test]
fn jcc_out_of_the_region_keeps_its_absolute_target() {
    // +9: test; +11: jne +0x40 (to +0x4d); +13: mov $1,%eax (IM).
    let mut code = function(&[&[0x85, 0xff], &[0x75, 0x40], &[0xb8, 0x01, 0x00, 0x00, 0x00]]);
    code.resize(0x60, 0xcc);
    let p = planned(&code);
    let po = build(&p, &code, ADDR, P_ADDR, false).unwrap();
    verify(&p, &code, P_ADDR, false, &po).unwrap();
    let insns = decode_insns(&po.bytes, P_ADDR, 64).unwrap();
    assert_eq!(insns[1].insn.mnemonic(), Mnemonic::Jne);
    assert_eq!(insns[1].insn.near_branch_target(), ADDR + 0x4d);
    // The short branch became a near one to reach back.
    assert_eq!(insns[1].len, 6);
    assert_eq!(listing(&po.bytes, P_ADDR).len(), 4);
}

#[test]
fn refuses_a_pseudo_original_too_far_away() {
    let code = rip_and_jcc();
    let low = 0xffff_ffff_0100_0000u64;
    let p = plan(
        &code,
        low,
        &Facts {
            ibt: true,
            fentry: true,
            has_fixup: &no_fixup,
            cold: None,
        },
    )
    .unwrap();
    // The first Ik that reaches too far is named: I2, the je at +11 (its
    // target, +15, is in the original), before the RIP-relative IM at +15.
    assert_eq!(build(&p, &code, low, low + 0x9000_0000, true).unwrap_err(), Refusal::OutOfRange { offset: 11 });
    assert_eq!(build(&p, &code, low, low - 0x9000_0000, true).unwrap_err(), Refusal::OutOfRange { offset: 11 });
    // Without the branch, the RIP-relative operand is named.
    let code = function(&[&[0x85, 0xff], &[0x31, 0xc0], &[0x48, 0x8b, 0x05, 0x00, 0x10, 0x00, 0x00]]);
    let p = plan(&code, low, &Facts { ibt: true, fentry: true, has_fixup: &no_fixup, cold: None }).unwrap();
    assert_eq!(build(&p, &code, low, low + 0x9000_0000, true).unwrap_err(), Refusal::OutOfRange { offset: 13 });
    // Near the limit but inside: fine.
    let po = build(&p, &code, low, low + 0x7000_0000, true).unwrap();
    verify(&p, &code, low + 0x7000_0000, true, &po).unwrap();
}

#[test]
fn refuses_changed_text_and_a_wrong_address() {
    let code = rip_and_jcc();
    let p = planned(&code);
    let mut changed = code.clone();
    changed[9] = 0xcc;
    assert_eq!(
        build(&p, &changed, ADDR, P_ADDR, true),
        Err(Refusal::TextChanged { addr: ADDR + 9 })
    );
    assert_eq!(build(&p, &code, ADDR + 1, P_ADDR, true), Err(Refusal::Internal));
    assert_eq!(build(&p, &code[..12], ADDR, P_ADDR, true), Err(Refusal::Internal));
}

#[test]
fn verify_catches_a_wrong_copy() {
    let code = rip_and_jcc();
    let p = planned(&code);
    let po = build(&p, &code, ADDR, P_ADDR, true).unwrap();
    // Built for another address: the RIP-relative target moves.
    assert!(verify(&p, &code, P_ADDR + 0x10, true, &po).is_err());
    // A missing ENDBR.
    assert!(verify(&p, &code, P_ADDR, false, &po).is_err());
    // A changed register.
    let mut bad = po.clone();
    let at = bad.entries[2] + 4; // xor %eax,%eax
    bad.bytes[at + 1] = 0xc9; // xor %ecx,%ecx
    assert_eq!(verify(&p, &code, P_ADDR, true, &bad).unwrap_err().index, 2);
    // Trailing bytes.
    let mut bad = po.clone();
    bad.bytes.push(0x90);
    assert_eq!(verify(&p, &code, P_ADDR, true, &bad).unwrap_err().index, 4);
}

/// The size the arena is asked for: per Ik, its ENDBR (with IBT) and its
/// length grown by at most 7 bytes or a 10-byte call rewrite, then the jump
/// back; a built P is never empty and never longer.
#[test]
fn max_len_is_the_documented_bound_and_holds() {
    let code = rip_and_jcc();
    let p = planned(&code);
    for ibt in [true, false] {
        let endbr = if ibt { 4 } else { 0 };
        let want: usize = p.insns.iter().map(|i| endbr + core::cmp::max(i.len + 7, 10)).sum::<usize>() + 5;
        assert_eq!(max_len(&p, ibt), want);
        let po = build(&p, &code, ADDR, P_ADDR, ibt).unwrap();
        assert!(!po.is_empty());
        assert!(po.len() <= max_len(&p, ibt), "P is {} bytes, the bound {}", po.len(), max_len(&p, ibt));
    }
}

/// The self-check rejects a pseudo-original with any byte changed, unless
/// the change leaves every instruction the same (a REX.B bit that a
/// RIP-relative operand ignores, say): each instruction's opcode, operands,
/// displacement and branch target are compared with the plan's. (cargo
/// mutants found verify's comparisons untested: a correctly built P always
/// passes.)
#[test]
fn verify_rejects_every_single_byte_change() {
    let shapes = [
        rip_and_jcc(),
        // push %rbx; call rel32 (IM): a push of the return address and a jmp.
        function(&[&[0x53], &[0xe8, 0x10, 0x00, 0x00, 0x00]]),
        // test; lock incl 0x8(%rdi,%rsi,4) (IM): a prefix, base, index, scale.
        function(&[&[0x85, 0xff], &[0xf0, 0xff, 0x44, 0xb7, 0x08]]),
        // rep stosb; repne scasb; mov $1,%eax (IM): rep prefixes, an immediate.
        function(&[&[0xf3, 0xaa], &[0xf2, 0xae], &[0xb8, 0x01, 0x00, 0x00, 0x00]]),
        // push %rbx; mov %gs:0x28,%rax (IM): a segment prefix.
        function(&[&[0x53], &[0x65, 0x48, 0x8b, 0x04, 0x25, 0x28, 0x00, 0x00, 0x00]]),
    ];
    for code in &shapes {
        let p = planned(code);
        for ibt in [true, false] {
            let po = build(&p, code, ADDR, P_ADDR, ibt).unwrap();
            verify(&p, code, P_ADDR, ibt, &po).unwrap();
            let mut missed = Vec::new();
            for at in 0..po.bytes.len() {
                for flip in [0x01u8, 0x02, 0x08, 0x10, 0x80] {
                    let mut bad = PseudoOriginal { bytes: po.bytes.clone(), entries: po.entries.clone() };
                    bad.bytes[at] ^= flip;
                    if verify(&p, code, P_ADDR, ibt, &bad).is_ok() && listing(&bad.bytes, P_ADDR) != listing(&po.bytes, P_ADDR) {
                        missed.push((at, flip));
                    }
                }
            }
            assert!(missed.is_empty(), "ibt={ibt}: changes verify accepted: {missed:x?} in {:02x?}", po.bytes);
            // A partial instruction after the final jump.
            let mut longer = PseudoOriginal { bytes: po.bytes.clone(), entries: po.entries.clone() };
            longer.bytes.push(0x0f);
            assert_eq!(
                verify(&p, code, P_ADDR, ibt, &longer),
                Err(Mismatch { index: p.m(), what: "bytes after the final jump" })
            );
        }
    }
}

/// A copy that lost exactly one prefix (its byte replaced by an empty REX,
/// which changes nothing else) is rejected: each prefix is compared on its
/// own.
#[test]
fn verify_rejects_a_copy_that_lost_one_prefix() {
    let shapes: [(Vec<u8>, &[u8]); 3] = [
        // lock incl 0x8(%rdi,%rsi,4)
        (function(&[&[0x85, 0xff], &[0xf0, 0xff, 0x44, 0xb7, 0x08]]), &[0xf0, 0xff, 0x44]),
        // rep stosb
        (function(&[&[0xf3, 0xaa], &[0xb8, 0x01, 0x00, 0x00, 0x00]]), &[0xf3, 0xaa]),
        // repne scasb
        (function(&[&[0xf2, 0xae], &[0xb8, 0x01, 0x00, 0x00, 0x00]]), &[0xf2, 0xae]),
    ];
    for (code, prefixed) in &shapes {
        let p = planned(code);
        let po = build(&p, code, ADDR, P_ADDR, false).unwrap();
        let at = po.bytes.windows(prefixed.len()).position(|w| w == *prefixed).unwrap();
        let mut bad = PseudoOriginal { bytes: po.bytes.clone(), entries: po.entries.clone() };
        bad.bytes[at] = 0x40;
        assert_eq!(
            verify(&p, code, P_ADDR, false, &bad).map_err(|m| m.what),
            Err("prefixes differ"),
            "{prefixed:02x?}"
        );
    }
}

#[test]
fn a_mismatch_says_which_instruction_and_what() {
    let m = Mismatch { index: 2, what: "mnemonic differs" };
    assert_eq!(m.to_string(), "pseudo-original, instruction 2: mnemonic differs");
}
