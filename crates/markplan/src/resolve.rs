//! The resolver's decision: from the words on a thread's stack, where that
//! thread was in the region, how many marks to pop and where to continue.
//!
//! Indices are 0-based like `Plan::insns`: index 0 is I1, index M-1 is IM.
//! `effects[i]` is the static stack effect of `insns[i]` (bytes pushed), and
//! `depth(K)` = effects[0] + ... + effects[K-1], the bytes I1..IK pushed
//! before a thread reaches index K on the original path.
//!
//! # The decision
//!
//! A mark (`push %rsp`) leaves a slot at address A holding A + 8. Let r be the
//! number of consecutive mark-like slots from `sp` upward, bounded by the
//! number of marks the position allows (M-1 at the stub, `index` at a trap
//! before `insns[index]`). A candidate c in 0..=r says: the thread ran the
//! originals up to index K-1 and then c marks, with K = M-1-c at the stub
//! (K = `index`-c at a trap). Under it, the return address is the word at
//! byte offset 8c + depth(K) from `sp`. A candidate is consistent when that
//! word is a text address. The resolver takes the LARGEST consistent c:
//! `RunHook { pop: M-1 }` at the stub when K = 0 and the hook is active,
//! otherwise `Resume { pop: c, index: K }`; at a trap it always resumes.
//!
//! # Why this is right, and what it assumes
//!
//! Let c* be the truth: the thread ran the originals up to K*-1 (from the
//! entry, or from a jump-in at some Ij, which objtool guarantees is reached at
//! depth(j)), then c* marks. The c* words above `sp` are marks, so r >= c*;
//! above them lies the frame I1..IK*-1 built, then the return address. The
//! return address is a text address (it must be in what `is_text` accepts:
//! the kernel side should use `kernel_text_address()`, which covers modules,
//! ftrace and BPF trampolines), never a stack address, so the run cannot
//! pass it. So c* is a consistent candidate, and the chosen c >= c*.
//!
//! The first design notes said the static depths make exactly one candidate
//! consistent. That is false: c > c* is consistent whenever the words
//! c*..c-1 of the true frame are mark-like and the word at 8c + depth(K)
//! holds a text address. Two ways this happens:
//!
//! (a) A pushed register that equals its own slot + 8. Region
//! `push %rax; xor %eax,%eax; <5-byte insn>` entered with rax == the entry
//! RSP E (the address of the return slot, i.e. rax's own slot + 8): after
//! `push %rax` and one mark the stack is [E-8][E][ret], and after two marks
//! from the entry it is [E-8][E][ret] too (the first mark stores E).
//! c = 2 (K = 0) and c = 1 (K = 1) give identical images and the same return
//! slot; memory alone cannot tell them apart. Here the larger c is still correct whenever the extra
//! instructions IK..IK*-1 between the two interpretations are all pure
//! pushes (`push reg`/`push imm`: they write only their slot and RSP, read
//! only registers they do not change, and leave the flags alone). Popping
//! their slots and re-executing them from P stores the same values in the
//! same slots and reaches the same machine state as continuing at K*; and
//! running the hook (K = 0) with the current registers is a fresh call with
//! the same arguments, because the pushes changed no register. The same holds
//! for `sub $8,%rsp`, whose slot is uninitialised and whose flags depend only
//! on RSP, which is the same on re-execution.
//!
//! (b) Stale stack memory. `sub $N,%rsp` leaves old contents in its area,
//! and the bottom word of that area sits directly above the marks. A
//! mark-like stale word there (a slot an earlier frame pushed with
//! `push %rsp`, or a stored pointer to the next word) makes a larger c
//! possible; if the instructions it skips are not pure pushes (here: the
//! sub itself, and anything not a push after it), re-executing them from P
//! would be wrong. Two guards: the kernel side zeroes every mark slot it
//! pops (the stub and the int3 handler), which removes the main source of
//! mark-like stale words, the marks of earlier calls; and the larger
//! candidate must also find a text address exactly at its return slot,
//! which is where the true frame holds a pushed register or stale data.
//!
//! The residual assumption, stated honestly: the word directly above the
//! true marks is not mark-like, unless the instructions that a larger
//! consistent candidate would re-execute are pure pushes; or if it is, the
//! larger candidate's return slot does not hold a text address. A false
//! choice needs a pushed register (or stale word) that holds exactly its own
//! slot address + 8, AND a text address in a second exact place, AND
//! instructions between the two interpretations that are not pure pushes.
//! Compiled prologues push callee-saved registers, which rarely hold an
//! address of the current stack, let alone that one; mark slots are zeroed.
//! This is an argument about likelihood, not a proof; closing the hole
//! exactly would need a stricter region rule, at a cost in coverage.
//!
//! # The registers, a second witness
//!
//! The stub and the int3 handler also have the thread's registers
//! ([`Pushes`]). A thread that ran I1..IK-1 in place left in each slot a
//! `push` of register R filled R's value now, unless an instruction since
//! wrote R. The resolver takes the largest consistent candidate the
//! registers do not refute, and the largest consistent one when they
//! refute all. The truth is never refuted (a thread that came in by a branch
//! of its function is checked only from the branch target on), so the
//! choice is still at least the truth; a false larger candidate now also
//! needs the stale words where it puts the pushes to hold the registers.
//!
//! # Regions that realign the stack
//!
//! `push %rbp; mov %rsp,%rbp; push ...; and $-N,%rsp; sub $X,%rsp` (over-
//! aligned locals) makes the depth after the `and` depend on the entry RSP.
//! For a candidate past the `and` the resolver takes the entry from the
//! thread's %rbp instead (the region may not write %rbp after the `mov`),
//! and accepts the candidate only if the stack pointer it implies, the
//! entry rounded down and less the static pushes after the `and` and the
//! marks, is exactly `sp + 8c`: a stronger check than the static one.
//! Candidates between the `mov` and the `and` use the static depths, and
//! the entry they imply must also be %rbp + its depth at the `mov`; the
//! stale words the `and` skips (directly above the marks) can then pass
//! for marks only if they also fool %rbp. Candidates before the `mov` use
//! the static depths alone. No branch may cross the `and` (the planner
//! refuses it).
//!
//! When no candidate checks out the result is `Inconsistent`: the stack is
//! not one the region can produce (a bug, or a return address outside
//! `is_text`). The kernel side cannot continue the thread correctly then.

