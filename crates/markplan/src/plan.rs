//! The plan: which instructions of a function become marks, which one
//! becomes the jump to the stub, what each one does to the stack, and how each
//! replacement is written; or a refusal with its reason.
//!
//! Indices are 0-based in code: `insns[0]` is I1, `insns[M-1]` is IM.
//!
//! What the planner checks, and why:
//! - The region I1..IM starts after the ENDBR (or its sealed 4-byte NOP) and
//!   the fentry NOP. IM is the first instruction of 5 bytes or more (the
//!   `jmp rel32` must fit in it), searched within [`MAX_REGION`].
//! - Every Ik keeps its start offset and each replacement is one or two whole
//!   instructions (`push %rsp` + one NOP, or `jmp` + one NOP), so a thread
//!   stopped at any original boundary resumes at a whole instruction.
//! - The resolver finds where a thread was from the marks on its stack and
//!   the static stack effect of each Ik, so every RSP change in the region must
//!   be static (push/pop of a non-RSP operand, pushf/popf, sub/add of an
//!   immediate), a multiple of 8, and never above the entry RSP; `push %rsp`
//!   itself would look like a mark.
//! - Control flow in the region must be relocatable into the pseudo-original
//!   and must not hide a thread from the resolver: no indirect branches, no
//!   int3/ud/hlt/privileged flow, no `ret`/`jmp` before IM (what follows is
//!   reached only by a branch, at a depth the linear sum does not give), and
//!   a branch inside the region must reach its target at the target's depth.
//! - Over the whole function: no jump to [entry, I1] (a back-edge would be
//!   taken for a new call), no branch into the middle of a region
//!   instruction, no call into the region.
//! - It assumes what objtool checks for kernel code: every instruction is
//!   reached at one stack depth whatever the path, so a thread that jumps
//!   into Ij from later in the function has Ij's static depth; and that no
//!   computed (indirect) branch targets the region (the kernel builds with
//!   -fno-jump-tables under retpolines, and IBT would need an ENDBR there).

use alloc::vec::Vec;
use iced_x86::{
    Code, Decoder, DecoderOptions, FlowControl, Instruction, InstructionInfoFactory, InstructionInfoOptions, Mnemonic,
    OpAccess, OpKind, Register,
};

use crate::marks::{self, WriteMethod};
use crate::refusal::{FentrySite, Refusal};
use crate::resolve::RegUse;

/// The longest region searched for an instruction of 5 bytes or more.
pub const MAX_REGION: usize = 16;
// `scan_branches` marks branch targets in a u32.
const _: () = assert!(MAX_REGION <= 32);

/// `endbr64`.
pub const ENDBR64: [u8; 4] = [0xf3, 0x0f, 0x1e, 0xfa];
/// What the kernel writes over an ENDBR it seals at boot (`nopw (%rax)`
/// with an operand-size prefix: `66 0f 1f 00`).
pub const SEALED_ENDBR: [u8; 4] = [0x66, 0x0f, 0x1f, 0x00];
/// The fentry site when ftrace is not using it (`nopl 0x0(%rax,%rax,1)`).
pub const FENTRY_NOP: [u8; 5] = [0x0f, 0x1f, 0x44, 0x00, 0x00];

/// The largest stack effect one instruction may have (bytes). Anything
/// larger is refused, so depths stay small and the resolver's window short.
pub const MAX_STACK_EFFECT: i64 = 4096;

/// What the kernel tells the planner about itself and the function.
pub struct Facts<'a> {
    /// The kernel was built with CONFIG_X86_KERNEL_IBT: an ENDBR, or the
    /// 4-byte NOP it is sealed to, may open the function. (An ENDBR at +0 is
    /// skipped in any case: it is never part of the region.)
    pub ibt: bool,
    /// The function has an fentry site after the ENDBR (kernel:
    /// `ftrace_location(addr) != 0`). The site must hold the fentry NOP:
    /// a call, jmp or int3 there means ftrace or text_poke is using it.
    pub fentry: bool,
    /// Whether the instruction at this address has an exception-table
    /// entry. The kernel side should also answer true for addresses it
    /// must not move for other reasons (jump-label and static-call sites:
    /// `jump_label_text_reserved`, `static_call_text_reserved`).
    pub has_fixup: &'a dyn Fn(u64) -> bool,
    /// Code the compiler split off the function, which branches back into
    /// it (GCC's `<name>.cold`, its unlikely blocks), as its address and
    /// bytes: its branches into the region are checked and marked as the
    /// function's own are. None when the function has no such part.
    pub cold: Option<(u64, &'a [u8])>,
}

