//! The resolver against a tiny machine that executes the region's
//! instructions (their stack effects and register effects) and the marks, so
//! the stacks are the ones a thread really leaves.

use super::*;
use alloc::collections::BTreeMap;
use alloc::vec;
use alloc::vec::Vec;

const ENTRY: u64 = 0xffff_c900_0001_0f00; // RSP at the function's entry
const RET: u64 = 0xffff_ffff_8123_4567; // the caller's return address
const TEXT_VALUE: u64 = 0xffff_ffff_8155_0000; // some other text address

fn is_text(a: u64) -> bool {
    (0xffff_ffff_8000_0000..0xffff_ffff_c000_0000).contains(&a)
}

/// An original instruction of a simulated region.
#[derive(Clone, Copy, Debug)]
enum Op {
    PushReg(usize),
    PushImm(u64),
    PopReg(usize),
    SubRsp(u64),
    AddRsp(u64),
    /// Sets a register (xor %eax,%eax, mov $x,%reg).
    SetReg(usize, u64),
    /// Increments a register: NOT idempotent, so a wrong re-execution shows.
    IncReg(usize),
    /// A store to memory outside the frame the machine keeps (mov %rdi,(%rsi)).
    Store,
    /// IM or any instruction with no stack or register effect.
    Other,
}

impl Op {
    fn effect(self) -> i32 {
        match self {
            Op::PushReg(_) | Op::PushImm(_) => 8,
            Op::PopReg(_) => -8,
            Op::SubRsp(n) => n as i32,
            Op::AddRsp(n) => -(n as i32),
            _ => 0,
        }
    }
}