use crate::plan::Realign;

/// A realigning region (`Plan::realign`) and the thread's %rbp: for a
/// candidate past the `and`, the frame pointer gives the entry E = %rbp +
/// `rbp_depth`, so the return slot is the word at E and the stack pointer
/// the candidate implies must be exactly (E - depth(and)) rounded down to
/// `align`, less what I(and+1)..IK-1 pushed, less its marks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RealignedFrame {
    pub realign: Realign,
    pub rbp: u64,
}

/// What one original instruction of the region does that the register
/// witness ([`Pushes`]) must know: the register it pushes, the registers it
/// writes, and whether the slots pushed before it can be read as pushed.
/// General registers are numbered as the encoding numbers them: 0 RAX,
/// 1 RCX, 2 RDX, 3 RBX, 4 RSP, 5 RBP, 6 RSI, 7 RDI, 8..15 R8..R15.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RegUse {
    /// The register a `push` of a 64-bit register stores (never RSP).
    pub pushes: Option<u8>,
    /// The general registers it writes (bit n: register n; RSP aside).
    pub writes: u16,
    /// It may change a slot pushed before it (a store to memory, a pop) or
    /// moves RSP by other than a static amount (the realigning `and`).
    pub barrier: bool,
    /// A branch of the function lands on it: a thread there may have come
    /// by that branch, with other registers than those the slots above hold.
    pub branch_target: bool,
}

/// The second witness: the values the region's original pushes stored, and
/// the thread's registers at the stub or the trap. A thread that ran
/// I1..IK-1 in place from the entry has in each slot a `push` of register R
/// stored exactly R's value now, unless an instruction since wrote R (marks
/// write none). A stale word taken for a mark rarely also finds the
/// thread's registers in the slots its candidate puts the pushes in.
#[derive(Clone, Copy, Debug)]
pub struct Pushes<'a> {
    /// The region's [`RegUse`], M of them (`Plan::reg_uses`).
    pub uses: &'a [RegUse],
    /// The thread's general registers, by number.
    pub regs: &'a [u64; 16],
}

/// The furthest a realigned frame's return slot may lie above `sp`.
const MAX_FRAME_BYTES: u64 = 64 * 1024;

/// Where the resolver was reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Position {
    /// At the stub: the thread executed IM's `jmp`.
    Stub,
    /// At an int3 over the first byte of `insns[index]` (not yet executed).
    Trap { index: usize },
}

/// What the thread does next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Pop `pop` marks (M-1) and run the hook: this is a new call.
    RunHook { pop: usize },
    /// Pop `pop` marks and continue at the pseudo-original's entry for
    /// `insns[index]`.
    Resume { pop: usize, index: usize },
    /// No candidate checks out.
    Inconsistent,
}