/// One instruction Ik of the region.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedInsn {
    /// Offset from the function's first byte.
    pub offset: usize,
    /// Length in bytes (1..=15).
    pub len: usize,
    /// The instruction's bytes as planned.
    pub original: Vec<u8>,
    /// The bytes that replace it. For k < M the mark (`push %rsp` and one
    /// NOP). For IM a `jmp rel32` whose displacement is still ZERO, then one
    /// NOP: the stub's address is not known yet, write
    /// [`marks::jmp_to_stub`] instead.
    pub replacement: Vec<u8>,
    /// Bytes the original instruction pushes on the stack (+8 for push,
    /// +N for `sub $N,%rsp`, -8 for pop, 0 otherwise).
    pub stack_effect: i32,
    /// How the replacement is written.
    pub write: WriteMethod,
    /// The instruction is `call rel32` (always IM): the pseudo-original
    /// relocates it as push of the return address + jmp.
    pub is_call: bool,
    /// What the resolver's register witness needs of it (see
    /// [`crate::resolve::RegUse`]).
    pub reg_use: RegUse,
}

/// The plan for one function.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// The function's address.
    pub addr: u64,
    /// Bytes skipped before I1: ENDBR (or sealed NOP) and the fentry NOP.
    pub prefix_len: usize,
    /// I1..IM (M = `insns.len()`, at least 1).
    pub insns: Vec<PlannedInsn>,
    /// Set when an Ik before IM realigns the stack (`and $-N,%rsp`).
    pub realign: Option<Realign>,
}

/// A region that realigns the stack: `push %rbp; mov %rsp,%rbp; ...;
/// and $-align,%rsp`, as compilers emit for over-aligned locals. After the
/// `and` the depth below the entry RSP is no longer static, but %rbp pins
/// the entry: E = %rbp + `rbp_depth` as long as nothing in the region
/// writes %rbp after the `mov`, and the stack pointer after the `and` is
/// (E - depth_before(index)) rounded down to `align`. The `and` counts as a
/// stack effect of 0 in `stack_effect`; the resolver takes the rest from
/// the thread's %rbp (see [`crate::resolve`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Realign {
    /// The index of the `and` (never IM: an `and` there is run in the
    /// pseudo-original after the resolver, which needs nothing).
    pub index: usize,
    /// The alignment, a power of two from 16 to 4096.
    pub align: u64,
    /// The index of `mov %rsp,%rbp`.
    pub mov_index: usize,
    /// Bytes pushed before `mov %rsp,%rbp`: E = %rbp + rbp_depth.
    pub rbp_depth: i64,
}

impl Plan {
    /// M, the number of instructions in the region.
    pub fn m(&self) -> usize {
        self.insns.len()
    }

    /// Offset of I1.
    pub fn region_start(&self) -> usize {
        self.prefix_len
    }

    /// Offset of the first byte after IM (IM+1).
    pub fn region_end(&self) -> usize {
        self.insns.last().map_or(self.prefix_len, |i| i.offset + i.len)
    }

    /// The stack effect of each Ik, in order: what the resolver needs.
    pub fn stack_effects(&self) -> Vec<i32> {
        self.insns.iter().map(|i| i.stack_effect).collect()
    }

    /// The register use of each Ik, in order: the resolver's second witness.
    pub fn reg_uses(&self) -> Vec<RegUse> {
        self.insns.iter().map(|i| i.reg_use).collect()
    }

    /// Bytes pushed by I1..I(index) (the depth below the entry RSP when a
    /// thread reaches `insns[index]` on the original path).
    pub fn depth_before(&self, index: usize) -> i64 {
        self.insns.iter().take(index).map(|i| i64::from(i.stack_effect)).sum()
    }
}

