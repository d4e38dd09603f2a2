//! Why a function cannot be patched (or a step of patching cannot go on).
//!
//! Offsets (`+0x9`) are from the function's first byte.

use core::fmt;

/// What sits at the fentry site when it is not the 5-byte NOP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FentrySite {
    /// `call` (e8): ftrace is tracing the function.
    Call,
    /// `jmp` (e9): a direct ftrace/livepatch jump or a patch in progress.
    Jmp,
    /// `int3` (cc): text_poke or a kprobe is rewriting it now.
    Int3,
    /// Anything else: the function has no fentry NOP where one was expected.
    Other,
}

/// Why a plan (or one of its steps) was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The function's bytes end before the region does.
    TooShort { len: usize },
    /// The fentry site does not hold the fentry NOP.
    FentrySite { offset: usize, found: FentrySite },
    /// Bytes that are not a valid instruction (before any trailing padding).
    Undecodable { offset: usize },
    /// No instruction of 5 bytes or more among the first 16 of the region.
    NoLongInstruction { offset: usize },
    /// int3 in the region: a kprobe or text_poke is at work there.
    Int3 { offset: usize },
    /// int1, int n or into in the region.
    Interrupt { offset: usize },
    /// ud0/ud1/ud2 in the region: its bug-table entry is keyed by its address.
    Ud { offset: usize },
    /// hlt in the region.
    Hlt { offset: usize },
    /// syscall, sysret, iret, swapgs, far return, VM entry/exit and the like.
    PrivilegedFlow { offset: usize },
    /// Transactional memory (xbegin/xabort/xend).
    Transactional { offset: usize },
    /// An indirect call or jump in the region.
    IndirectBranch { offset: usize },
    /// A `ret` or an unconditional `jmp` before IM: what follows it in the
    /// region is reached only by a branch, at a depth the plan cannot see.
    LeavesRegion { offset: usize },
    /// A call other than `call rel32` (never the case in 64-bit code).
    UnsupportedCall { offset: usize },
    /// `push %rsp` in the region: it would be taken for a mark.
    PushRsp { offset: usize },
    /// An instruction that writes RSP other than push/pop/pushf/popf or
    /// sub/add of an immediate (pop %rsp, leave, enter, mov/lea/and to %rsp).
    RspWrite { offset: usize },
    /// A stack effect that is not a multiple of 8 or is out of range.
    OddStackEffect { offset: usize },
    /// The region pops below the function's entry RSP.
    StackBelowEntry { offset: usize },
    /// An instruction in the region has an exception-table entry.
    ExceptionFixup { offset: usize },
    /// A jump anywhere in the function to its entry or I1 (a back-edge the
    /// resolver would take for a new call).
    BackEdgeToEntry { from: usize, to: usize },
    /// A branch into the middle of an instruction of the region or of the
    /// skipped prefix.
    BranchIntoInstruction { from: usize, to: usize },
    /// A branch inside the region whose path skips instructions that move
    /// RSP, so the target would be reached at two depths.
    BranchChangesDepth { from: usize, to: usize },
    /// A call to an address inside the region (other than the entry).
    CallIntoRegion { from: usize, to: usize },
    /// A branch of the function's `.cold` part (at its offset `from`) to
    /// the entry or I1, into the middle of a region instruction, across
    /// the realignment, or a call into the region.
    ColdBranch { from: usize, to: usize },
    /// Bytes of the function's `.cold` part that do not decode.
    ColdUndecodable { offset: usize },
    /// A RIP-relative operand in the region that points into the region.
    RipRelIntoRegion { offset: usize },
    /// The return address a relocated `call` must push is not a
    /// sign-extended 32-bit value.
    ReturnAddressTooWide { offset: usize },
    /// The pseudo-original's address is too far (rel32) from a target.
    OutOfRange { offset: usize },
    /// The stub is too far from IM for a `jmp rel32`.
    StubOutOfRange { stub: u64 },
    /// The text at `addr` is not what the plan expects.
    TextChanged { addr: u64 },
    /// The relocating encoder failed.
    Encoder,
    /// Inconsistent arguments (a bug in the caller).
    Internal,
}

impl Refusal {
    /// A short stable name of the reason, without offsets, for grouping
    /// (coverage reports).
    pub fn kind(&self) -> &'static str {
        match self {
            Refusal::TooShort { .. } => "too-short",
            Refusal::FentrySite { .. } => "fentry-site",
            Refusal::Undecodable { .. } => "undecodable",
            Refusal::NoLongInstruction { .. } => "no-long-instruction",
            Refusal::Int3 { .. } => "int3",
            Refusal::Interrupt { .. } => "interrupt",
            Refusal::Ud { .. } => "ud",
            Refusal::Hlt { .. } => "hlt",
            Refusal::PrivilegedFlow { .. } => "privileged-flow",
            Refusal::Transactional { .. } => "transactional",
            Refusal::IndirectBranch { .. } => "indirect-branch",
            Refusal::LeavesRegion { .. } => "leaves-region",
            Refusal::UnsupportedCall { .. } => "unsupported-call",
            Refusal::PushRsp { .. } => "push-rsp",
            Refusal::RspWrite { .. } => "rsp-write",
            Refusal::OddStackEffect { .. } => "odd-stack-effect",
            Refusal::StackBelowEntry { .. } => "stack-below-entry",
            Refusal::ExceptionFixup { .. } => "exception-fixup",
            Refusal::BackEdgeToEntry { .. } => "back-edge-to-entry",
            Refusal::BranchIntoInstruction { .. } => "branch-into-instruction",
            Refusal::BranchChangesDepth { .. } => "branch-changes-depth",
            Refusal::CallIntoRegion { .. } => "call-into-region",
            Refusal::ColdBranch { .. } => "cold-branch",
            Refusal::ColdUndecodable { .. } => "cold-undecodable",
            Refusal::RipRelIntoRegion { .. } => "rip-rel-into-region",
            Refusal::ReturnAddressTooWide { .. } => "return-address-too-wide",
            Refusal::OutOfRange { .. } => "out-of-range",
            Refusal::StubOutOfRange { .. } => "stub-out-of-range",
            Refusal::TextChanged { .. } => "text-changed",
            Refusal::Encoder => "encoder",
            Refusal::Internal => "internal",
        }
    }
}

