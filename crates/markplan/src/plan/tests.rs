use super::*;
use crate::decode::{decode_insns, format_gas};
use alloc::string::ToString;

const ADDR: u64 = 0xffff_ffff_8120_0000;

// Instruction bytes, named by what they are (AT&T).
const PUSH_R14: &[u8] = &[0x41, 0x56];
const PUSH_RBX: &[u8] = &[0x53];
const PUSH_RAX: &[u8] = &[0x50];
const POP_RAX: &[u8] = &[0x58];
const SUB_0X78_RSP: &[u8] = &[0x48, 0x83, 0xec, 0x78];
const ADD_8_RSP: &[u8] = &[0x48, 0x83, 0xc4, 0x08];
const SUB_0X1000_RSP: &[u8] = &[0x48, 0x81, 0xec, 0x00, 0x10, 0x00, 0x00];
const XOR_EAX_EAX: &[u8] = &[0x31, 0xc0];
const TEST_EDI_EDI: &[u8] = &[0x85, 0xff];
const MOV_RDI_RBX: &[u8] = &[0x48, 0x89, 0xfb];
// mov %gs:0x28,%rax
const MOV_GS_RAX: &[u8] = &[0x65, 0x48, 0x8b, 0x04, 0x25, 0x28, 0x00, 0x00, 0x00];
// mov $0x1,%eax
const MOV_1_EAX: &[u8] = &[0xb8, 0x01, 0x00, 0x00, 0x00];
const RET: &[u8] = &[0xc3];
const INT3: &[u8] = &[0xcc];
const NOP: &[u8] = &[0x90];

fn no_fixup(_: u64) -> bool {
    false
}

fn facts(ibt: bool, fentry: bool) -> Facts<'static> {
    Facts {
        ibt,
        fentry,
        has_fixup: &no_fixup,
        cold: None,
    }
}

/// ENDBR, the fentry NOP, then `body`, then `ret; int3` and NOP padding.
fn function(body: &[&[u8]]) -> Vec<u8> {
    let mut code = Vec::new();
    code.extend_from_slice(&ENDBR64);
    code.extend_from_slice(&FENTRY_NOP);
    code.extend_from_slice(&bare_function(body));
    code
}

fn plan_of(body: &[&[u8]]) -> Result<Plan, Refusal> {
    plan(&function(body), ADDR, &facts(true, true))
}

fn spans(p: &Plan) -> Vec<(usize, usize)> {
    p.insns.iter().map(|i| (i.offset, i.len)).collect()
}

#[test]
fn vfs_statfs_prologue() {
    let p = plan_of(&[PUSH_R14, PUSH_RBX, SUB_0X78_RSP, MOV_GS_RAX]).unwrap();
    assert_eq!(p.prefix_len, 9);
    assert_eq!(p.m(), 4);
    assert_eq!(spans(&p), [(9, 2), (11, 1), (12, 4), (16, 9)]);
    assert_eq!(p.stack_effects(), [8, 8, 0x78, 0]);
    assert_eq!(p.depth_before(3), 0x88);
    assert_eq!(p.region_end(), 25);
    assert_eq!(p.insns[0].original, PUSH_R14);
    assert_eq!(p.insns[0].replacement, [0x54, 0x90]);
    assert_eq!(p.insns[1].replacement, [0x54]);
    assert_eq!(p.insns[2].replacement, [0x54, 0x0f, 0x1f, 0x00]);
    // IM: jmp with a zero displacement, then a 4-byte NOP.
    assert_eq!(p.insns[3].replacement, [0xe9, 0, 0, 0, 0, 0x0f, 0x1f, 0x40, 0x00]);
    assert!(!p.insns.iter().any(|i| i.is_call));
}

#[test]
fn first_instruction_long_gives_a_region_of_one() {
    let p = plan_of(&[MOV_1_EAX]).unwrap();
    assert_eq!(spans(&p), [(9, 5)]);
    assert_eq!(p.insns[0].replacement, [0xe9, 0, 0, 0, 0]);
}

#[test]
fn replacements_keep_every_boundary() {
    let p = plan_of(&[PUSH_R14, TEST_EDI_EDI, MOV_RDI_RBX, PUSH_RBX, SUB_0X78_RSP, MOV_GS_RAX]).unwrap();
    for (index, i) in p.insns.iter().enumerate() {
        assert_eq!(i.replacement.len(), i.len);
        let decoded = decode_insns(&i.replacement, 0, 16).unwrap();
        if index + 1 < p.m() {
            assert_eq!(format_gas(&decoded[0].insn), "push %rsp");
            assert!(decoded.len() <= 2);
        } else {
            assert_eq!(decoded[0].insn.mnemonic(), Mnemonic::Jmp);
        }
        assert_eq!(decoded.iter().map(|d| d.len).sum::<usize>(), i.len);
    }
}

#[test]
fn sealed_endbr_is_skipped_with_ibt_only() {
    let mut code = function(&[PUSH_RBX, MOV_GS_RAX]);
    code[..4].copy_from_slice(&SEALED_ENDBR);
    assert_eq!(plan(&code, ADDR, &facts(true, true)).unwrap().prefix_len, 9);
    assert_eq!(
        plan(&code, ADDR, &facts(false, true)),
        Err(Refusal::FentrySite {
            offset: 0,
            found: FentrySite::Other
        })
    );
}