/// Plans the mark patch of the function whose whole bytes are `code`
/// (kallsyms size, trailing int3/NOP padding allowed) at address `addr`.
pub fn plan(code: &[u8], addr: u64, facts: &Facts<'_>) -> Result<Plan, Refusal> {
    let prefix_len = prefix_len(code, facts)?;
    let region = decode_region(code, addr, prefix_len)?;
    let mut factory = InstructionInfoFactory::new();

    let mut insns = Vec::with_capacity(region.len());
    let mut depth: i64 = 0;
    let last = region.len().saturating_sub(1);
    // Where `mov %rsp,%rbp` set the frame pointer (its index and depth), as
    // long as no later Ik before IM writes %rbp; and the realigning `and`.
    let mut frame: Option<(usize, i64)> = None;
    let mut realign: Option<Realign> = None;
    for (index, (offset, insn)) in region.iter().enumerate() {
        let offset = *offset;
        // A short exit with dead padding after it (see `padded_exit`) is one
        // slot of 5 bytes or more: it can be IM and take the jump to the stub.
        let slot = if index == last { padded_exit(code, addr, offset, insn) } else { None };
        let site = slot.is_some();
        let len = slot.unwrap_or(insn.len());
        let at = addr.wrapping_add(offset as u64);
        if (facts.has_fixup)(at) {
            return Err(Refusal::ExceptionFixup { offset });
        }
        if !site {
            check_flow(insn, offset)?;
        }
        // IM's own effect never counts (depths are taken before each Ik).
        let stack_effect = if site {
            0
        } else if let Some(align) = realign_imm(insn) {
            if index == last {
                0 // run in P, after the resolver
            } else {
                let (mov_index, rbp_depth) = frame.ok_or(Refusal::RspWrite { offset })?;
                if realign.is_some() {
                    return Err(Refusal::RspWrite { offset });
                }
                realign = Some(Realign { index, align, mov_index, rbp_depth });
                0
            }
        } else {
            stack_effect(insn, offset, &mut factory)?
        };
        if index < last && is_mov_rsp_to_rbp(insn) {
            frame = Some((index, depth));
        } else if index < last && writes_reg(insn, Register::RBP, &mut factory) {
            // %rbp no longer pins the entry: no realign after this, and none
            // before it either.
            if realign.is_some() {
                return Err(Refusal::RspWrite { offset: realign_offset(&insns, realign) });
            }
            frame = None;
        }
        depth += i64::from(stack_effect);
        if depth < 0 {
            return Err(Refusal::StackBelowEntry { offset });
        }
        let original = code.get(offset..offset + len).ok_or(Refusal::Internal)?.to_vec();
        let replacement = if index == last {
            // The displacement is filled once the stub exists.
            marks::jmp_bytes(at, len, at.wrapping_add(5))
        } else {
            marks::mark_bytes(len)
        }
        .ok_or(Refusal::Internal)?;
        insns.push(PlannedInsn {
            offset,
            len,
            original,
            replacement,
            stack_effect,
            write: WriteMethod::for_insn(at, len),
            is_call: insn.code() == Code::Call_rel32_64,
            reg_use: reg_use(insn, stack_effect, &mut factory),
        });
    }
    let mut plan = Plan {
        addr,
        prefix_len,
        insns,
        realign,
    };

    check_region_operands(&plan, &region)?;
    let targets = scan_branches(code, addr, &plan, facts.cold)?;
    for (index, insn) in plan.insns.iter_mut().enumerate() {
        insn.reg_use.branch_target = targets & (1 << index) != 0;
    }
    Ok(plan)
}

/// What the resolver's register witness needs of one region instruction:
/// the 64-bit register a `push` stores (never RSP: the planner refuses
/// `push %rsp`), the general registers it writes, and whether it may change
/// a slot pushed before it or move RSP by other than a static amount.
fn reg_use(insn: &Instruction, stack_effect: i32, factory: &mut InstructionInfoFactory) -> RegUse {
    let info = factory.info(insn);
    let mut writes = 0u16;
    let mut moves_rsp = false;
    for r in info.used_registers() {
        if !is_write(r.access()) {
            continue;
        }
        match gpr_number(r.register()) {
            Some(4) => moves_rsp = true,
            Some(n) => writes |= 1 << n,
            None => {}
        }
    }
    let is_push = insn.mnemonic() == Mnemonic::Push;
    let stores = !is_push
        && info
            .used_memory()
            .iter()
            .any(|m| is_write(m.access()));
    let static_rsp = is_push || (matches!(insn.mnemonic(), Mnemonic::Sub | Mnemonic::Add) && stack_effect != 0);
    let pushes = (is_push && insn.op_count() == 1 && insn.op0_kind() == OpKind::Register && insn.op0_register().is_gpr64())
        .then(|| gpr_number(insn.op0_register()))
        .flatten()
        .filter(|&n| n != 4);
    RegUse {
        pushes,
        writes,
        barrier: stores || stack_effect < 0 || (moves_rsp && !static_rsp),
        branch_target: false,
    }
}