/// Whether the word at `word` (index from `sp`) is a mark: it holds its own
/// address + 8.
fn is_mark(word_at: &dyn Fn(usize) -> Option<u64>, sp: u64, word: usize) -> bool {
    let slot = sp.wrapping_add((word as u64).wrapping_mul(8));
    word_at(word) == Some(slot.wrapping_add(8))
}

/// depth(K) in words, or None when it is negative or not whole words.
fn depth_words(effects: &[i32], k: usize) -> Option<usize> {
    let depth: i64 = effects.iter().take(k).map(|&e| i64::from(e)).sum();
    if depth < 0 || depth % 8 != 0 {
        return None;
    }
    usize::try_from(depth / 8).ok()
}

/// The number of consecutive mark-like words from `sp`, at most `bound`.
pub fn count_marks(words: &[u64], sp: u64, bound: usize) -> usize {
    count_marks_with(&|w| words.get(w).copied(), sp, bound)
}

/// [`count_marks`] reading the stack through `word_at` (see [`resolve_with`]).
pub fn count_marks_with(word_at: &dyn Fn(usize) -> Option<u64>, sp: u64, bound: usize) -> usize {
    (0..bound).take_while(|&w| is_mark(word_at, sp, w)).count()
}

/// The resolver's decision. `words` are the stack words from `sp` upward
/// (at least [`words_needed`] of them when available; missing words count
/// as neither marks nor text). `effects` are the region's stack effects
/// (`Plan::stack_effects`, M of them).
pub fn resolve(
    words: &[u64],
    sp: u64,
    effects: &[i32],
    at: Position,
    hook_active: bool,
    is_text: &dyn Fn(u64) -> bool,
) -> Decision {
    resolve_with(&|w| words.get(w).copied(), sp, effects, at, hook_active, is_text)
}

/// [`resolve`] reading the stack through `word_at(i)` (the word at
/// `sp + 8 * i`, None when it cannot be read), so that the kernel side reads
/// only the few words the decision looks at (at most the marks and one
/// return slot per candidate), however deep the region's frame is.
pub fn resolve_with(
    word_at: &dyn Fn(usize) -> Option<u64>,
    sp: u64,
    effects: &[i32],
    at: Position,
    hook_active: bool,
    is_text: &dyn Fn(u64) -> bool,
) -> Decision {
    resolve_in_frame(word_at, sp, effects, None, at, hook_active, is_text)
}

/// [`resolve_with`] for a region that may realign the stack: `realigned`
/// is `Plan::realign` with the thread's %rbp (None for other regions).
/// Every mark of the region may have been run ([`resolve_armed`] with all
/// of them armed).
pub fn resolve_in_frame(
    word_at: &dyn Fn(usize) -> Option<u64>,
    sp: u64,
    effects: &[i32],
    realigned: Option<RealignedFrame>,
    at: Position,
    hook_active: bool,
    is_text: &dyn Fn(u64) -> bool,
) -> Decision {
    let all = effects.len().saturating_sub(1);
    resolve_armed(word_at, sp, effects, realigned, None, at, all, hook_active, is_text)
}

/// The most marks a thread at `at` can have run in a region of `m`
/// instructions when only the `armed` marks nearest IM were ever written:
/// the install writes IM-1 first and I1 last, so Ik (0-based) can have been
/// a mark only for k >= M-1-`armed`, and the marks a thread ran are the
/// ones just before `at`. During the install this is a fact about the
/// text, not the stack: a thread at an int3 over the instruction being
/// written has run no mark at all, and one at the stub no more than the
/// marks written so far.
pub fn marks_bound(at: Position, m: usize, armed: usize) -> usize {
    let lowest = m.saturating_sub(1).saturating_sub(armed);
    first_index(at, m).map_or(0, |first| first.saturating_sub(lowest))
}

/// [`resolve_in_frame`] when only the `armed` marks nearest IM can have
/// been run ([`marks_bound`]): no candidate takes more marks than that, so
/// a stale mark-like word above the true marks cannot pass for one of
/// them while the install is under way. With `pushes`, the thread's
/// registers choose among the consistent candidates ([`choose`]).
#[allow(clippy::too_many_arguments)]
pub fn resolve_armed(
    word_at: &dyn Fn(usize) -> Option<u64>,
    sp: u64,
    effects: &[i32],
    realigned: Option<RealignedFrame>,
    pushes: Option<Pushes<'_>>,
    at: Position,
    armed: usize,
    hook_active: bool,
    is_text: &dyn Fn(u64) -> bool,
) -> Decision {
    let Some(first) = first_index(at, effects.len()) else {
        return Decision::Inconsistent;
    };
    let run = count_marks_with(word_at, sp, marks_bound(at, effects.len(), armed));
    let Some(c) = choose(word_at, sp, effects, realigned, pushes, first, run, is_text) else {
        return Decision::Inconsistent;
    };
    let k = first - c;
    match at {
        Position::Stub if k == 0 && hook_active => Decision::RunHook { pop: c },
        _ => Decision::Resume { pop: c, index: k },
    }
}