#[test]
fn no_endbr_no_fentry() {
    // A function without ENDBR (not address-taken) and with fentry.
    let mut code = FENTRY_NOP.to_vec();
    code.extend_from_slice(PUSH_RBX);
    code.extend_from_slice(MOV_GS_RAX);
    code.extend_from_slice(RET);
    assert_eq!(plan(&code, ADDR, &facts(true, true)).unwrap().prefix_len, 5);
    // notrace: no fentry site; the NOP would be an ordinary instruction.
    let p = plan(&code[5..], ADDR, &facts(true, false)).unwrap();
    assert_eq!(p.prefix_len, 0);
    assert_eq!(spans(&p), [(0, 1), (1, 9)]);
    // ENDBR but no fentry.
    let mut code = ENDBR64.to_vec();
    code.extend_from_slice(PUSH_RBX);
    code.extend_from_slice(MOV_GS_RAX);
    code.extend_from_slice(RET);
    assert_eq!(plan(&code, ADDR, &facts(true, false)).unwrap().prefix_len, 4);
    // An ENDBR is never part of the region, even when told ibt = false.
    assert_eq!(plan(&code, ADDR, &facts(false, false)).unwrap().prefix_len, 4);
}

#[test]
fn fentry_site_in_use_is_refused() {
    for (first, found) in [
        (0xe8, FentrySite::Call),
        (0xe9, FentrySite::Jmp),
        (0xcc, FentrySite::Int3),
        (0x55, FentrySite::Other),
    ] {
        let mut code = function(&[PUSH_RBX, MOV_GS_RAX]);
        code[4] = first;
        let r = plan(&code, ADDR, &facts(true, true)).unwrap_err();
        assert_eq!(r, Refusal::FentrySite { offset: 4, found });
        assert!(r.to_string().starts_with("fentry site at +0x4 holds "), "{r}");
    }
}

#[test]
fn too_short_and_no_long_instruction() {
    assert_eq!(
        plan(&ENDBR64, ADDR, &facts(true, true)),
        Err(Refusal::TooShort { len: 4 })
    );
    let mut code = ENDBR64.to_vec();
    code.extend_from_slice(&FENTRY_NOP);
    code.extend_from_slice(&[0x31, 0xc0, 0xc3]);
    assert_eq!(
        plan(&code, ADDR, &facts(true, true)),
        Err(Refusal::LeavesRegion { offset: 11 })
    );
    code.truncate(11);
    assert_eq!(
        plan(&code, ADDR, &facts(true, true)),
        Err(Refusal::TooShort { len: 11 })
    );
    // The region runs into a truncated instruction.
    code.extend_from_slice(&MOV_GS_RAX[..4]);
    assert_eq!(
        plan(&code, ADDR, &facts(true, true)),
        Err(Refusal::TooShort { len: 15 })
    );
    let body: Vec<&[u8]> = core::iter::repeat_n(XOR_EAX_EAX, 16).chain([MOV_1_EAX]).collect();
    assert_eq!(plan_of(&body), Err(Refusal::NoLongInstruction { offset: 9 }));
    // 15 short ones and the long one as the 16th: fine.
    let body: Vec<&[u8]> = core::iter::repeat_n(XOR_EAX_EAX, 15).chain([MOV_1_EAX]).collect();
    assert_eq!(plan_of(&body).unwrap().m(), 16);
}

#[test]
fn each_refused_instruction() {
    let cases: &[(&[u8], Refusal)] = &[
        (&[0xcc], Refusal::Int3 { offset: 9 }),
        (&[0xf1], Refusal::Interrupt { offset: 9 }),
        (&[0xcd, 0x80], Refusal::Interrupt { offset: 9 }),
        (&[0x0f, 0x0b], Refusal::Ud { offset: 9 }),
        (&[0x0f, 0xb9, 0xc0], Refusal::Ud { offset: 9 }),
        (&[0x0f, 0xff, 0xc0], Refusal::Ud { offset: 9 }),
        (&[0xf4], Refusal::Hlt { offset: 9 }),
        (&[0x54], Refusal::PushRsp { offset: 9 }),
        (&[0x5c], Refusal::RspWrite { offset: 9 }),
        (&[0xc9], Refusal::RspWrite { offset: 9 }),
        (&[0xc8, 0x08, 0x00, 0x00], Refusal::RspWrite { offset: 9 }),
        (&[0x48, 0x89, 0xc4], Refusal::RspWrite { offset: 9 }),
        (&[0x48, 0x8d, 0x64, 0x24, 0x08], Refusal::RspWrite { offset: 9 }),
        (&[0x48, 0x83, 0xe4, 0xf0], Refusal::RspWrite { offset: 9 }),
        (&[0x48, 0x29, 0xc4], Refusal::RspWrite { offset: 9 }),
        (&[0x83, 0xec, 0x08], Refusal::RspWrite { offset: 9 }), // sub $8,%esp
        (&[0x48, 0x94], Refusal::RspWrite { offset: 9 }),       // xchg %rax,%rsp
        (&[0x66, 0x53], Refusal::OddStackEffect { offset: 9 }), // push %bx
        (&[0x48, 0x83, 0xec, 0x04], Refusal::OddStackEffect { offset: 9 }),
        (
            &[0x48, 0x81, 0xec, 0x00, 0x00, 0x01, 0x00],
            Refusal::OddStackEffect { offset: 9 },
        ),
        (POP_RAX, Refusal::StackBelowEntry { offset: 9 }),
        (ADD_8_RSP, Refusal::StackBelowEntry { offset: 9 }),
        (&[0xff, 0xd0], Refusal::IndirectBranch { offset: 9 }), // call *%rax
        (&[0xff, 0xe0], Refusal::IndirectBranch { offset: 9 }), // jmp *%rax
        (&[0xff, 0x15, 0, 0, 0, 0], Refusal::IndirectBranch { offset: 9 }), // call *0(%rip)
        (&[0x0f, 0x05], Refusal::PrivilegedFlow { offset: 9 }), // syscall
        (&[0x48, 0x0f, 0x07], Refusal::PrivilegedFlow { offset: 9 }), // sysretq
        (&[0x48, 0xcf], Refusal::PrivilegedFlow { offset: 9 }), // iretq
        (&[0x0f, 0x01, 0xf8], Refusal::PrivilegedFlow { offset: 9 }), // swapgs
        (&[0xcb], Refusal::PrivilegedFlow { offset: 9 }),       // lret
        (&[0x0f, 0x01, 0xd5], Refusal::Transactional { offset: 9 }), // xend
        (RET, Refusal::LeavesRegion { offset: 9 }),
        (&[0xeb, 0x00], Refusal::LeavesRegion { offset: 9 }),
        (&[0x06], Refusal::Undecodable { offset: 9 }),
    ];
    for (insn, refusal) in cases {
        let got = plan_of(&[insn, MOV_GS_RAX]);
        assert_eq!(got.as_ref().err(), Some(refusal), "{insn:02x?}: {got:?}");
        assert!(!refusal.to_string().is_empty());
    }
    // Later in the region: offsets follow.
    assert_eq!(
        plan_of(&[PUSH_RBX, &[0xcc], MOV_GS_RAX]),
        Err(Refusal::Int3 { offset: 10 })
    );
    assert_eq!(
        Refusal::Int3 { offset: 9 }.to_string(),
        "region has int3 at +0x9 (a kprobe or text_poke in progress)"
    );
}