fn effects(region: &[Op]) -> Vec<i32> {
    region.iter().map(|o| o.effect()).collect()
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Machine {
    regs: [u64; 4],
    sp: u64,
    mem: BTreeMap<u64, u64>,
    /// Whether the hook ran (a new call).
    hook_ran: bool,
}

impl Machine {
    /// A thread at the function's entry: the return address at ENTRY, the
    /// caller's frame above, `stale` below (what earlier calls left).
    fn at_entry(regs: [u64; 4], stale: &[u64]) -> Machine {
        let mut mem = BTreeMap::new();
        mem.insert(ENTRY, RET);
        for i in 1..8u64 {
            mem.insert(ENTRY + 8 * i, 0x5555_0000 + i);
        }
        for (i, &v) in stale.iter().enumerate() {
            mem.insert(ENTRY - 8 * (i as u64 + 1), v);
        }
        Machine {
            regs,
            sp: ENTRY,
            mem,
            hook_ran: false,
        }
    }

    fn push(&mut self, v: u64) {
        self.sp -= 8;
        self.mem.insert(self.sp, v);
    }

    fn exec(&mut self, op: Op) {
        match op {
            Op::PushReg(r) => self.push(self.regs[r]),
            Op::PushImm(v) => self.push(v),
            Op::PopReg(r) => {
                self.regs[r] = self.mem.get(&self.sp).copied().unwrap_or(0);
                self.sp += 8;
            }
            Op::SubRsp(n) => self.sp -= n,
            Op::AddRsp(n) => self.sp += n,
            Op::SetReg(r, v) => self.regs[r] = v,
            Op::IncReg(r) => self.regs[r] += 1,
            Op::Store | Op::Other => {}
        }
    }

    /// `push %rsp`.
    fn mark(&mut self) {
        self.push(self.sp);
    }

    fn words(&self, n: usize) -> Vec<u64> {
        (0..n as u64)
            .map(|i| self.mem.get(&(self.sp + 8 * i)).copied().unwrap_or(0))
            .collect()
    }

    /// What the stub and the int3 handler do with a decision: pop the
    /// marks, zeroing their slots, then continue (run the originals from
    /// `index` to the end of the region, as P does; or run the hook, which
    /// here calls the original from its entry).
    fn apply(&mut self, region: &[Op], d: Decision) {
        let (pop, from) = match d {
            Decision::RunHook { pop } => {
                self.hook_ran = true;
                (pop, 0)
            }
            Decision::Resume { pop, index } => (pop, index),
            Decision::Inconsistent => panic!("inconsistent"),
        };
        for _ in 0..pop {
            self.mem.insert(self.sp, 0);
            self.sp += 8;
        }
        for &op in &region[from..] {
            self.exec(op);
        }
    }

    /// The state that matters after the region: registers, RSP and the
    /// stack from RSP up to the caller's frame.
    fn observable(&self) -> ([u64; 4], u64, Vec<u64>) {
        let n = ((ENTRY + 64 - self.sp) / 8) as usize;
        (self.regs, self.sp, self.words(n))
    }
}

const REGS: [u64; 4] = [0x1000, 0x2000, 0x3000, 0x4000];

/// A region like vfs_statfs's: push, push, sub, something, then IM.
fn region_a() -> Vec<Op> {
    vec![
        Op::PushReg(0),
        Op::PushReg(1),
        Op::SubRsp(0x20),
        Op::IncReg(2),
        Op::PushImm(7),
        Op::Other,
    ]
}

/// Runs a thread that jumped in at `start` (0: called) with the frame a
/// later part of the function built for it, the originals up to `k`-1 and
/// then marks up to IM (reverse-order install). Returns it at the stub.
fn thread_at_stub(region: &[Op], start: usize, k: usize, stale: &[u64]) -> Machine {
    let mut m = Machine::at_entry(REGS, stale);
    // A jump-in at Ij arrives at depth(j) (objtool-consistent): build that
    // frame with values that are not marks.
    for &op in &region[..start] {
        m.exec(op);
    }
    for &op in &region[start..k] {
        m.exec(op);
    }
    for _ in k..region.len() - 1 {
        m.mark();
    }
    m
}

/// The true continuation: pop the marks and continue from IK.
fn truth(region: &[Op], start: usize, k: usize, stale: &[u64]) -> Machine {
    let mut m = thread_at_stub(region, start, k, stale);
    let marks = region.len() - 1 - k;
    if k == 0 {
        m.apply(region, Decision::RunHook { pop: marks });
    } else {
        m.apply(region, Decision::Resume { pop: marks, index: k });
    }
    m
}

fn decide(m: &Machine, region: &[Op], at: Position, hook: bool) -> Decision {
    let e = effects(region);
    resolve(&m.words(words_needed(&e)), m.sp, &e, at, hook, &is_text)
}

#[test]
fn every_entry_point_at_the_stub() {
    let region = region_a();
    let m_len = region.len();
    for k in 0..m_len {
        let m = thread_at_stub(&region, 0, k, &[]);
        let marks = m_len - 1 - k;
        let expect = if k == 0 {
            Decision::RunHook { pop: marks }
        } else {
            Decision::Resume { pop: marks, index: k }
        };
        assert_eq!(decide(&m, &region, Position::Stub, true), expect, "K = {k}");
        // With the hook inactive, a new call runs the original from I1.
        let expect = Decision::Resume { pop: marks, index: k };
        assert_eq!(decide(&m, &region, Position::Stub, false), expect, "K = {k}");
    }
}

#[test]
fn every_entry_point_at_every_trap() {
    // Install writes IM first, then IM-1, ...: a thread that meets an int3
    // at Ii has run originals up to IK-1 and marks IK..Ii-1.
    let region = region_a();
    for i in 0..region.len() {
        for k in 0..=i {
            let mut m = Machine::at_entry(REGS, &[]);
            for &op in &region[..k] {
                m.exec(op);
            }
            for _ in k..i {
                m.mark();
            }
            let d = decide(&m, &region, Position::Trap { index: i }, true);
            // Never the hook at a trap, even at I1.
            assert_eq!(d, Decision::Resume { pop: i - k, index: k }, "trap at {i}, K = {k}");
            let mut after = m.clone();
            after.apply(&region, d);
            let mut reference = Machine::at_entry(REGS, &[]);
            for &op in &region {
                reference.exec(op);
            }
            // Marks zeroed below RSP do not matter; compare what does.
            assert_eq!(after.observable(), reference.observable(), "trap at {i}, K = {k}");
        }
    }
}

#[test]
fn jump_ins_have_the_static_depth_of_their_target() {
    let region = region_a();
    for start in 1..region.len() {
        for k in start..region.len() {
            let m = thread_at_stub(&region, start, k, &[]);
            let marks = region.len() - 1 - k;
            assert_eq!(
                decide(&m, &region, Position::Stub, true),
                Decision::Resume { pop: marks, index: k },
                "jump-in at {start}, K = {k}"
            );
        }
    }
}

#[test]
fn continuation_equals_the_original_run() {
    let region = region_a();
    let mut reference = Machine::at_entry(REGS, &[]);
    for &op in &region {
        reference.exec(op);
    }
    for k in 0..region.len() {
        let mut m = thread_at_stub(&region, 0, k, &[]);
        let d = decide(&m, &region, Position::Stub, true);
        m.apply(&region, d);
        assert_eq!(m.observable(), reference.observable(), "K = {k}");
        assert_eq!(m.hook_ran, k == 0);
    }
}

/// The case the first design notes said cannot happen (docs/design.md,
/// "Where the original design notes were wrong"): `push %rax; xor; IM`
/// entered with rax == the entry RSP (its own slot + 8). After the push and
/// one mark, and after two marks from the entry, the stacks are the same
/// and both candidates check out. The resolver takes c = 2 (a new call);
/// the final state is the same as the truth's (c = 1, continue at I2).
#[test]
fn ambiguous_pushed_value_equal_to_its_slot_plus_8() {
    let region = vec![Op::PushReg(0), Op::SetReg(1, 0), Op::Other];
    let regs = [ENTRY, 0x2000, 0x3000, 0x4000];
    let mut thread = Machine::at_entry(regs, &[]);
    thread.exec(region[0]);
    thread.mark();
    let mut fresh = Machine::at_entry(regs, &[]);
    fresh.mark();
    fresh.mark();
    assert_eq!(thread.sp, fresh.sp);
    assert_eq!(thread.words(3), fresh.words(3), "memory cannot tell them apart");

    for hook in [true, false] {
        let d = decide(&thread, &region, Position::Stub, hook);
        let expect = if hook {
            Decision::RunHook { pop: 2 }
        } else {
            Decision::Resume { pop: 2, index: 0 }
        };
        assert_eq!(d, expect);
        let mut chosen = thread.clone();
        chosen.apply(&region, d);
        let mut truth = thread.clone();
        truth.apply(&region, Decision::Resume { pop: 1, index: 1 });
        assert_eq!(chosen.observable(), truth.observable(), "hook {hook}");
    }
}

/// Stale memory in a `sub` area right above the marks that looks like a
/// mark: the larger candidate's return slot is a pushed register, not text,
/// so the resolver falls back to the true count.
#[test]
fn stale_mark_like_word_in_a_sub_area_is_rejected_by_the_text_check() {
    // push %rbx; sub $0x10,%rsp; inc; IM. Truth: K = 2 (one mark).
    let region = vec![Op::PushReg(1), Op::SubRsp(0x10), Op::IncReg(0), Op::Other];
    // The sub area is ENTRY-24..ENTRY-9; its bottom word (ENTRY-24) is
    // directly above the mark. Make it mark-like: it holds ENTRY-16.
    let stale = [0, 0x9999, ENTRY - 16];
    let m = thread_at_stub(&region, 0, 2, &stale);
    assert_eq!(count_marks(&m.words(8), m.sp, 3), 2, "the stale word counts as a mark");
    let d = decide(&m, &region, Position::Stub, true);
    assert_eq!(d, Decision::Resume { pop: 1, index: 2 });
    let mut after = m.clone();
    after.apply(&region, d);
    assert_eq!(after.observable(), truth(&region, 0, 2, &stale).observable());
}

/// The residual case's region: `push %rbx; sub $0x10,%rsp; inc; IM`, with a
/// mark-like stale word at the bottom of the `sub` area (ENTRY-24 holds
/// ENTRY-16) and rbx holding a text address.
fn residual_region() -> (Vec<Op>, [u64; 4], [u64; 3]) {
    (vec![Op::PushReg(1), Op::SubRsp(0x10), Op::IncReg(0), Op::Other], [0x1000, TEXT_VALUE, 0x3000, 0x4000], [0, 0x9999, ENTRY - 16])
}

/// A thread of the residual case that ran I0 and I1, then `marks` marks.
fn residual_thread(marks: usize) -> Machine {
    let (region, regs, stale) = residual_region();
    let mut m = Machine::at_entry(regs, &stale);
    m.exec(region[0]);
    m.exec(region[1]);
    for _ in 0..marks {
        m.mark();
    }
    m
}

/// Whether `m`, after decision `d`, is where a thread that ran the whole
/// residual region unpatched would be.
fn residual_ends_right(m: &Machine, d: Decision) -> bool {
    let (region, regs, stale) = residual_region();
    let mut after = m.clone();
    after.apply(&region, d);
    let mut reference = Machine::at_entry(regs, &stale);
    for &op in &region {
        reference.exec(op);
    }
    after.observable() == reference.observable()
}

/// The residual assumption, shown: if the stale word is mark-like AND the
/// larger candidate's return slot holds a text address (here rbx holds one),
/// the resolver re-executes `inc` and gets it wrong. The kernel side removes
/// the main source of such words by zeroing every mark slot it pops; see
/// the next test.
#[test]
fn residual_stale_mark_and_text_register_misleads() {
    let (region, _, _) = residual_region();
    let m = residual_thread(1);
    let d = decide(&m, &region, Position::Stub, true);
    assert_eq!(d, Decision::Resume { pop: 2, index: 1 }, "documented residual case");
    assert!(!residual_ends_right(&m, d));
    // The truth (one mark) is a rival the kernel counts as ambiguous.
    assert_eq!(rival(&m, &region, Position::Stub, 2), Some(1));
    // The same stack at an int3 before IM has the same candidates; there is
    // no int3 past the region.
    assert_eq!(rival(&m, &region, Position::Trap { index: region.len() - 1 }, 2), Some(1));
    assert_eq!(rival(&m, &region, Position::Trap { index: region.len() }, 2), None);
    assert_eq!(rival(&m, &region, Position::Trap { index: region.len() + 5 }, 2), None);
}

fn decide_armed(m: &Machine, region: &[Op], at: Position, armed: usize) -> Decision {
    let e = effects(region);
    let words = m.words(words_needed(&e));
    resolve_armed(&|w| words.get(w).copied(), m.sp, &e, None, None, at, armed, true, &is_text)
}

#[test]
fn marks_bound_follows_the_install_order() {
    // M = 4: the install writes I3 (IM) as the jmp, then I2, I1, I0 as marks.
    assert_eq!(marks_bound(Position::Stub, 4, 0), 0, "only IM written: no mark yet");
    assert_eq!(marks_bound(Position::Stub, 4, 1), 1);
    assert_eq!(marks_bound(Position::Stub, 4, 3), 3);
    assert_eq!(marks_bound(Position::Stub, 4, 9), 3, "never more than M-1");
    // An int3 over Ii while the install writes Ii (armed = M-1-i): the
    // thread ran originals only.
    for i in 0..4 {
        assert_eq!(marks_bound(Position::Trap { index: i }, 4, 3 - i), 0, "trap at {i}");
    }
    assert_eq!(marks_bound(Position::Trap { index: 3 }, 4, 0), 0, "IM's own int3");
    assert_eq!(marks_bound(Position::Trap { index: 2 }, 4, 2), 1);
    assert_eq!(marks_bound(Position::Trap { index: 2 }, 4, 3), 2, "installed: up to the index");
    assert_eq!(marks_bound(Position::Trap { index: 4 }, 4, 3), 0, "no int3 past the region");
    assert_eq!(marks_bound(Position::Stub, 0, 0), 0);
}

/// The residual case above, during the install: one mark written so far.
/// The larger candidate would need two; the bound leaves the truth.
#[test]
fn residual_case_is_decided_right_while_the_install_writes() {
    let (region, _, _) = residual_region();
    let m = residual_thread(1);
    assert_eq!(decide_armed(&m, &region, Position::Stub, 3), Decision::Resume { pop: 2, index: 1 }, "all armed: the documented wrong choice");
    let d = decide_armed(&m, &region, Position::Stub, 1);
    assert_eq!(d, Decision::Resume { pop: 1, index: 2 });
    assert!(residual_ends_right(&m, d));
}

/// A thread that meets the int3 the install put over Ii ran I0..Ii-1 as
/// originals, whatever the stack above it looks like: a mark-like stale
/// word at the bottom of a `sub` area with a text address where a larger
/// candidate's return slot would be does not make it pop anything.
#[test]
fn an_install_trap_pops_nothing() {
    let (region, _, _) = residual_region();
    let m = residual_thread(0);
    let at = Position::Trap { index: 2 };
    assert_eq!(decide_armed(&m, &region, at, 3), Decision::Resume { pop: 1, index: 1 }, "unbounded: a false mark");
    let d = decide_armed(&m, &region, at, 1);
    assert_eq!(d, Decision::Resume { pop: 0, index: 2 });
    assert!(residual_ends_right(&m, d));
}

/// With any number of marks armed that covers the thread's own, every
/// entry point is decided as before.
#[test]
fn every_entry_point_with_every_sufficient_bound() {
    let region = region_a();
    let m_len = region.len();
    for k in 0..m_len {
        let m = thread_at_stub(&region, 0, k, &[]);
        let marks = m_len - 1 - k;
        let expect = if k == 0 { Decision::RunHook { pop: marks } } else { Decision::Resume { pop: marks, index: k } };
        for armed in marks..m_len + 2 {
            assert_eq!(decide_armed(&m, &region, Position::Stub, armed), expect, "K = {k}, armed {armed}");
        }
    }
}

fn rival(m: &Machine, region: &[Op], at: Position, chosen: usize) -> Option<usize> {
    let e = effects(region);
    let words = m.words(words_needed(&e));
    rival_in_frame(&|i| words.get(i).copied(), m.sp, &e, None, None, at, chosen, &is_text)
}

/// Candidates that re-run pure pushes put the return address in the same
/// slot: not a rival (either choice is right).
#[test]
fn pure_push_ambiguity_has_no_rival() {
    let region = vec![Op::PushReg(0), Op::SetReg(1, 0), Op::Other];
    let regs = [ENTRY, 0x2000, 0x3000, 0x4000];
    let mut thread = Machine::at_entry(regs, &[]);
    thread.exec(region[0]);
    thread.mark();
    assert_eq!(decide(&thread, &region, Position::Stub, true), Decision::RunHook { pop: 2 });
    assert_eq!(rival(&thread, &region, Position::Stub, 2), None);
}

/// A plain stack, whatever the position, has no rival.
#[test]
fn every_entry_point_has_no_rival() {
    let region = region_a();
    for k in 0..region.len() {
        let m = thread_at_stub(&region, 0, k, &[]);
        let marks = region.len() - 1 - k;
        assert_eq!(rival(&m, &region, Position::Stub, marks), None, "K = {k}");
    }
}

/// Marks of an earlier call are the natural source of mark-like stale
/// words; the stub zeroes what it pops, so the next call's `sub` area over
/// the same stack finds zeros.
#[test]
fn popped_marks_are_zeroed_so_a_later_sub_area_is_clean() {
    // A first call: three marks, resolved as a new call at the stub.
    let first = vec![Op::Other, Op::Other, Op::Other, Op::Other];
    let mut m = Machine::at_entry([0x1000, TEXT_VALUE, 0x3000, 0x4000], &[]);
    for _ in 0..3 {
        m.mark();
    }
    let d = decide(&m, &first, Position::Stub, true);
    assert_eq!(d, Decision::RunHook { pop: 3 });
    m.apply(&first, d);
    for i in 1..=3u64 {
        assert_eq!(m.mem.get(&(ENTRY - 8 * i)), Some(&0));
    }
    // A second function on the same stack: push %rbx; sub $0x10,%rsp; inc; IM.
    let region = vec![Op::PushReg(1), Op::SubRsp(0x10), Op::IncReg(0), Op::Other];
    let stale: Vec<u64> = (1..=3u64)
        .map(|i| m.mem.get(&(ENTRY - 8 * i)).copied().unwrap_or(0))
        .collect();
    let mut t = Machine::at_entry([0x1000, TEXT_VALUE, 0x3000, 0x4000], &stale);
    t.exec(region[0]);
    t.exec(region[1]);
    t.mark();
    assert_eq!(
        decide(&t, &region, Position::Stub, true),
        Decision::Resume { pop: 1, index: 2 }
    );
}

#[test]
fn inconsistent_when_nothing_checks_out() {
    let region = region_a();
    let mut m = thread_at_stub(&region, 0, 3, &[]);
    // Overwrite the return address: no candidate finds text.
    m.mem.insert(ENTRY, 0x1234);
    assert_eq!(decide(&m, &region, Position::Stub, true), Decision::Inconsistent);
    // Nothing at all on the stack.
    assert_eq!(
        resolve(&[], ENTRY, &effects(&region), Position::Stub, true, &is_text),
        Decision::Inconsistent
    );
    // An empty region and a trap past the region.
    assert_eq!(
        resolve(&[RET], ENTRY, &[], Position::Stub, true, &is_text),
        Decision::Inconsistent
    );
    assert_eq!(
        resolve(&[RET], ENTRY, &[0, 0], Position::Trap { index: 2 }, true, &is_text),
        Decision::Inconsistent
    );
}

#[test]
fn region_of_one_instruction() {
    // IM is I1: no marks possible; the stub means a new call.
    let region = vec![Op::Other];
    let m = Machine::at_entry(REGS, &[]);
    assert_eq!(decide(&m, &region, Position::Stub, true), Decision::RunHook { pop: 0 });
    assert_eq!(
        decide(&m, &region, Position::Stub, false),
        Decision::Resume { pop: 0, index: 0 }
    );
    assert_eq!(words_needed(&[0]), 1);
}

#[test]
fn words_needed_covers_every_read() {
    // Depths: 0, 8, 16, 48, 48, 56; marks at most 5.
    let e = effects(&region_a());
    // K = 0: 5 marks + 0 + 1; K = 3: 2 marks + 6 + 1 = 9; K = 5: 0 + 7 + 1 = 8.
    assert_eq!(words_needed(&e), 9);
    // Every decision is the same with exactly words_needed words as with
    // many more.
    let region = region_a();
    for k in 0..region.len() {
        let m = thread_at_stub(&region, 0, k, &[]);
        let short = resolve(&m.words(9), m.sp, &e, Position::Stub, true, &is_text);
        let long = resolve(&m.words(64), m.sp, &e, Position::Stub, true, &is_text);
        assert_eq!(short, long);
    }
    assert_eq!(words_needed(&[]), 0);
}

#[test]
fn pops_in_the_region_are_followed() {
    // push %rax; pop %rcx; push %rbx; IM: depths 0, 8, 0, 8.
    let region = vec![Op::PushReg(0), Op::PopReg(2), Op::PushReg(1), Op::AddRsp(8), Op::Other];
    for k in 0..region.len() {
        let mut m = thread_at_stub(&region, 0, k, &[]);
        let d = decide(&m, &region, Position::Stub, false);
        assert_eq!(
            d,
            Decision::Resume {
                pop: region.len() - 1 - k,
                index: k
            },
            "K = {k}"
        );
        m.apply(&region, d);
        let mut reference = Machine::at_entry(REGS, &[]);
        for &op in &region {
            reference.exec(op);
        }
        assert_eq!(m.regs, reference.regs);
        assert_eq!(m.sp, reference.sp);
    }
}

/// push %rbp; mov %rsp,%rbp; push %r14; push %rbx; and $-64,%rsp;
/// sub $0x180,%rsp (IM): a realigning region, run by a thread from an entry
/// that is not 64-byte aligned, up to index `k`, then its marks.
fn realigned_thread(k: usize, gap_word: u64) -> (BTreeMap<u64, u64>, u64, u64) {
    let effects = [8, 0, 8, 8, 0, 0x180];
    let entry = ENTRY + 8; // ...0f08: the `and` drops 8 bytes below the pushes
    let mut mem = BTreeMap::new();
    mem.insert(entry, RET);
    let mut sp = entry;
    let mut rbp = 0x5555; // the caller's %rbp
    for (i, e) in effects.iter().enumerate().take(k) {
        match i {
            1 => rbp = sp,
            4 => {
                let aligned = sp & !63;
                // the gap the `and` leaves: stale memory
                let mut a = aligned;
                while a < sp {
                    mem.insert(a, gap_word);
                    a += 8;
                }
                sp = aligned;
            }
            _ => {
                sp -= *e as u64;
                mem.insert(sp, 0x1111_0000 + i as u64);
            }
        }
    }
    for _ in k..effects.len() - 1 {
        sp -= 8;
        mem.insert(sp, sp + 8);
    }
    (mem, sp, rbp)
}

#[test]
fn realigned_region_every_entry_point_at_the_stub() {
    let effects = [8, 0, 8, 8, 0, 0x180];
    let realign = Realign { index: 4, align: 64, mov_index: 1, rbp_depth: 8 };
    for k in 0..effects.len() {
        let (mem, sp, rbp) = realigned_thread(k, 0);
        let word_at = |i: usize| mem.get(&(sp + 8 * i as u64)).copied();
        let frame = Some(RealignedFrame { realign, rbp });
        let d = resolve_in_frame(&word_at, sp, &effects, frame, Position::Stub, true, &is_text);
        let marks = effects.len() - 1 - k;
        let expect = if k == 0 { Decision::RunHook { pop: marks } } else { Decision::Resume { pop: marks, index: k } };
        assert_eq!(d, expect, "K={k}");
    }
}

#[test]
fn realigned_region_gap_holding_marks_and_text_is_not_misread() {
    // The worst stale gap: the words the `and` skipped look like marks and
    // a return address for K = 5. Every candidate after the `mov` must also
    // agree with %rbp about where the entry is, which the false one cannot.
    let effects = [8, 0, 8, 8, 0, 0x180];
    let realign = Realign { index: 4, align: 64, mov_index: 1, rbp_depth: 8 };
    let (mut mem, sp, rbp) = realigned_thread(5, 0);
    let gap = sp; // K = 5: no marks, sp is the aligned pointer
    // Two mark-like words, then a text address where the static rule puts
    // the return slot of c = 2 (K = 3: two words pushed, two marks).
    mem.insert(gap, gap + 8);
    mem.insert(gap + 8, gap + 16);
    mem.insert(gap + 32, TEXT_VALUE);
    let stale_only = |i: usize| mem.get(&(sp + 8 * i as u64)).copied();
    // Without %rbp as a second witness that candidate would be taken.
    assert_eq!(
        resolve_with(&stale_only, sp, &effects, Position::Stub, true, &is_text),
        Decision::Resume { pop: 2, index: 3 }
    );
    let word_at = |i: usize| mem.get(&(sp + 8 * i as u64)).copied();
    let frame = Some(RealignedFrame { realign, rbp });
    let d = resolve_in_frame(&word_at, sp, &effects, frame, Position::Stub, true, &is_text);
    assert_eq!(d, Decision::Resume { pop: 0, index: 5 });
}

#[test]
fn realigned_region_with_a_wrong_frame_pointer_is_inconsistent() {
    // %rbp not where `mov %rsp,%rbp` left it: no candidate past the `and`
    // checks out, and the static ones find no return address.
    let effects = [8, 0, 8, 8, 0, 0x180];
    let realign = Realign { index: 4, align: 64, mov_index: 1, rbp_depth: 8 };
    let (mem, sp, rbp) = realigned_thread(5, 0);
    let word_at = |i: usize| mem.get(&(sp + 8 * i as u64)).copied();
    let frame = Some(RealignedFrame { realign, rbp: rbp + 64 });
    let d = resolve_in_frame(&word_at, sp, &effects, frame, Position::Stub, true, &is_text);
    assert_eq!(d, Decision::Inconsistent);
}

/// A small deterministic generator (xorshift), for stacks of every shape.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[test]
fn fast_path_agrees_with_the_resolver() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let sp = ENTRY - 0x200;
    let mut taken = 0;
    for _ in 0..200_000 {
        let m = 1 + rng.below(10) as usize;
        let effects: Vec<i32> = (0..m).map(|_| [0, 8, 8, 16, -8, 0x20][rng.below(6) as usize]).collect();
        let realign = (m >= 4 && rng.below(3) == 0).then(|| {
            let mov_index = 1 + rng.below((m - 3) as u64) as usize;
            let index = mov_index + 1 + rng.below((m - mov_index - 2) as u64) as usize;
            RealignedFrame {
                realign: Realign { index, align: 1 << (4 + rng.below(3)), mov_index, rbp_depth: 8 },
                rbp: sp + 8 * rng.below(40),
            }
        });
        // Mostly marks, then text, stack pointers and junk.
        let words: Vec<u64> = (0..48u64)
            .map(|i| match rng.below(8) {
                0..=3 => sp + 8 * i + 8,
                4 | 5 => TEXT_VALUE + rng.below(64),
                6 => sp + 8 * rng.below(48),
                _ => rng.next(),
            })
            .collect();
        let word_at = |i: usize| words.get(i).copied();
        if is_plain_new_call(&word_at, sp, m, &is_text) {
            taken += 1;
            let d = resolve_in_frame(&word_at, sp, &effects, realign, Position::Stub, true, &is_text);
            assert_eq!(d, Decision::RunHook { pop: m - 1 }, "m={m} effects={effects:?} realign={realign:?} words={words:x?}");
        }
    }
    // Not vacuous: the fast path was taken for many stacks (and M values).
    assert!(taken > 10_000, "fast path taken {taken} times");
}