/// The candidate the resolver takes among 0..=`run`: the largest consistent
/// one the thread's registers do not refute ([`Pushes`]); when they refute
/// every consistent candidate, the largest consistent one. A thread that
/// entered at I1, or came by a branch of its function, never refutes its
/// own candidate, so the choice is still at least the truth. One that
/// jumped into the region from another symbol after changing a register the
/// region pushed may refute its own, and a smaller candidate the registers
/// cannot check may then be taken (assumption A2, docs/design.md).
#[allow(clippy::too_many_arguments)]
fn choose(
    word_at: &dyn Fn(usize) -> Option<u64>,
    sp: u64,
    effects: &[i32],
    realigned: Option<RealignedFrame>,
    pushes: Option<Pushes<'_>>,
    first: usize,
    run: usize,
    is_text: &dyn Fn(u64) -> bool,
) -> Option<usize> {
    let mut largest = None;
    for c in (0..=run).rev() {
        if return_slot(word_at, sp, effects, realigned, first, c, is_text).is_none() {
            continue;
        }
        if pushes.map_or(true, |p| pushes_agree(word_at, effects, p, first - c, c)) {
            return Some(c);
        }
        largest.get_or_insert(c);
    }
    largest
}

/// Whether the thread's registers refute candidate `c` at `at`: a slot one
/// of its pushes filled does not hold the register that push stored (see
/// [`Pushes`]). The truth is never refuted for a thread that entered the
/// function at its entry or came by a branch of the function.
pub fn refuted_by_registers(word_at: &dyn Fn(usize) -> Option<u64>, effects: &[i32], pushes: Pushes<'_>, at: Position, c: usize) -> bool {
    first_index(at, effects.len())
        .and_then(|first| first.checked_sub(c))
        .is_some_and(|k| !pushes_agree(word_at, effects, pushes, k, c))
}

/// Whether candidate `c` (the thread ran I1..IK-1 in place, K = `k`, then
/// `c` marks) finds the thread's registers in the slots its pushes filled:
/// every `push` of a register that no instruction after it wrote, walking
/// back from IK-1 and stopping at a barrier or where a branch may have
/// entered ([`RegUse`]). A branch onto IK itself leaves nothing to check:
/// the thread may have come round a loop of the function, which changed
/// any register since the pushes ran.
fn pushes_agree(word_at: &dyn Fn(usize) -> Option<u64>, effects: &[i32], p: Pushes<'_>, k: usize, c: usize) -> bool {
    if p.uses.get(k).is_some_and(|u| u.branch_target) {
        return true;
    }
    let Some(entry) = depth_words(effects, k).and_then(|d| d.checked_add(c)) else {
        return true;
    };
    let mut written = 0u16;
    for j in (0..k).rev() {
        let Some(u) = p.uses.get(j) else {
            return true;
        };
        if u.barrier {
            break;
        }
        if let Some(r) = u.pushes.filter(|&r| r < 16 && written & (1 << r) == 0) {
            // The push left RSP at entry - depth(j+1): its slot is there.
            let Some(slot) = depth_words(effects, j + 1).and_then(|after| entry.checked_sub(after)) else {
                break;
            };
            if word_at(slot) != Some(p.regs[usize::from(r)]) {
                return false;
            }
        }
        written |= u.writes;
        if u.branch_target {
            break;
        }
    }
    true
}

/// The index a thread at `at` would run next had it run no marks, in a
/// region of `m` instructions; None for an empty region or a trap past it.
fn first_index(at: Position, m: usize) -> Option<usize> {
    match at {
        Position::Stub => m.checked_sub(1),
        Position::Trap { index } => (index < m).then_some(index),
    }
}

/// The return slot (in words from `sp`) of candidate `c`, when it is
/// consistent: the word there is text, and a realigned frame agrees.
fn return_slot(
    word_at: &dyn Fn(usize) -> Option<u64>,
    sp: u64,
    effects: &[i32],
    realigned: Option<RealignedFrame>,
    first: usize,
    c: usize,
    is_text: &dyn Fn(u64) -> bool,
) -> Option<usize> {
    let k = first.checked_sub(c)?;
    let ret = match realigned {
        Some(f) if k > f.realign.index => realigned_return_slot(f, effects, k, sp, c),
        // Past the `mov %rsp,%rbp`: %rbp is a second witness of the
        // entry the static depth gives.
        Some(f) if k > f.realign.mov_index => depth_words(effects, k)
            .and_then(|d| d.checked_add(c))
            .filter(|&w| Some(sp.wrapping_add(8 * w as u64)) == f.rbp.checked_add(f.realign.rbp_depth as u64)),
        _ => depth_words(effects, k).and_then(|d| d.checked_add(c)),
    }?;
    word_at(ret).is_some_and(is_text).then_some(ret)
}