#[test]
fn allowed_stack_changes_have_their_effects() {
    let p = plan_of(&[
        PUSH_RAX,
        &[0x9c],
        &[0x9d],
        POP_RAX,
        &[0x6a, 0x01],
        ADD_8_RSP,
        SUB_0X78_RSP,
        SUB_0X1000_RSP,
    ])
    .unwrap();
    assert_eq!(p.stack_effects(), [8, 8, -8, -8, 8, -8, 0x78, 0x1000]);
    // sub $-0x80,%rsp is an add of 0x80.
    let p = plan_of(&[SUB_0X78_RSP, PUSH_RBX, &[0x48, 0x83, 0xec, 0x80], MOV_GS_RAX]).unwrap();
    assert_eq!(p.stack_effects(), [0x78, 8, -0x80, 0]);
    // push of a memory operand and of %fs.
    let p = plan_of(&[&[0xff, 0x74, 0x24, 0x08], &[0x0f, 0xa0], MOV_GS_RAX]).unwrap();
    assert_eq!(p.stack_effects(), [8, 8, 0]);
}

#[test]
fn exception_fixup_is_refused() {
    let code = function(&[PUSH_RBX, MOV_GS_RAX]);
    let fixup_at = |a: u64| a == ADDR + 10;
    let f = Facts {
        ibt: true,
        fentry: true,
        has_fixup: &fixup_at,
        cold: None,
    };
    assert_eq!(plan(&code, ADDR, &f), Err(Refusal::ExceptionFixup { offset: 10 }));
    // Past the region it does not matter.
    let fixup_after = |a: u64| a == ADDR + 19;
    let f = Facts {
        ibt: true,
        fentry: true,
        has_fixup: &fixup_after,
        cold: None,
    };
    assert!(plan(&code, ADDR, &f).is_ok());
}

#[test]
fn call_rel32_is_allowed_as_im() {
    // push %rbx; call +0x100
    let p = plan_of(&[PUSH_RBX, &[0xe8, 0x00, 0x01, 0x00, 0x00]]).unwrap();
    assert_eq!(p.m(), 2);
    assert!(p.insns[1].is_call);
    assert_eq!(p.insns[1].stack_effect, 0);
    // In low memory the return address does not fit push imm32.
    let code = function(&[PUSH_RBX, &[0xe8, 0x00, 0x01, 0x00, 0x00]]);
    assert_eq!(
        plan(&code, 0x1_0000_0000, &facts(true, true)),
        Err(Refusal::ReturnAddressTooWide { offset: 10 })
    );
    assert!(plan(&code, 0x1000, &facts(true, true)).is_ok());
}

#[test]
fn rip_relative_operands() {
    // mov 0x1000(%rip),%rax: fine.
    let p = plan_of(&[PUSH_RBX, &[0x48, 0x8b, 0x05, 0x00, 0x10, 0x00, 0x00]]).unwrap();
    assert_eq!(p.m(), 2);
    // lea -0x8(%rip),%rax points at push %rbx, inside the region.
    assert_eq!(
        plan_of(&[PUSH_RBX, &[0x48, 0x8d, 0x05, 0xf8, 0xff, 0xff, 0xff]]),
        Err(Refusal::RipRelIntoRegion { offset: 10 })
    );
    // lea -0xb(%rip),%rax points at the fentry NOP, before the region: fine.
    assert!(plan_of(&[PUSH_RBX, &[0x48, 0x8d, 0x05, 0xf5, 0xff, 0xff, 0xff]]).is_ok());
}

/// The function body: region, then `tail` (later code), ret, padding.
fn with_tail(region: &[&[u8]], tail: &[&[u8]]) -> Vec<u8> {
    let mut all: Vec<&[u8]> = region.to_vec();
    all.extend_from_slice(tail);
    function(&all)
}