/// The number of the general register `reg` is part of: 0 for RAX, 1 RCX,
/// 2 RDX, 3 RBX, 4 RSP, 5 RBP, 6 RSI, 7 RDI, 8..15 R8..R15 (the encoding's
/// order, [`crate::resolve::RegUse`]'s).
fn gpr_number(reg: Register) -> Option<u8> {
    let full = reg.full_register();
    if !full.is_gpr64() {
        return None;
    }
    u8::try_from(full as u32 - Register::RAX as u32).ok()
}

/// `ret` + 4 × int3: a 5-byte return site the kernel patched from
/// `jmp __x86_return_thunk`.
pub const RETURN_SITE: [u8; 5] = [0xc3, 0xcc, 0xcc, 0xcc, 0xcc];

/// A `ret` or a `jmp rel8` (a tail call or a jump to the shared exit),
/// followed by padding: int3s or NOPs, whole instructions, up to 5 bytes or
/// more in all (at most 15), such as a return site ([`RETURN_SITE`], where
/// the kernel rewrote `jmp __x86_return_thunk` at boot) or the alignment
/// NOPs after a function's last jump. Control never falls into the padding,
/// and nothing branches into it (`scan_branches` refuses a branch into the
/// slot), so the padding is dead and the slot can take the `jmp` to the
/// stub. Returns the slot's length. P copies only the `ret` or the jump.
fn padded_exit(code: &[u8], addr: u64, offset: usize, insn: &Instruction) -> Option<usize> {
    if !matches!(insn.code(), Code::Retnq | Code::Jmp_rel8_64) {
        return None;
    }
    let mut len = insn.len();
    let rest = code.get(offset + len..)?;
    let mut decoder = Decoder::with_ip(64, rest, addr.wrapping_add((offset + len) as u64), DecoderOptions::NONE);
    while len < 5 {
        if !decoder.can_decode() {
            return None;
        }
        let pad = decoder.decode();
        if pad.is_invalid() || !matches!(pad.mnemonic(), Mnemonic::Int3 | Mnemonic::Nop) {
            return None;
        }
        len += pad.len();
    }
    (len <= 15).then_some(len)
}

impl PlannedInsn {
    /// Whether this is a short exit with its dead padding (see
    /// `padded_exit`): IM, longer than the `ret` or `jmp rel8` it starts
    /// with, copied into P as that instruction alone.
    pub fn is_padded_exit(&self) -> bool {
        match self.original.first() {
            Some(0xc3) => self.len > 1,
            Some(0xeb) => self.len > 2,
            _ => false,
        }
    }
}

/// Length of the ENDBR/sealed NOP and fentry NOP before I1.
pub(crate) fn prefix_len(code: &[u8], facts: &Facts<'_>) -> Result<usize, Refusal> {
    let mut at = 0;
    if code.starts_with(&ENDBR64) || (facts.ibt && code.starts_with(&SEALED_ENDBR)) {
        at = ENDBR64.len();
    }
    if facts.fentry {
        let site = code
            .get(at..at + FENTRY_NOP.len())
            .ok_or(Refusal::TooShort { len: code.len() })?;
        if site != FENTRY_NOP {
            let found = match site.first() {
                Some(0xe8) => FentrySite::Call,
                Some(0xe9) => FentrySite::Jmp,
                Some(0xcc) => FentrySite::Int3,
                _ => FentrySite::Other,
            };
            return Err(Refusal::FentrySite { offset: at, found });
        }
        at += FENTRY_NOP.len();
    }
    Ok(at)
}