#[test]
fn fast_path_is_not_taken_by_callers_part_way() {
    let region = region_a();
    let e = effects(&region);
    for k in 1..region.len() {
        let t = thread_at_stub(&region, 0, k, &[]);
        let words = t.words(words_needed(&e));
        let word_at = |i: usize| words.get(i).copied();
        assert!(!is_plain_new_call(&word_at, t.sp, region.len(), &is_text), "K = {k}");
    }
    let t = thread_at_stub(&region, 0, 0, &[]);
    let words = t.words(words_needed(&e));
    let word_at = |i: usize| words.get(i).copied();
    assert!(is_plain_new_call(&word_at, t.sp, region.len(), &is_text));
}

/// depth(K) must be whole words and not negative.
#[test]
fn depth_words_of_odd_and_negative_effects_is_none() {
    assert_eq!(depth_words(&[8, 8], 2), Some(2));
    assert_eq!(depth_words(&[4, 8], 2), None);
    assert_eq!(depth_words(&[8, -16], 2), None);
}

/// The fast path's predicate: the M-1 words from sp are marks and the word
/// right above them, and no other, is text.
#[test]
fn plain_new_call_looks_at_the_word_above_the_marks() {
    let sp = ENTRY - 16;
    // M = 3: two marks, then the return address.
    let words = [sp + 8, sp + 16, RET, 0];
    let word_at = |i: usize| words.get(i).copied();
    assert!(is_plain_new_call(&word_at, sp, 3, &is_text));
    // The return address one word higher: not a plain new call.
    let words = [sp + 8, sp + 16, 0, RET];
    let word_at = |i: usize| words.get(i).copied();
    assert!(!is_plain_new_call(&word_at, sp, 3, &is_text));
    // M = 1: no marks, the word at sp is the return address.
    let words = [RET, 0];
    let word_at = |i: usize| words.get(i).copied();
    assert!(is_plain_new_call(&word_at, sp, 1, &is_text));
    // A region of no instruction is never a call.
    assert!(!is_plain_new_call(&word_at, sp, 0, &is_text));
}