#[test]
fn back_edges_to_the_entry_are_refused() {
    // Region: push %rbx (+9), mov %gs:..(+10..+19). Tail at +19.
    // jne back to I1 (+9): from +19, rel8 = 9 - 21 = -12.
    let code = with_tail(&[PUSH_RBX, MOV_GS_RAX], &[&[0x75, 0xf4]]);
    assert_eq!(
        plan(&code, ADDR, &facts(true, true)),
        Err(Refusal::BackEdgeToEntry { from: 19, to: 9 })
    );
    // jmp back to +0 (the ENDBR): also a back-edge.
    let code = with_tail(&[PUSH_RBX, MOV_GS_RAX], &[&[0xeb, 0xeb]]);
    assert_eq!(
        plan(&code, ADDR, &facts(true, true)),
        Err(Refusal::BackEdgeToEntry { from: 19, to: 0 })
    );
    // jmp into the fentry NOP.
    let code = with_tail(&[PUSH_RBX, MOV_GS_RAX], &[&[0xeb, 0xf0]]);
    assert_eq!(
        plan(&code, ADDR, &facts(true, true)),
        Err(Refusal::BackEdgeToEntry { from: 19, to: 5 })
    );
    // jne to I2 (+10): fine.
    let code = with_tail(&[PUSH_RBX, MOV_GS_RAX], &[&[0x75, 0xf5]]);
    assert_eq!(plan(&code, ADDR, &facts(true, true)).map(|p| p.m()), Ok(2));
    // jne to IM+1 (+19): fine.
    let code = with_tail(&[PUSH_RBX, MOV_GS_RAX], &[&[0x90], &[0x75, 0xfd]]);
    assert!(plan(&code, ADDR, &facts(true, true)).is_ok());
    // jne into the middle of IM (+11).
    let code = with_tail(&[PUSH_RBX, MOV_GS_RAX], &[&[0x75, 0xf6]]);
    assert_eq!(
        plan(&code, ADDR, &facts(true, true)),
        Err(Refusal::BranchIntoInstruction { from: 19, to: 11 })
    );
    // A jne rel32 far ahead and one outside the function are ignored.
    let code = with_tail(
        &[PUSH_RBX, MOV_GS_RAX],
        &[
            &[0x0f, 0x85, 0x00, 0x00, 0x01, 0x00],
            &[0x0f, 0x85, 0x00, 0x00, 0x00, 0x80],
        ],
    );
    assert!(plan(&code, ADDR, &facts(true, true)).is_ok());
}

#[test]
fn branches_inside_the_region() {
    // test %edi,%edi; je IM; xor %eax,%eax; IM: depth agrees (xor has none).
    let p = plan_of(&[TEST_EDI_EDI, &[0x74, 0x02], XOR_EAX_EAX, MOV_GS_RAX]).unwrap();
    assert_eq!(p.m(), 4);
    // test; je IM; push %rbx; IM: IM would be reached at depth 0 and 8.
    assert_eq!(
        plan_of(&[TEST_EDI_EDI, &[0x74, 0x01], PUSH_RBX, MOV_GS_RAX]),
        Err(Refusal::BranchChangesDepth { from: 11, to: 14 })
    );
    // A jcc from IM (rel32) back to I2 at the same depth: fine (a loop).
    // push %rbx; xor; jne I2 (+10) from +12, 6 bytes: rel32 = 10 - 18 = -8.
    let p = plan_of(&[PUSH_RBX, XOR_EAX_EAX, &[0x0f, 0x85, 0xf8, 0xff, 0xff, 0xff]]).unwrap();
    assert_eq!(p.m(), 3);
    // The same loop back over a push changes the depth.
    // push %rbx; push %rbx; jne I2 (+10) from +11: rel32 = 10 - 17 = -7.
    assert_eq!(
        plan_of(&[PUSH_RBX, PUSH_RBX, &[0x0f, 0x85, 0xf9, 0xff, 0xff, 0xff]]),
        Err(Refusal::BranchChangesDepth { from: 11, to: 10 })
    );
}

#[test]
fn calls_into_the_region() {
    // A call to the entry (recursion) later in the function is a new call.
    // call from +19 (5 bytes) to +0: rel32 = -24.
    let code = with_tail(&[PUSH_RBX, MOV_GS_RAX], &[&[0xe8, 0xe8, 0xff, 0xff, 0xff]]);
    assert!(plan(&code, ADDR, &facts(true, true)).is_ok());
    // A call to I2: refused.
    let code = with_tail(&[PUSH_RBX, MOV_GS_RAX], &[&[0xe8, 0xf2, 0xff, 0xff, 0xff]]);
    assert_eq!(
        plan(&code, ADDR, &facts(true, true)),
        Err(Refusal::CallIntoRegion { from: 19, to: 10 })
    );
}

#[test]
fn trailing_padding_and_undecodable_bytes() {
    // Garbage after int3 padding: stop quietly.
    let mut code = function(&[PUSH_RBX, MOV_GS_RAX]);
    code.extend_from_slice(&[0xcc, 0x06, 0x06]);
    assert!(plan(&code, ADDR, &facts(true, true)).is_ok());
    // A truncated NOP at the very end of the padding.
    let mut code = function(&[PUSH_RBX, MOV_GS_RAX]);
    code.extend_from_slice(&[0x0f, 0x1f]);
    assert!(plan(&code, ADDR, &facts(true, true)).is_ok());
    // Garbage right after code: refused, a branch could hide there.
    let mut code = with_tail(&[PUSH_RBX, MOV_GS_RAX], &[&[0x06], NOP]);
    assert_eq!(
        plan(&code, ADDR, &facts(true, true)),
        Err(Refusal::Undecodable { offset: 19 })
    );
    code.truncate(19);
    code.extend_from_slice(&[0xc3, 0xcc, 0x06]);
    assert!(plan(&code, ADDR, &facts(true, true)).is_ok());
}

#[test]
fn write_methods_follow_alignment() {
    let code = function(&[PUSH_R14, PUSH_RBX, SUB_0X78_RSP, MOV_GS_RAX]);
    // Spans: (9,2) (11,1) (12,4) (16,9).
    for (base, expect) in [
        (
            ADDR,
            [
                WriteMethod::Window8 { start: ADDR + 8 },
                WriteMethod::Window8 { start: ADDR + 8 },
                WriteMethod::Window8 { start: ADDR + 8 },
                WriteMethod::Window16 { start: ADDR + 16 }, // +16..=+24
            ],
        ),
        (
            ADDR + 3,
            [
                WriteMethod::Window8 { start: ADDR + 8 },
                WriteMethod::Window8 { start: ADDR + 8 },
                WriteMethod::Trap, // +15..=+18 crosses +16
                WriteMethod::Window16 { start: ADDR + 16 },
            ],
        ),
        (
            ADDR + 7,
            [
                WriteMethod::Window8 { start: ADDR + 16 },
                WriteMethod::Window8 { start: ADDR + 16 },
                WriteMethod::Window8 { start: ADDR + 16 },
                WriteMethod::Window16 { start: ADDR + 16 },
            ],
        ),
        (
            ADDR + 13,
            [
                WriteMethod::Window8 { start: ADDR + 16 },
                WriteMethod::Window8 { start: ADDR + 24 },
                WriteMethod::Window8 { start: ADDR + 24 },
                WriteMethod::Trap, // +29..=+37 crosses +32
            ],
        ),
    ] {
        let p = plan(&code, base, &facts(true, true)).unwrap();
        let got: Vec<WriteMethod> = p.insns.iter().map(|i| i.write).collect();
        assert_eq!(got, expect, "function at {base:#x}");
        for i in &p.insns {
            let a = base + i.offset as u64;
            if let Some((start, size)) = i.write.window() {
                assert!(start <= a && a + i.len as u64 <= start + size as u64);
                assert_eq!(start % size as u64, 0);
            }
        }
    }
}