/// Decodes I1..IM: up to the first instruction of 5 bytes or more, at most
/// [`MAX_REGION`] instructions. Returns each instruction with its offset.
fn decode_region(code: &[u8], addr: u64, start: usize) -> Result<Vec<(usize, Instruction)>, Refusal> {
    let bytes = code.get(start..).ok_or(Refusal::TooShort { len: code.len() })?;
    let mut decoder = Decoder::with_ip(64, bytes, addr.wrapping_add(start as u64), DecoderOptions::NONE);
    let mut out = Vec::new();
    while out.len() < MAX_REGION {
        let offset = start + decoder.position();
        if !decoder.can_decode() {
            return Err(Refusal::TooShort { len: code.len() });
        }
        let insn = decoder.decode();
        if insn.is_invalid() {
            return Err(match decoder.last_error() {
                iced_x86::DecoderError::NoMoreBytes => Refusal::TooShort { len: code.len() },
                _ => Refusal::Undecodable { offset },
            });
        }
        // The region ends at the first long instruction, or where control
        // cannot fall through (a ret or jmp that is not long enough is then
        // refused with its own reason rather than "too short").
        let end = insn.len() >= 5
            || matches!(
                insn.flow_control(),
                FlowControl::Return | FlowControl::UnconditionalBranch | FlowControl::IndirectBranch
            );
        out.push((offset, insn));
        if end {
            return Ok(out);
        }
    }
    Err(Refusal::NoLongInstruction { offset: start })
}

/// Refuses instructions whose control flow cannot be marked or relocated.
pub(crate) fn check_flow(insn: &Instruction, offset: usize) -> Result<(), Refusal> {
    match insn.mnemonic() {
        // int3 is an interrupt too (below), but it is someone's breakpoint.
        Mnemonic::Int3 => return Err(Refusal::Int3 { offset }),
        Mnemonic::Hlt => return Err(Refusal::Hlt { offset }),
        Mnemonic::Syscall
        | Mnemonic::Sysret
        | Mnemonic::Sysretq
        | Mnemonic::Sysenter
        | Mnemonic::Sysexit
        | Mnemonic::Sysexitq
        | Mnemonic::Iret
        | Mnemonic::Iretd
        | Mnemonic::Iretq
        | Mnemonic::Swapgs
        | Mnemonic::Retf
        | Mnemonic::Vmcall
        | Mnemonic::Vmlaunch
        | Mnemonic::Vmresume
        | Mnemonic::Vmrun
        | Mnemonic::Vmmcall
        | Mnemonic::Rsm
        | Mnemonic::Uiret
        | Mnemonic::Tdcall
        | Mnemonic::Seamcall
        | Mnemonic::Seamret
        | Mnemonic::Seamops
        | Mnemonic::Eretu
        | Mnemonic::Erets
        | Mnemonic::Lkgs => return Err(Refusal::PrivilegedFlow { offset }),
        Mnemonic::Xbegin | Mnemonic::Xabort | Mnemonic::Xend => return Err(Refusal::Transactional { offset }),
        _ => {}
    }
    match insn.flow_control() {
        FlowControl::Next | FlowControl::ConditionalBranch => Ok(()),
        FlowControl::IndirectBranch | FlowControl::IndirectCall => Err(Refusal::IndirectBranch { offset }),
        // int1, int N, into
        FlowControl::Interrupt => Err(Refusal::Interrupt { offset }),
        // ud0, ud1, ud2
        FlowControl::Exception => Err(Refusal::Ud { offset }),
        FlowControl::XbeginXabortXend => Err(Refusal::Transactional { offset }),
        FlowControl::Return => Err(Refusal::LeavesRegion { offset }),
        FlowControl::UnconditionalBranch => {
            // A `jmp rel32` can be IM; a shorter one would end the region
            // before an instruction long enough for the jump to the stub.
            if insn.len() >= 5 {
                Ok(())
            } else {
                Err(Refusal::LeavesRegion { offset })
            }
        }
        FlowControl::Call => {
            if insn.code() == Code::Call_rel32_64 {
                Ok(())
            } else {
                Err(Refusal::UnsupportedCall { offset })
            }
        }
    }
}