/// realigned_return_slot for the region of [`realigned_thread`] past the
/// `and` (K = 5, no marks): the entry E = %rbp + 8, the stack pointer
/// (E - 24) rounded down to 64, and what it accepts around that.
#[test]
fn realigned_return_slot_checks_the_implied_stack_pointer() {
    let effects = [8, 0, 8, 8, 0, 0x180];
    let realign = Realign { index: 4, align: 64, mov_index: 1, rbp_depth: 8 };
    let entry = ENTRY + 8;
    let sp = (entry - 24) & !63;
    let slot = |f: RealignedFrame, sp: u64, c: usize| realigned_return_slot(f, &effects, 5, sp, c);
    let frame = RealignedFrame { realign, rbp: entry - 8 };
    assert_eq!(slot(frame, sp, 0), Some(((entry - sp) / 8) as usize));
    // Not the implied stack pointer: one word off either way.
    assert_eq!(slot(frame, sp - 8, 0), None);
    assert_eq!(slot(frame, sp + 8, 0), None);
    // A frame pointer that is not a whole number of words from it.
    let odd = RealignedFrame { realign, rbp: entry - 8 + 4 };
    assert_eq!(slot(odd, (entry + 4 - 24) & !63, 0), None);
    // `mov %rsp,%rbp` as the first instruction: %rbp is the entry itself.
    let at_entry = RealignedFrame { realign: Realign { rbp_depth: 0, ..realign }, rbp: entry };
    assert_eq!(slot(at_entry, sp, 0), Some(((entry - sp) / 8) as usize));
    // An alignment that is not a power of two is no realign, whatever the
    // stack pointer (here the one its mask would give).
    let odd_align = RealignedFrame { realign: Realign { align: 48, ..realign }, rbp: entry - 8 };
    assert_eq!(slot(odd_align, (entry - 24) & !47, 0), None);
    // The return slot may lie up to MAX_FRAME_BYTES above sp, not further:
    // c marks below the aligned pointer move sp down 8 bytes each.
    let c_max = ((MAX_FRAME_BYTES - (entry - sp)) / 8) as usize;
    let low = sp - 8 * c_max as u64;
    assert_eq!(entry - low, MAX_FRAME_BYTES);
    assert_eq!(slot(frame, low, c_max), Some((MAX_FRAME_BYTES / 8) as usize));
    assert_eq!(slot(frame, low - 8, c_max + 1), None);
    // A frame of 8 KiB (a `sub $0x2000,%rsp` after the `and`) is well
    // within that bound.
    let c = ((0x2000 - (entry - sp)) / 8) as usize;
    assert_eq!(slot(frame, sp - 8 * c as u64, c), Some(0x2000 / 8));
}