#[test]
fn refusal_kinds_are_distinct_names() {
    let r = [
        Refusal::Int3 { offset: 1 },
        Refusal::Int3 { offset: 2 },
        Refusal::Ud { offset: 1 },
    ];
    assert_eq!(r[0].kind(), r[1].kind());
    assert_ne!(r[0].kind(), r[2].kind());
}

#[test]
fn return_site_can_be_im() {
    // endbr64; fentry nop; xor %eax,%eax; ret; int3 x4 (a return thunk site
    // the kernel rewrote at boot), then padding.
    let mut code = Vec::new();
    code.extend_from_slice(&ENDBR64);
    code.extend_from_slice(&FENTRY_NOP);
    code.extend_from_slice(&[0x31, 0xc0, 0xc3, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc]);
    let addr = 0xffff_ffff_8100_0000;
    let p = plan(&code, addr, &Facts { ibt: true, fentry: true, has_fixup: &|_| false, cold: None }).unwrap();
    assert_eq!(p.m(), 2);
    assert_eq!((p.insns[1].offset, p.insns[1].len), (11, 5));
    assert!(p.insns[1].is_padded_exit());
    let stub = addr + 0x10_0000;
    let jmp = crate::marks::replacement_bytes(&p, 1, stub).unwrap();
    assert_eq!(jmp.len(), 5);
    let pseudo = crate::pseudo_original::build(&p, &code, addr, addr + 0x20_0000, true).unwrap();
    crate::pseudo_original::verify(&p, &code, addr + 0x20_0000, true, &pseudo).unwrap();
    // A ret followed by less than 4 bytes of padding still ends the region
    // early.
    let mut short = code.clone();
    short[13] = 0x31;
    short[14] = 0xc0;
    assert!(matches!(
        plan(&short, addr, &Facts { ibt: true, fentry: true, has_fixup: &|_| false, cold: None }),
        Err(Refusal::LeavesRegion { .. })
    ));
}

// push %rbp; mov %rsp,%rbp; and $-16,%rsp; sub $0x180,%rsp
const PUSH_RBP: &[u8] = &[0x55];
const MOV_RSP_RBP: &[u8] = &[0x48, 0x89, 0xe5];
const AND_M16_RSP: &[u8] = &[0x48, 0x83, 0xe4, 0xf0];
const AND_M64_RSP: &[u8] = &[0x48, 0x83, 0xe4, 0xc0];
const SUB_0X180_RSP: &[u8] = &[0x48, 0x81, 0xec, 0x80, 0x01, 0x00, 0x00];
const POP_RBP: &[u8] = &[0x5d];

#[test]
fn realigning_and_after_the_frame_pointer_is_planned() {
    let p = plan_of(&[PUSH_RBP, MOV_RSP_RBP, PUSH_R14, PUSH_RBX, AND_M64_RSP, SUB_0X180_RSP]).unwrap();
    assert_eq!(p.m(), 6);
    assert_eq!(p.realign, Some(Realign { index: 4, align: 64, mov_index: 1, rbp_depth: 8 }));
    assert_eq!(p.stack_effects(), [8, 0, 8, 8, 0, 0x180]);
}

#[test]
fn realigning_and_without_a_frame_pointer_is_refused() {
    let r = plan_of(&[PUSH_RBP, PUSH_R14, AND_M16_RSP, SUB_0X180_RSP]).unwrap_err();
    assert_eq!(r.kind(), "rsp-write");
}

#[test]
fn realigning_and_with_rbp_written_after_the_mov_is_refused() {
    // %rbp no longer pins the entry, before or after the `and`.
    let before = plan_of(&[PUSH_RBP, MOV_RSP_RBP, POP_RBP, AND_M16_RSP, SUB_0X180_RSP]).unwrap_err();
    assert_eq!(before.kind(), "rsp-write");
    let after = plan_of(&[PUSH_RBP, MOV_RSP_RBP, AND_M16_RSP, POP_RBP, SUB_0X180_RSP]).unwrap_err();
    assert_eq!(after.kind(), "rsp-write");
}

#[test]
fn and_that_is_not_a_power_of_two_alignment_is_refused() {
    // and $-24,%rsp
    let r = plan_of(&[PUSH_RBP, MOV_RSP_RBP, &[0x48, 0x83, 0xe4, 0xe8], SUB_0X180_RSP]).unwrap_err();
    assert_eq!(r.kind(), "rsp-write");
}

#[test]
fn a_second_realign_is_refused() {
    let r = plan_of(&[PUSH_RBP, MOV_RSP_RBP, AND_M16_RSP, AND_M64_RSP, SUB_0X180_RSP]).unwrap_err();
    assert_eq!(r.kind(), "rsp-write");
}

#[test]
fn a_branch_across_the_realigning_and_is_refused() {
    // test %edi,%edi; je over the `and` to the sub (rel8 = 4)
    let r = plan_of(&[PUSH_RBP, MOV_RSP_RBP, TEST_EDI_EDI, &[0x74, 0x04], AND_M16_RSP, SUB_0X180_RSP]).unwrap_err();
    assert_eq!(r.kind(), "branch-changes-depth");
}