/// The static stack effect of one region instruction (bytes pushed), or a
/// refusal when it writes RSP in any other way.
fn stack_effect(insn: &Instruction, offset: usize, factory: &mut InstructionInfoFactory) -> Result<i32, Refusal> {
    let op0_is_rsp = insn.op_count() > 0
        && insn.op0_kind() == OpKind::Register
        && insn.op0_register().full_register() == Register::RSP;
    let effect: i64 = match insn.mnemonic() {
        Mnemonic::Push if op0_is_rsp => return Err(Refusal::PushRsp { offset }),
        Mnemonic::Pop if op0_is_rsp => return Err(Refusal::RspWrite { offset }),
        Mnemonic::Push
        | Mnemonic::Pop
        | Mnemonic::Pushf
        | Mnemonic::Pushfq
        | Mnemonic::Pushfd
        | Mnemonic::Popf
        | Mnemonic::Popfq
        | Mnemonic::Popfd => -i64::from(insn.stack_pointer_increment()),
        Mnemonic::Sub | Mnemonic::Add
            if op0_is_rsp && insn.op0_register() == Register::RSP && is_immediate(insn.op1_kind()) =>
        {
            let imm = insn.immediate(1) as i64;
            if insn.mnemonic() == Mnemonic::Sub {
                imm
            } else {
                imm.checked_neg().ok_or(Refusal::OddStackEffect { offset })?
            }
        }
        // The callee returns to the next instruction: no net effect there.
        Mnemonic::Call if insn.code() == Code::Call_rel32_64 => 0,
        _ => {
            if writes_rsp(insn, factory) {
                return Err(Refusal::RspWrite { offset });
            }
            0
        }
    };
    if effect % 8 != 0 || !(-MAX_STACK_EFFECT..=MAX_STACK_EFFECT).contains(&effect) {
        return Err(Refusal::OddStackEffect { offset });
    }
    i32::try_from(effect).map_err(|_| Refusal::OddStackEffect { offset })
}

fn is_immediate(kind: OpKind) -> bool {
    matches!(
        kind,
        OpKind::Immediate8
            | OpKind::Immediate8to64
            | OpKind::Immediate32
            | OpKind::Immediate32to64
            | OpKind::Immediate8to32
    )
}

/// Whether the instruction writes RSP (or a part of it), explicitly or
/// implicitly.
fn writes_rsp(insn: &Instruction, factory: &mut InstructionInfoFactory) -> bool {
    writes_reg(insn, Register::RSP, factory)
}

/// `and $-N,%rsp` with N a power of two from 16 to 4096: returns N.
fn realign_imm(insn: &Instruction) -> Option<u64> {
    if insn.mnemonic() != Mnemonic::And
        || insn.op_count() != 2
        || insn.op0_kind() != OpKind::Register
        || insn.op0_register() != Register::RSP
        || !is_immediate(insn.op1_kind())
    {
        return None;
    }
    let align = (insn.immediate(1) as i64).checked_neg()? as u64;
    (align.is_power_of_two() && (16..=4096).contains(&align)).then_some(align)
}

/// `mov %rsp,%rbp`.
fn is_mov_rsp_to_rbp(insn: &Instruction) -> bool {
    insn.mnemonic() == Mnemonic::Mov
        && insn.op_count() == 2
        && insn.op0_kind() == OpKind::Register
        && insn.op0_register() == Register::RBP
        && insn.op1_kind() == OpKind::Register
        && insn.op1_register() == Register::RSP
}

/// The offset of the realigning `and` among the planned instructions.
fn realign_offset(insns: &[PlannedInsn], realign: Option<Realign>) -> usize {
    realign.and_then(|r| insns.get(r.index)).map_or(0, |i| i.offset)
}

/// Whether the instruction writes `reg` (or a part of it), explicitly or
/// implicitly.
fn writes_reg(insn: &Instruction, reg: Register, factory: &mut InstructionInfoFactory) -> bool {
    let info = factory.info_options(insn, InstructionInfoOptions::NO_MEMORY_USAGE);
    info.used_registers().iter().any(|r| r.register().full_register() == reg && is_write(r.access()))
}

/// Whether an operand access writes (always or conditionally).
fn is_write(access: OpAccess) -> bool {
    matches!(access, OpAccess::Write | OpAccess::CondWrite | OpAccess::ReadWrite | OpAccess::ReadCondWrite)
}

/// RIP-relative operands and the return address of a relocated call.
pub(crate) fn check_region_operands(plan: &Plan, region: &[(usize, Instruction)]) -> Result<(), Refusal> {
    let start = plan.addr.wrapping_add(plan.region_start() as u64);
    let end = plan.addr.wrapping_add(plan.region_end() as u64);
    for (offset, insn) in region {
        if insn.is_ip_rel_memory_operand() {
            // The relocating encoder would point it at the copy in P.
            let target = insn.ip_rel_memory_address();
            if (start..end).contains(&target) {
                return Err(Refusal::RipRelIntoRegion { offset: *offset });
            }
        }
        if insn.code() == Code::Call_rel32_64 && !fits_push_imm32(insn.next_ip()) {
            return Err(Refusal::ReturnAddressTooWide { offset: *offset });
        }
    }
    Ok(())
}