/// What the planner says of each simulated instruction, for the witness.
fn reg_uses(region: &[Op]) -> Vec<RegUse> {
    region
        .iter()
        .map(|&op| match op {
            Op::PushReg(r) => RegUse { pushes: Some(r as u8), ..RegUse::default() },
            Op::PopReg(r) => RegUse { writes: 1 << r, barrier: true, ..RegUse::default() },
            Op::AddRsp(_) | Op::Store => RegUse { barrier: true, ..RegUse::default() },
            Op::SetReg(r, _) | Op::IncReg(r) => RegUse { writes: 1 << r, ..RegUse::default() },
            _ => RegUse::default(),
        })
        .collect()
}

/// The thread's registers, as the stub passes all 16 of them.
fn gprs(m: &Machine) -> [u64; 16] {
    let mut regs = [0u64; 16];
    regs[..4].copy_from_slice(&m.regs);
    regs
}

/// The decision with the thread's registers as the second witness.
fn decide_witnessed(m: &Machine, region: &[Op], at: Position) -> Decision {
    let e = effects(region);
    let words = m.words(words_needed(&e));
    let (uses, regs) = (reg_uses(region), gprs(m));
    let pushes = Pushes { uses: &uses, regs: &regs };
    let all = region.len() - 1;
    resolve_armed(&|w| words.get(w).copied(), m.sp, &e, None, Some(pushes), at, all, true, &is_text)
}