#[test]
fn short_tail_jump_with_padding_can_be_im() {
    // xor %edx,%edx; jmp rel8 (a tail call); nopl (%rax): 2 + 3 bytes.
    let mut code = Vec::new();
    code.extend_from_slice(&ENDBR64);
    code.extend_from_slice(&FENTRY_NOP);
    code.extend_from_slice(&[0x31, 0xd2, 0xeb, 0x10, 0x0f, 0x1f, 0x00]);
    code.extend_from_slice(&[0xcc; 32]);
    let addr = 0xffff_ffff_8100_0000;
    let facts = Facts { ibt: true, fentry: true, has_fixup: &|_| false, cold: None };
    let p = plan(&code, addr, &facts).unwrap();
    assert_eq!(p.m(), 2);
    assert_eq!((p.insns[1].offset, p.insns[1].len), (11, 5));
    assert!(p.insns[1].is_padded_exit());
    let p_addr = addr + 0x20_0000;
    let pseudo = crate::pseudo_original::build(&p, &code, addr, p_addr, true).unwrap();
    crate::pseudo_original::verify(&p, &code, p_addr, true, &pseudo).unwrap();
    // P's copy of IM jumps to the tail call's target (IM+2+0x10).
    let copy = &pseudo.bytes[pseudo.entries[1] + 4..];
    let insn = Decoder::with_ip(64, copy, p_addr + pseudo.entries[1] as u64 + 4, DecoderOptions::NONE).decode();
    assert_eq!(insn.near_branch_target(), addr + 13 + 0x10);

    // A branch into the padding makes it live: refused.
    let mut into = code.clone();
    into.extend_from_slice(&[0xeb, 0x00]); // placeholder, fixed below
    let at = into.len() - 2;
    into[at + 1] = (13i64 - (at as i64 + 2)) as u8; // jmp back to +13
    assert!(plan(&into, addr, &facts).is_err());

    // A jump not followed by padding still ends the region early.
    let mut live = code.clone();
    live[13] = 0x31;
    live[14] = 0xc0;
    assert!(matches!(plan(&live, addr, &facts), Err(Refusal::LeavesRegion { .. })));
}

/// `ud2` in the region is refused as such: its bug-table entry is keyed by
/// its address, which a mark would move.
#[test]
fn ud2_in_the_region_is_refused_as_ud() {
    const UD2: &[u8] = &[0x0f, 0x0b];
    match plan_of(&[PUSH_RBX, UD2, SUB_0X78_RSP]) {
        Err(Refusal::Ud { offset }) => assert_eq!(offset, 10),
        other => panic!("ud2 in the region: {other:?}"),
    }
}

/// Only `mov %rsp,%rbp` pins the entry for a realign: a move of another
/// register into %rbp, of %rsp elsewhere, from memory, or another
/// instruction between the two registers does not (cargo mutants found
/// each part of that test unchecked).
#[test]
fn only_mov_rsp_to_rbp_sets_up_a_realign() {
    for (what, not_a_frame) in [
        ("mov %rbx,%rbp", &[0x48, 0x89, 0xdd][..]),
        ("mov %rsp,%rbx", &[0x48, 0x89, 0xe3][..]),
        ("add %rsp,%rbp", &[0x48, 0x01, 0xe5][..]),
        ("mov (%rsp),%rbp", &[0x48, 0x8b, 0x2c, 0x24][..]),
        ("mov %esp,%ebp", &[0x89, 0xe5][..]),
    ] {
        let r = plan_of(&[PUSH_RBP, not_a_frame, AND_M16_RSP, SUB_0X180_RSP]);
        assert_eq!(r.map_err(|e| e.kind()).err(), Some("rsp-write"), "after {what}");
    }
}

/// What `and $imm,%rsp` a realign is: a power of two from 16 to 4096, an
/// `and` of %rsp with an immediate; nothing else that writes %rsp.
#[test]
fn a_realign_is_an_and_of_rsp_by_16_to_4096() {
    for (what, insn) in [
        ("and $-8,%rsp", &[0x48, 0x83, 0xe4, 0xf8][..]),
        ("and $-8192,%rsp", &[0x48, 0x81, 0xe4, 0x00, 0xe0, 0xff, 0xff][..]),
        ("or $-16,%rsp", &[0x48, 0x83, 0xcc, 0xf0][..]),
        ("and %rax,%rsp", &[0x48, 0x21, 0xc4][..]),
    ] {
        let r = plan_of(&[PUSH_RBP, MOV_RSP_RBP, insn, SUB_0X180_RSP]);
        assert_eq!(r.map_err(|e| e.kind()).err(), Some("rsp-write"), "{what}");
    }
}

/// A refusal because %rbp is written after the realign names the offset
/// of the realigning `and`.
#[test]
fn rbp_written_after_the_realign_is_refused_at_the_and() {
    let r = plan_of(&[PUSH_RBP, MOV_RSP_RBP, AND_M16_RSP, POP_RBP, SUB_0X180_RSP]).unwrap_err();
    // +9 push, +10 mov (3), +13 the `and`.
    assert_eq!(r, Refusal::RspWrite { offset: 13 });
}

/// `int1`, `int $n` and `into` in the region are refused as interrupts.
#[test]
fn software_interrupts_in_the_region_are_refused() {
    for insn in [&[0xf1][..], &[0xcd, 0x80][..]] {
        let r = plan_of(&[PUSH_RBX, insn, SUB_0X78_RSP]).unwrap_err();
        assert_eq!(r.kind(), "interrupt", "{insn:02x?}");
    }
}

/// An indirect call in the region pushes a return address the static
/// depths do not count: refused (only `call rel32` has no net effect).
#[test]
fn an_indirect_call_in_the_region_is_refused() {
    assert!(plan_of(&[PUSH_RBX, &[0xff, 0xd0], SUB_0X78_RSP]).is_err());
}