/// `push imm32` sign-extends: the value must be in the top or bottom 2 GB.
pub fn fits_push_imm32(value: u64) -> bool {
    i32::try_from(value as i64).is_ok()
}

/// Decodes the whole function linearly, and its `.cold` part when it has
/// one, and checks every branch target against the region. Stops quietly
/// at trailing padding (int3/NOPs followed by bytes that do not decode);
/// undecodable bytes elsewhere are refused, since a branch hidden in them
/// could not be checked. Returns the region instructions a branch lands
/// on, as a mask (bit k: Ik).
pub(crate) fn scan_branches(code: &[u8], addr: u64, plan: &Plan, cold: Option<(u64, &[u8])>) -> Result<u32, Refusal> {
    let mut targets = scan_part(code, addr, addr, plan)?;
    if let Some((cold_addr, cold_code)) = cold {
        targets |= scan_part(cold_code, cold_addr, addr, plan).map_err(|e| match e {
            Refusal::Undecodable { offset } => Refusal::ColdUndecodable { offset },
            Refusal::BackEdgeToEntry { from, to }
            | Refusal::BranchIntoInstruction { from, to }
            | Refusal::BranchChangesDepth { from, to }
            | Refusal::CallIntoRegion { from, to } => Refusal::ColdBranch { from, to },
            e => e,
        })?;
    }
    Ok(targets)
}

/// [`scan_branches`] over one part of the function, `code` at `part_addr`
/// (the function itself when it is `addr`); offsets in the refusals are
/// the part's.
fn scan_part(code: &[u8], part_addr: u64, addr: u64, plan: &Plan) -> Result<u32, Refusal> {
    // Bit k: a branch of the function lands on Ik (k < MAX_REGION <= 32).
    let mut targets = 0u32;
    let region_start = plan.region_start();
    let region_end = plan.region_end();
    let region_index = |offset: usize| plan.insns.iter().position(|i| i.offset == offset);
    let own = part_addr == addr;
    let mut decoder = Decoder::with_ip(64, code, part_addr, DecoderOptions::NONE);
    let mut insn = Instruction::default();
    let mut in_padding = false;
    while decoder.can_decode() {
        let from = decoder.position();
        decoder.decode_out(&mut insn);
        if insn.is_invalid() {
            if in_padding {
                return Ok(targets);
            }
            return Err(Refusal::Undecodable { offset: from });
        }
        in_padding = matches!(insn.mnemonic(), Mnemonic::Int3 | Mnemonic::Nop);
        if insn.op_count() == 0 || insn.op0_kind() != OpKind::NearBranch64 {
            continue;
        }
        let to = insn.near_branch_target().wrapping_sub(addr);
        if to >= region_end as u64 {
            continue; // beyond the region (or outside the function)
        }
        let to = to as usize; // < region_end
        let from_index = if own && (region_start..region_end).contains(&from) {
            region_index(from)
        } else {
            None
        };
        if insn.flow_control() == FlowControl::Call {
            // A call to the entry is a new call (recursion), which is what
            // the resolver will take it for; a relocated call to I1 would
            // be redirected into the pseudo-original, so refuse that one.
            let recursion = to == 0 && !(from_index.is_some() && region_start == 0);
            if !recursion {
                return Err(Refusal::CallIntoRegion { from, to });
            }
            continue;
        }
        if to <= region_start {
            return Err(Refusal::BackEdgeToEntry { from, to });
        }
        let Some(to_index) = region_index(to) else {
            return Err(Refusal::BranchIntoInstruction { from, to });
        };
        targets |= 1 << to_index;
        if let Some(from_index) = from_index {
            // The branch leaves at depth_before(from) + its own effect
            // (branches have none); the target is entered at its own
            // depth: these must agree.
            let from_insn = plan.insns.get(from_index).ok_or(Refusal::Internal)?;
            let after = plan.depth_before(from_index) + i64::from(from_insn.stack_effect);
            if after != plan.depth_before(to_index) {
                return Err(Refusal::BranchChangesDepth { from, to });
            }
        }
        // A thread that has run the realigning `and` must never reach an Ik
        // before it, nor one that has not run it an Ik after it.
        if let Some(r) = plan.realign {
            let ran_and = from_index.map_or(true, |f| f > r.index);
            if ran_and != (to_index > r.index) {
                return Err(Refusal::BranchChangesDepth { from, to });
            }
        }
    }
    Ok(targets)
}

#[cfg(test)]
mod tests;