/// The residual case, once the registers are read too: the larger
/// candidate puts the pushed register (TEXT_VALUE) where the stack holds
/// 0x9999, so the registers refute it and the truth is taken.
#[test]
fn registers_refute_the_residual_stale_mark() {
    let (region, _, _) = residual_region();
    let m = residual_thread(1);
    let d = decide_witnessed(&m, &region, Position::Stub);
    assert_eq!(d, Decision::Resume { pop: 1, index: 2 });
    assert!(residual_ends_right(&m, d));
}

/// vfs_read's shape on the test kernel (five pushes there; the machine has
/// four registers): pushes, `sub $0x58,%rsp`, an instruction with no stack
/// effect, then IM. A thread ran the pushes and
/// the sub in place and one mark (the install ended meanwhile). The bottom
/// word of the sub area is mark-like and a text address lies where the
/// larger candidate's return slot falls: the stack alone takes two marks
/// and re-runs the sub (the call comes back one frame off: the wrong
/// answers of `19-hotplug`); the registers take the one true mark.
fn read_region() -> Vec<Op> {
    vec![Op::PushReg(3), Op::PushReg(2), Op::PushReg(1), Op::PushReg(0), Op::SubRsp(0x58), Op::SetReg(0, 7), Op::Other]
}

/// The thread above, with `stale` words (index i at ENTRY - 8(i+1)) left
/// in its frame by earlier calls.
fn read_thread(stale: &[u64]) -> Machine {
    let region = read_region();
    let mut m = Machine::at_entry([0x1000, 0x2000, 0x3000, 0x4000], stale);
    for &op in &region[..5] {
        m.exec(op);
    }
    m.mark();
    m
}