/// IM may write %rbp after a realign: past IM the resolver never looks.
#[test]
fn im_may_write_rbp_after_a_realign() {
    // mov $0x12345678,%rbp (7 bytes) is IM.
    let p = plan_of(&[PUSH_RBP, MOV_RSP_RBP, AND_M16_RSP, &[0x48, 0xc7, 0xc5, 0x78, 0x56, 0x34, 0x12]]).unwrap();
    assert_eq!(p.m(), 4);
    assert_eq!(p.realign.map(|r| r.index), Some(2));
}

/// What each Ik becomes once the stub's address is known: a mark below IM,
/// `jmp stub` at IM; and a plain IM is not a padded exit, while `ret` and
/// `jmp rel8` count as padded exits only with padding behind them.
#[test]
fn replacements_are_marks_then_the_jump_to_the_stub() {
    let p = plan_of(&[PUSH_R14, PUSH_RBX, SUB_0X78_RSP, MOV_GS_RAX]).unwrap();
    let stub = ADDR + 0x4000_0000;
    for k in 0..p.m() - 1 {
        let r = crate::marks::replacement_bytes(&p, k, stub).unwrap();
        assert_eq!(r[0], 0x54, "I{} starts with push %rsp", k + 1);
        assert_eq!(r.len(), p.insns[k].len);
    }
    let im = crate::marks::replacement_bytes(&p, p.m() - 1, stub).unwrap();
    let jmp = crate::decode::decode_insns(&im, ADDR + p.insns[p.m() - 1].offset as u64, 1).unwrap();
    assert_eq!(jmp[0].insn.near_branch_target(), stub);
    assert!(p.insns.iter().all(|i| !i.is_padded_exit()));
    let exit = |original: &[u8]| PlannedInsn { original: original.to_vec(), len: original.len(), ..p.insns[0].clone() };
    assert!(!exit(&[0xc3]).is_padded_exit());
    assert!(exit(&[0xc3, 0xcc]).is_padded_exit());
    assert!(!exit(&[0xeb, 0x10]).is_padded_exit());
    assert!(exit(&[0xeb, 0x10, 0xcc]).is_padded_exit());
}

#[test]
fn fentry_sites_say_what_holds_them() {
    use crate::refusal::FentrySite;
    for (site, words) in [
        (FentrySite::Call, "ftrace is tracing"),
        (FentrySite::Jmp, "livepatch"),
        (FentrySite::Int3, "kprobe"),
        (FentrySite::Other, "no fentry NOP"),
    ] {
        assert!(alloc::format!("{site}").contains(words));
    }
}

/// `add $-0x20,%rsp` makes room as `sub $0x20` does: a stack effect of 32,
/// not a realign (only `and` realigns).
#[test]
fn add_of_a_negative_immediate_to_rsp_is_a_stack_effect() {
    let p = plan_of(&[&[0x48, 0x83, 0xc4, 0xe0], MOV_GS_RAX]).unwrap();
    assert_eq!(p.stack_effects(), [32, 0]);
    assert_eq!(p.realign, None);
}

/// `body`, then `ret; int3` and NOP padding: a function with no prefix,
/// whose region starts at +0.
fn bare_function(body: &[&[u8]]) -> Vec<u8> {
    let mut code = Vec::new();
    for b in body {
        code.extend_from_slice(b);
    }
    code.extend_from_slice(RET);
    code.extend_from_slice(INT3);
    code.extend_from_slice(&[0x90; 6]);
    code
}

#[test]
fn calls_to_the_entry_of_a_function_without_prefix() {
    // I1 at +0. A call to +0 after the region (from +10, rel32 = -15) is
    // a new call (recursion): fine.
    let code = bare_function(&[PUSH_RBX, MOV_GS_RAX, &[0xe8, 0xf1, 0xff, 0xff, 0xff]]);
    let p = plan(&code, ADDR, &facts(false, false)).unwrap();
    assert_eq!((p.region_start(), p.m()), (0, 2));
    // I1 itself a call to +0: relocated into the pseudo-original, it would
    // land there, not on a new call: refused.
    let code = bare_function(&[&[0xe8, 0xfb, 0xff, 0xff, 0xff]]);
    assert_eq!(plan(&code, ADDR, &facts(false, false)), Err(Refusal::CallIntoRegion { from: 0, to: 0 }));
}

#[test]
fn branches_after_the_realigning_and() {
    // push %rbp; mov %rsp,%rbp; and $-16,%rsp (+13); test; je over the xor
    // to the sub: both sides have run the `and`: fine.
    let p = plan_of(&[PUSH_RBP, MOV_RSP_RBP, AND_M16_RSP, TEST_EDI_EDI, &[0x74, 0x02], XOR_EAX_EAX, SUB_0X180_RSP]).unwrap();
    assert_eq!(p.m(), 7);
    assert_eq!(p.realign.map(|r| r.index), Some(2));
    // jne from +19 back to the `and` itself (+13, rel8 = -8): a thread that
    // ran it would run it again at another depth: refused.
    let r = plan_of(&[PUSH_RBP, MOV_RSP_RBP, AND_M16_RSP, TEST_EDI_EDI, &[0x75, 0xf8], SUB_0X180_RSP]).unwrap_err();
    assert_eq!(r, Refusal::BranchChangesDepth { from: 19, to: 13 });
}

/// Only an `and` of %rsp realigns: `and $-16,%rax` is an ordinary
/// instruction with no stack effect.
#[test]
fn and_of_another_register_is_no_realign() {
    let p = plan_of(&[&[0x48, 0x83, 0xe0, 0xf0], MOV_GS_RAX]).unwrap();
    assert_eq!(p.stack_effects(), [0, 0]);
    assert_eq!(p.realign, None);
}