/// A rival explanation of the stack a decision took `chosen` marks from:
/// the largest smaller candidate that is consistent too and puts the
/// return address elsewhere, so that it implies another stack height. The
/// stack alone cannot say which is true; [`resolve_in_frame`] takes the
/// larger, which is wrong when the rival is the truth (the residual
/// assumption A1 of docs/design.md, "The exact guarantee"). Rivals whose
/// return slot is the chosen one's (marks over pure pushes) are not
/// reported: either choice gives the same state; nor, when the thread's
/// registers do not refute the choice ([`Pushes`]), rivals they refute. The kernel counts these
/// decisions (`stats`: ambiguous_decisions).
#[allow(clippy::too_many_arguments)]
pub fn rival_in_frame(
    word_at: &dyn Fn(usize) -> Option<u64>,
    sp: u64,
    effects: &[i32],
    realigned: Option<RealignedFrame>,
    pushes: Option<Pushes<'_>>,
    at: Position,
    chosen: usize,
    is_text: &dyn Fn(u64) -> bool,
) -> Option<usize> {
    let first = first_index(at, effects.len())?;
    let slot = return_slot(word_at, sp, effects, realigned, first, chosen, is_text)?;
    let agrees = |c: usize| pushes.map_or(true, |p| pushes_agree(word_at, effects, p, first - c, c));
    // A rival the registers refute is none, unless they refute the choice too.
    let confirmed = agrees(chosen);
    (0..chosen).rev().find(|&c| {
        return_slot(word_at, sp, effects, realigned, first, c, is_text).is_some_and(|s| s != slot) && (!confirmed || agrees(c))
    })
}

/// The stub's fast path as a predicate (src/entry.S implements it in
/// assembly, in markpatch_resolver_entry): the M-1 words from `sp` are all
/// marks and the word above them is text. Whenever it holds,
/// [`resolve_in_frame`] at the stub with the hook active decides
/// `RunHook { pop: M-1 }`, for any region, realigned or not: c = M-1 is the
/// largest candidate there is, and its K = 0 has depth 0 and no frame
/// pointer check. So the kernel may take that decision without the search,
/// once every mark is armed ([`marks_bound`]: before that, no thread ran
/// them all, and the fast path leaves the decision to the resolver).
pub fn is_plain_new_call(word_at: &dyn Fn(usize) -> Option<u64>, sp: u64, m: usize, is_text: &dyn Fn(u64) -> bool) -> bool {
    m > 0 && count_marks_with(word_at, sp, m - 1) == m - 1 && word_at(m - 1).is_some_and(is_text)
}

/// The return slot (in words from `sp`) of candidate `c` (K = `k`, past the
/// realigning `and`), or None when the stack pointer it implies is not
/// `sp + 8c` (see [`RealignedFrame`]).
fn realigned_return_slot(f: RealignedFrame, effects: &[i32], k: usize, sp: u64, c: usize) -> Option<usize> {
    let r = f.realign;
    if !r.align.is_power_of_two() || r.rbp_depth < 0 {
        return None;
    }
    let entry = f.rbp.checked_add(r.rbp_depth as u64)?;
    let before = depth_words(effects, r.index)? as u64 * 8;
    let after = (depth_words(effects, k)? as u64 * 8).checked_sub(before)?;
    let aligned = entry.checked_sub(before)? & !(r.align - 1);
    let implied = aligned.checked_sub(after)?.checked_sub(8 * c as u64)?;
    if implied != sp || entry - sp > MAX_FRAME_BYTES || (entry - sp) % 8 != 0 {
        return None;
    }
    usize::try_from((entry - sp) / 8).ok()
}

/// How many stack words from `sp` the resolver may read for a region with
/// these stack effects: the marks and the deepest return slot of any
/// candidate, at the stub or at any trap.
pub fn words_needed(effects: &[i32]) -> usize {
    let m = effects.len();
    (0..m)
        .map(|k| {
            let marks = m.saturating_sub(1).saturating_sub(k);
            depth_words(effects, k)
                .unwrap_or(0)
                .saturating_add(marks)
                .saturating_add(1)
        })
        .max()
        .unwrap_or(0)
}

#[cfg(test)]
mod tests;