/// Stale words: the sub area's bottom word (ENTRY - 120) mark-like, a text
/// address where the larger candidate's return slot is (ENTRY - 80).
fn read_stale() -> Vec<u64> {
    let mut stale = vec![0u64; 15];
    stale[14] = ENTRY - 112;
    stale[9] = TEXT_VALUE;
    stale
}

fn read_ends_right(m: &Machine, d: Decision, stale: &[u64]) -> bool {
    let region = read_region();
    let mut after = m.clone();
    after.apply(&region, d);
    let mut reference = Machine::at_entry([0x1000, 0x2000, 0x3000, 0x4000], stale);
    for &op in &region {
        reference.exec(op);
    }
    after.observable() == reference.observable()
}

#[test]
fn a_stale_mark_above_a_sub_area_misleads_the_stack_alone() {
    let region = read_region();
    let m = read_thread(&read_stale());
    let d = decide(&m, &region, Position::Stub, true);
    assert_eq!(d, Decision::Resume { pop: 2, index: 4 }, "the stack alone re-runs the sub");
    assert!(!read_ends_right(&m, d, &read_stale()));
}

#[test]
fn registers_take_the_true_mark_over_a_stale_one() {
    let region = read_region();
    let m = read_thread(&read_stale());
    let d = decide_witnessed(&m, &region, Position::Stub);
    assert_eq!(d, Decision::Resume { pop: 1, index: 5 });
    assert!(read_ends_right(&m, d, &read_stale()));
    // The refuted rival is not counted as ambiguous.
    let e = effects(&region);
    let words = m.words(words_needed(&e));
    let (uses, regs) = (reg_uses(&region), gprs(&m));
    let rival = rival_in_frame(&|i| words.get(i).copied(), m.sp, &e, None, Some(Pushes { uses: &uses, regs: &regs }), Position::Stub, 1, &is_text);
    assert_eq!(rival, None);
}