/// The register witness's view of each instruction: which register a push
/// stores, which registers it writes, what ends the walk back.
#[test]
fn reg_use_of_a_prologue() {
    // mov %rdi,(%rsp): a store into the frame.
    const MOV_RDI_TO_STACK: &[u8] = &[0x48, 0x89, 0x3c, 0x24];
    let p = plan_of(&[PUSH_R14, PUSH_RBX, SUB_0X78_RSP, MOV_RDI_RBX, XOR_EAX_EAX, MOV_RDI_TO_STACK, POP_RAX, MOV_GS_RAX]).unwrap();
    let u = p.reg_uses();
    assert_eq!(u.len(), p.m());
    assert_eq!((u[0].pushes, u[0].writes, u[0].barrier), (Some(14), 0, false), "push %r14");
    assert_eq!((u[1].pushes, u[1].writes, u[1].barrier), (Some(3), 0, false), "push %rbx");
    assert_eq!((u[2].pushes, u[2].writes, u[2].barrier), (None, 0, false), "sub: RSP only, by a static amount");
    assert_eq!((u[3].pushes, u[3].writes, u[3].barrier), (None, 1 << 3, false), "mov %rdi,%rbx writes rbx");
    assert_eq!(u[4].writes, 1, "xor %eax,%eax writes rax");
    assert!(u[5].barrier, "a store may change a pushed slot");
    assert!(u[6].barrier && u[6].writes == 1, "pop: a barrier that writes rax");
    assert!(u.iter().all(|u| !u.branch_target));
}

#[test]
fn reg_use_marks_branch_targets_and_the_realigning_and() {
    // push %rbx; test %edi,%edi; je +2 (to the xor); xor %eax,%eax (2 bytes)...
    const JE_2: &[u8] = &[0x74, 0x02];
    let p = plan_of(&[PUSH_RBX, TEST_EDI_EDI, JE_2, XOR_EAX_EAX, XOR_EAX_EAX, MOV_GS_RAX]).unwrap();
    let targets: Vec<bool> = p.reg_uses().iter().map(|u| u.branch_target).collect();
    assert_eq!(targets, [false, false, false, false, true, false]);
    // push %rbp; mov %rsp,%rbp; and $-16,%rsp; sub $0x78,%rsp; mov %gs:..
    const PUSH_RBP: &[u8] = &[0x55];
    const MOV_RSP_RBP: &[u8] = &[0x48, 0x89, 0xe5];
    const AND_16_RSP: &[u8] = &[0x48, 0x83, 0xe4, 0xf0];
    let p = plan_of(&[PUSH_RBP, MOV_RSP_RBP, AND_16_RSP, SUB_0X78_RSP, MOV_GS_RAX]).unwrap();
    assert!(p.realign.is_some());
    let u = p.reg_uses();
    assert_eq!(u[0].pushes, Some(5));
    assert!(u[2].barrier, "the and moves RSP by no static amount");
    assert!(!u[3].barrier);
}

/// GCC moves a function's unlikely blocks into `<name>.cold`, which jumps
/// back into the function. A jump back onto Ik is a branch onto Ik as the
/// function's own are (the register witness must not check the pushes
/// below it); one the function's own branches could not make (to I1,
/// into an instruction, a call) is refused, saying it is the cold part's.
#[test]
fn a_cold_parts_jumps_back_are_checked_and_marked_as_the_functions_own() {
    // I1 +9 push %r14; I2 +11 push %rbx; I3 +12 mov %rdi,%rbx;
    // I4 +15 xor %eax,%eax; I5 +17 mov %gs:0x28,%rax (IM).
    let code = function(&[PUSH_R14, PUSH_RBX, MOV_RDI_RBX, XOR_EAX_EAX, MOV_GS_RAX]);
    let cold_addr = ADDR + 0x10_0000;
    // mov %rsi,%r14 (changes what I1 pushed); then `op` rel32 to ADDR + to.
    let cold = |op: u8, to: u64| {
        let mut c = alloc::vec![0x49, 0x89, 0xf6, op];
        let rel = (ADDR + to).wrapping_sub(cold_addr + 8) as u32;
        c.extend_from_slice(&rel.to_le_bytes());
        c.extend_from_slice(&[0xcc, 0xcc, 0xff, 0xff]);
        c
    };
    let with = |c: &[u8]| {
        let f = Facts { cold: Some((cold_addr, c)), ..facts(true, true) };
        plan(&code, ADDR, &f)
    };
    let targets = |p: &Plan| p.reg_uses().iter().map(|u| u.branch_target).collect::<Vec<_>>();
    let alone = plan(&code, ADDR, &facts(true, true)).unwrap();
    assert_eq!(targets(&alone), [false; 5]);
    const JMP: u8 = 0xe9;
    const CALL: u8 = 0xe8;
    let p = with(&cold(JMP, 15)).unwrap();
    assert_eq!(targets(&p), [false, false, false, true, false], "the jump back onto I4");
    assert_eq!(p.insns, alone.insns.iter().cloned().map(|mut i| { i.reg_use.branch_target = i.offset == 15; i }).collect::<Vec<_>>());
    assert_eq!(targets(&with(&cold(JMP, 0x40)).unwrap()), [false; 5], "a jump back beyond the region");
    assert_eq!(with(&cold(JMP, 9)), Err(Refusal::ColdBranch { from: 3, to: 9 }), "to I1");
    assert_eq!(with(&cold(JMP, 13)), Err(Refusal::ColdBranch { from: 3, to: 13 }), "into I3");
    assert_eq!(with(&cold(CALL, 15)), Err(Refusal::ColdBranch { from: 3, to: 15 }), "a call");
    assert_eq!(with(&[0x49, 0x89, 0xf6, 0xff, 0xff]), Err(Refusal::ColdUndecodable { offset: 3 }));
    let r = with(&cold(JMP, 13)).unwrap_err();
    assert_eq!(r.kind(), "cold-branch");
    assert_eq!(r.to_string(), "branch at .cold+0x3 to +0xd, where a thread cannot come back into the region");
}