impl fmt::Display for FentrySite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FentrySite::Call => "a call (ftrace is tracing the function)",
            FentrySite::Jmp => "a jmp (a direct ftrace or livepatch jump)",
            FentrySite::Int3 => "int3 (text_poke or a kprobe at work)",
            FentrySite::Other => "no fentry NOP",
        })
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Refusal::TooShort { len } => write!(f, "function too short ({len} bytes) for a region"),
            Refusal::FentrySite { offset, found } => write!(f, "fentry site at +{offset:#x} holds {found}"),
            Refusal::Undecodable { offset } => write!(f, "undecodable bytes at +{offset:#x}"),
            Refusal::NoLongInstruction { offset } => {
                write!(f, "no instruction of 5 bytes or more within 16 from +{offset:#x}")
            }
            Refusal::Int3 { offset } => {
                write!(f, "region has int3 at +{offset:#x} (a kprobe or text_poke in progress)")
            }
            Refusal::Interrupt { offset } => write!(f, "region has a software interrupt at +{offset:#x}"),
            Refusal::Ud { offset } => {
                write!(
                    f,
                    "region has ud0/ud1/ud2 at +{offset:#x} (its bug-table entry is keyed by that address)"
                )
            }
            Refusal::Hlt { offset } => write!(f, "region has hlt at +{offset:#x}"),
            Refusal::PrivilegedFlow { offset } => {
                write!(
                    f,
                    "region has privileged control flow at +{offset:#x} (syscall/sysret/iret/swapgs...)"
                )
            }
            Refusal::Transactional { offset } => write!(f, "region has transactional memory at +{offset:#x}"),
            Refusal::IndirectBranch { offset } => write!(f, "region has an indirect call or jump at +{offset:#x}"),
            Refusal::LeavesRegion { offset } => {
                write!(f, "region has ret or jmp at +{offset:#x} before its 5-byte instruction")
            }
            Refusal::UnsupportedCall { offset } => {
                write!(f, "region has a call that is not call rel32 at +{offset:#x}")
            }
            Refusal::PushRsp { offset } => write!(f, "region has push %rsp at +{offset:#x} (it looks like a mark)"),
            Refusal::RspWrite { offset } => {
                write!(
                    f,
                    "region writes %rsp at +{offset:#x} other than by push/pop/sub/add imm"
                )
            }
            Refusal::OddStackEffect { offset } => {
                write!(f, "region moves %rsp by a non-multiple of 8 or too far at +{offset:#x}")
            }
            Refusal::StackBelowEntry { offset } => write!(f, "region pops above the entry stack at +{offset:#x}"),
            Refusal::ExceptionFixup { offset } => write!(f, "region has an exception-table entry at +{offset:#x}"),
            Refusal::BackEdgeToEntry { from, to } => {
                write!(
                    f,
                    "jump at +{from:#x} back to the entry (+{to:#x}) would look like a new call"
                )
            }
            Refusal::BranchIntoInstruction { from, to } => {
                write!(
                    f,
                    "branch at +{from:#x} into the middle of a region instruction (+{to:#x})"
                )
            }
            Refusal::BranchChangesDepth { from, to } => {
                write!(f, "branch at +{from:#x} to +{to:#x} skips a stack change in the region")
            }
            Refusal::CallIntoRegion { from, to } => write!(f, "call at +{from:#x} into the region (+{to:#x})"),
            Refusal::ColdBranch { from, to } => {
                write!(f, "branch at .cold+{from:#x} to +{to:#x}, where a thread cannot come back into the region")
            }
            Refusal::ColdUndecodable { offset } => write!(f, "undecodable bytes at .cold+{offset:#x}"),
            Refusal::RipRelIntoRegion { offset } => {
                write!(f, "RIP-relative operand at +{offset:#x} points into the region")
            }
            Refusal::ReturnAddressTooWide { offset } => {
                write!(f, "call at +{offset:#x}: its return address does not fit push imm32")
            }
            Refusal::OutOfRange { offset } => {
                write!(
                    f,
                    "pseudo-original too far from the target of the instruction at +{offset:#x}"
                )
            }
            Refusal::StubOutOfRange { stub } => write!(f, "stub at {stub:#x} out of jmp rel32 range"),
            Refusal::TextChanged { addr } => write!(f, "text at {addr:#x} is not what the plan expects"),
            Refusal::Encoder => f.write_str("relocating encoder failed"),
            Refusal::Internal => f.write_str("internal error: inconsistent arguments"),
        }
    }
}