/// What is left of A1: stale words that also hold the thread's registers,
/// each in the slot the false candidate puts its push in (words 2..5 above
/// the mark), are taken for that candidate's frame.
#[test]
fn stale_words_equal_to_the_registers_still_mislead() {
    let region = read_region();
    let mut stale = read_stale();
    // Word w of the sub area is stale[14 - w]; the false candidate's push
    // of register 3 - i sits at area word 4 - i... (pushes r3, r2, r1, r0
    // from the top: r0 nearest the marks).
    stale[13] = 0x1000; // area word 1: r0
    stale[12] = 0x2000; // r1
    stale[11] = 0x3000; // r2
    stale[10] = 0x4000; // r3
    let m = read_thread(&stale);
    let d = decide_witnessed(&m, &region, Position::Stub);
    assert_eq!(d, Decision::Resume { pop: 2, index: 4 }, "documented residual case");
    assert!(!read_ends_right(&m, d, &stale));
}

/// A register written after its push is not evidence: the truth still
/// confirms (the push of r1 is skipped once r1 was set), and a thread
/// whose registers confirm no candidate at all (one that jumped into the
/// region from another symbol with other values) gets the largest
/// consistent one, as without the witness.
#[test]
fn registers_never_refute_the_only_consistent_candidate() {
    let region = vec![Op::PushReg(1), Op::PushReg(2), Op::SetReg(1, 0x77), Op::SubRsp(0x10), Op::Other, Op::Other];
    let mut m = Machine::at_entry([0x1000, 0x2000, 0x3000, 0x4000], &[]);
    for &op in &region[..4] {
        m.exec(op);
    }
    m.mark();
    let d = decide_witnessed(&m, &region, Position::Stub);
    assert_eq!(d, Decision::Resume { pop: 1, index: 4 });
    m.regs[2] = 0x5555; // as if r2 changed outside the region
    assert_eq!(decide_witnessed(&m, &region, Position::Stub), Decision::Resume { pop: 1, index: 4 });
}

/// A new call (every mark, nothing in place) has no push to check: the
/// hook runs whatever the registers hold.
#[test]
fn a_new_call_needs_no_witness() {
    let region = read_region();
    let mut m = Machine::at_entry([0x1000, 0x2000, 0x3000, 0x4000], &read_stale());
    for _ in 0..region.len() - 1 {
        m.mark();
    }
    assert_eq!(decide_witnessed(&m, &region, Position::Stub), Decision::RunHook { pop: region.len() - 1 });
}

/// A truth the registers cannot check (a store ran after the push: the slot
/// may have changed) below a false candidate they refute: the truth is
/// taken, not the refuted larger one.
#[test]
fn an_unchecked_truth_wins_over_a_refuted_larger_candidate() {
    let region = vec![Op::PushReg(1), Op::SubRsp(0x20), Op::Store, Op::Other, Op::Other];
    // Two mark-like words at the bottom of the sub area, then a word that is
    // not r1, then a text address: the three-mark candidate (K = 1) is
    // consistent; the truth ran I0..I2 and one mark.
    let stale = [0, TEXT_VALUE, 0x9999, ENTRY - 24, ENTRY - 32];
    let mut m = Machine::at_entry([0x1000, 0x2000, 0x3000, 0x4000], &stale);
    for &op in &region[..3] {
        m.exec(op);
    }
    m.mark();
    assert_eq!(decide(&m, &region, Position::Stub, true), Decision::Resume { pop: 3, index: 1 }, "the stack alone");
    assert_eq!(decide_witnessed(&m, &region, Position::Stub), Decision::Resume { pop: 1, index: 3 });
}

/// `__recover_optprobed_insn`'s shape on the test kernel: pushes, a register
/// set, then a loop head in the region (its back-edge lands on I4, which is
/// a mark once installed) and IM. The loop body changed the register I1
/// pushed, and the caller's value of it, in I1's slot, is a text address.
/// A thread that came round the loop runs the mark at I4 and reaches the
/// stub: one mark is the truth. Its registers cannot refute that candidate
/// (it came by a branch landing on its own IK), so the smaller candidate
/// that takes I1's slot for the return address must not win. Seen in the
/// sweep: the install of the next function, whose kprobe checks call
/// `__recover_optprobed_insn` in a loop, resumed at IM without popping the
/// mark, returned into the caller's saved text address, and looped.
#[test]
fn a_branch_onto_the_candidates_ik_is_not_refuted_by_registers() {
    let region = vec![Op::PushReg(1), Op::PushReg(2), Op::SetReg(2, 0x77), Op::Other, Op::Other];
    let mut m = Machine::at_entry([0x1000, TEXT_VALUE, 0x3000, 0x4000], &[]);
    for &op in &region[..3] {
        m.exec(op);
    }
    // Round the loop: the body changed r1, then branched back to I4.
    m.regs[1] = 0x5151;
    m.mark();
    let e = effects(&region);
    let words = m.words(words_needed(&e));
    let mut uses = reg_uses(&region);
    uses[3].branch_target = true;
    let regs = gprs(&m);
    let pushes = Pushes { uses: &uses, regs: &regs };
    let word_at = |w: usize| words.get(w).copied();
    assert_eq!(resolve(&words, m.sp, &e, Position::Stub, true, &is_text), Decision::Resume { pop: 1, index: 3 }, "the stack alone");
    assert!(!refuted_by_registers(&word_at, &e, pushes, Position::Stub, 1), "the truth refuted");
    let d = resolve_armed(&word_at, m.sp, &e, None, Some(pushes), Position::Stub, region.len() - 1, true, &is_text);
    assert_eq!(d, Decision::Resume { pop: 1, index: 3 });
}
