//! Property test over real kernel code: every function of the corpus
//! extracted from the test kernel's vmlinux (tests/data/corpus.bin, see
//! tests/extract_corpus.py for what is in it and how to regenerate it).
//!
//! `cargo test --test corpus -- --nocapture` prints how many functions were
//! plannable and the refusals grouped by reason.

use std::collections::BTreeMap;

use iced_x86::{Decoder, DecoderOptions, Mnemonic};
use markplan::marks::{jmp_to_stub, window_values, WindowValues, WriteMethod, PUSH_RSP};
use markplan::plan::{plan, Facts, Plan, ENDBR64, SEALED_ENDBR};
use markplan::pseudo_original::{build, max_len, verify};
use markplan::resolve::{
    refuted_by_registers, resolve, resolve_armed, resolve_in_frame, words_needed, Decision, Position, Pushes, RealignedFrame,
};

mod common;
use common::{corpus, Function};

/// A text-address test good enough for the simulated stacks below.
fn is_text(a: u64) -> bool {
    (0xffff_ffff_8000_0000..0xffff_ffff_ff00_0000).contains(&a)
}

/// Asserts everything the issue asks of a plan of real code. Returns how
/// many K it checked for a thread that came by a branch onto IK.
fn check_plan(f: &Function, p: &Plan) -> usize {
    let name = &f.name;
    assert_eq!(p.addr, f.addr);
    assert!(p.m() >= 1 && p.m() <= markplan::plan::MAX_REGION, "{name}");
    let mut expect_offset = p.prefix_len;
    for (index, i) in p.insns.iter().enumerate() {
        let last = index + 1 == p.m();
        // Boundaries are kept: the region is contiguous from I1, every
        // replacement covers exactly its instruction.
        assert_eq!(i.offset, expect_offset, "{name}: I{} offset", index + 1);
        expect_offset += i.len;
        assert_eq!(&f.code[i.offset..i.offset + i.len], i.original.as_slice(), "{name}");
        assert_eq!(
            i.replacement.len(),
            i.len,
            "{name}: I{} replacement longer/shorter",
            index + 1
        );
        assert_eq!(
            i.len >= 5,
            last,
            "{name}: IM is the first instruction of 5 bytes or more"
        );

        // The write never crosses its window, and a trap is used only when
        // no aligned 16-byte window holds the instruction.
        let a = f.addr + i.offset as u64;
        match i.write.window() {
            Some((start, size)) => {
                assert_eq!(start % size as u64, 0);
                assert!(
                    start <= a && a + i.len as u64 <= start + size as u64,
                    "{name}: write crosses its window"
                );
                // The cmpxchg values change only the instruction's bytes,
                // when the window lies in the bytes we have.
                let ws = start.wrapping_sub(f.addr) as usize;
                if start >= f.addr && ws + size <= f.code.len() {
                    let window = &f.code[ws..ws + size];
                    let v = window_values(i.write, window, a, &i.original, &i.replacement).unwrap();
                    let (old, new): (Vec<u8>, Vec<u8>) = match v {
                        WindowValues::U64 { old, new } => (old.to_le_bytes().to_vec(), new.to_le_bytes().to_vec()),
                        WindowValues::U128 { old, new } => (old.to_le_bytes().to_vec(), new.to_le_bytes().to_vec()),
                    };
                    assert_eq!(old, window);
                    let at = (a - start) as usize;
                    assert_eq!(&new[..at], &window[..at]);
                    assert_eq!(&new[at..at + i.len], i.replacement.as_slice());
                    assert_eq!(&new[at + i.len..], &window[at + i.len..]);
                }
            }
            None => {
                assert_ne!(
                    a & !15,
                    (a + i.len as u64 - 1) & !15,
                    "{name}: trap for a fitting instruction"
                );
            }
        }
        assert_eq!(i.write, WriteMethod::for_insn(a, i.len));

        // Marks decode as push %rsp + one NOP of the right total length.
        let bytes = if last {
            jmp_to_stub(p, f.addr + 0x2000_0000).unwrap()
        } else {
            i.replacement.clone()
        };
        assert_eq!(bytes.len(), i.len);
        let mut dec = Decoder::with_ip(64, &bytes, a, DecoderOptions::NONE);
        let first = dec.decode();
        if last {
            assert_eq!(first.mnemonic(), Mnemonic::Jmp, "{name}");
            assert_eq!(first.near_branch_target(), f.addr + 0x2000_0000);
        } else {
            assert_eq!(bytes[0], PUSH_RSP);
            assert_eq!(first.len(), 1);
        }
        if dec.can_decode() {
            let filler = dec.decode();
            assert!(!filler.is_invalid(), "{name}");
            assert_eq!(filler.mnemonic(), Mnemonic::Nop, "{name}");
            assert!(!dec.can_decode(), "{name}: filler is more than one instruction");
        }
    }

    // The pseudo-original within 1 GB above the function (where module
    // memory is: 0xffffffffa0000000.., or 0xffffffffc0000000.. with KASLR),
    // with and without IBT, decodes to the same instructions with the same
    // absolute targets.
    for p_addr in [f.addr + 0x3000_0000 + 0x40, 0xffff_ffff_c010_0000] {
        for ibt in [true, false] {
            let po = build(p, &f.code, f.addr, p_addr, ibt).unwrap_or_else(|r| panic!("{name}: {r}"));
            assert!(po.len() <= max_len(p, ibt), "{name}: P longer than max_len");
            verify(p, &f.code, p_addr, ibt, &po).unwrap_or_else(|m| panic!("{name}: {m}"));
        }
    }
    // Below the kernel image, per-CPU operands (%gs:sym(%rip), whose
    // "address" wraps to a small per-CPU offset) are out of rel32 reach:
    // refused, never mis-encoded.
    let below = f.addr - 0x3ff0_0000;
    match build(p, &f.code, f.addr, below, true) {
        Ok(po) => verify(p, &f.code, below, true, &po).unwrap_or_else(|m| panic!("{name}: {m}")),
        Err(r) => assert_eq!(r.kind(), "out-of-range", "{name}: {r}"),
    }

    // The resolver on the stacks a reverse-order install can produce: the
    // originals up to K-1, then marks. Every K at the stub. The entry is not
    // 64-byte aligned, so that a realigning `and` leaves a gap.
    let effects = p.stack_effects();
    let m = p.m();
    let entry: u64 = 0xffff_c900_0001_0008;
    let ret = f.addr + 0x100;
    let mut looped_onto_ik = 0;
    for k in 0..m {
        let marks = m - 1 - k;
        let depth = p.depth_before(k) as u64;
        // Where the thread's stack pointer is before the marks, and its
        // %rbp (set by `mov %rsp,%rbp` before a realigning `and`).
        let (top, rbp) = match p.realign {
            Some(r) if k > r.index => {
                let before = p.depth_before(r.index) as u64;
                let aligned = (entry - before) & !(r.align - 1);
                (aligned - (depth - before), entry - r.rbp_depth as u64)
            }
            Some(r) if k > r.mov_index => (entry - depth, entry - r.rbp_depth as u64),
            _ => (entry - depth, 0x2222),
        };
        let sp = top - 8 * marks as u64;
        let frame_words = ((entry - top) / 8) as usize;
        let n = words_needed(&effects).max(marks + frame_words + 1);
        let mut words = vec![0u64; n];
        for (w, word) in words.iter_mut().enumerate().take(marks) {
            *word = sp + 8 * w as u64 + 8;
        }
        // The frame I1..IK-1 built (and the realignment gap): values that
        // are neither marks nor text.
        for (w, word) in words.iter_mut().enumerate().skip(marks).take(frame_words) {
            *word = 0x1111_0000 + w as u64;
        }
        words[marks + frame_words] = ret;
        let realigned = p.realign.map(|realign| RealignedFrame { realign, rbp });
        let d = resolve_in_frame(
            &|i| words.get(i).copied(),
            sp,
            &effects,
            realigned,
            Position::Stub,
            true,
            &is_text,
        );
        let expect = if k == 0 {
            Decision::RunHook { pop: m - 1 }
        } else {
            Decision::Resume { pop: marks, index: k }
        };
        assert_eq!(d, expect, "{name}: K={k}");

        // The same thread with its registers as the second witness: each
        // push of I1..IK-1 stored the register's value then, and each
        // instruction's writes (as the planner records them) changed
        // registers after. The truth must confirm itself on real code.
        let uses = p.reg_uses();
        let run_in_place = |words: &mut [u64], regs: &mut [u64; 16]| {
            for j in 0..k {
                if let Some(r) = uses[j].pushes {
                    let after = p.depth_before(j + 1) as u64;
                    let slot = match p.realign {
                        Some(re) if k > re.index && j < re.index => entry - after,
                        _ => top + depth - after,
                    };
                    // A slot a later pop released is below the frame: gone.
                    if slot >= top {
                        words[((slot - sp) / 8) as usize] = regs[usize::from(r)];
                    }
                }
                for (n, v) in regs.iter_mut().enumerate() {
                    if uses[j].writes & (1 << n) != 0 {
                        *v = 0x6600_0000 + (j * 16 + n) as u64;
                    }
                }
            }
        };
        // The truth is neither refuted nor passed over, for a thread whose
        // registers are `regs` and whose stack is `words`.
        let witnessed = |words: &[u64], regs: &[u64; 16], how: &str| {
            let pushes = Pushes { uses: &uses, regs };
            assert!(
                !refuted_by_registers(&|i| words.get(i).copied(), &effects, pushes, Position::Stub, marks),
                "{name}: K={k}{how}: the registers refute the truth"
            );
            let d = resolve_armed(&|i| words.get(i).copied(), sp, &effects, realigned, Some(pushes), Position::Stub, m.saturating_sub(1), true, &is_text);
            assert_eq!(d, expect, "{name}: K={k}{how}, with the registers");
        };
        let mut regs: [u64; 16] = core::array::from_fn(|n| 0x7700_0000 + n as u64);
        run_in_place(&mut words, &mut regs);
        witnessed(&words, &regs, "");

        // A thread that came round a loop of the function onto IK (a branch
        // target) after the loop body changed every register, and whose
        // callers' values in the pushed slots are text addresses: the truth
        // is still taken, not a smaller candidate whose return slot is one
        // of those slots.
        if uses[k].branch_target {
            let mut regs: [u64; 16] = core::array::from_fn(|n| ret + 0x10 + n as u64);
            run_in_place(&mut words, &mut regs);
            let looped: [u64; 16] = core::array::from_fn(|n| 0x5500_0000 + n as u64);
            witnessed(&words, &looped, ", by a branch onto IK");
            looped_onto_ik += 1;
        }
    }
    looped_onto_ik
}

#[test]
fn plan_every_function_of_the_corpus() {
    let funcs = corpus();
    assert!(funcs.len() > 1000, "corpus too small");
    let mut plannable = 0usize;
    let mut refusals: BTreeMap<&'static str, (usize, Vec<String>)> = BTreeMap::new();
    let mut writes: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut all_windows = 0usize;
    let mut region_len: BTreeMap<usize, usize> = BTreeMap::new();
    let mut call_im = 0usize;
    let mut realigned = 0usize;
    let (mut allocating, mut witnessed) = (0usize, 0usize);
    let mut looped_onto_ik = 0usize;
    for f in &funcs {
        let has_fixup = |a: u64| f.fixups.contains(&a);
        let facts = Facts {
            ibt: true,
            fentry: f.fentry,
            has_fixup: &has_fixup,
            cold: None,
        };
        match plan(&f.code, f.addr, &facts) {
            Ok(p) => {
                plannable += 1;
                looped_onto_ik += check_plan(f, &p);
                *region_len.entry(p.m()).or_default() += 1;
                call_im += usize::from(p.insns.last().is_some_and(|i| i.is_call));
                realigned += usize::from(p.realign.is_some_and(|r| r.index + 1 < p.m()));
                if let Some(w) = witness_above_allocation(&p) {
                    allocating += 1;
                    witnessed += usize::from(w);
                }
                let mut trap = false;
                for i in &p.insns {
                    let w = match i.write {
                        WriteMethod::Window8 { .. } => "window8",
                        WriteMethod::Window16 { .. } => "window16",
                        WriteMethod::Trap => {
                            trap = true;
                            "trap"
                        }
                    };
                    *writes.entry(w).or_default() += 1;
                }
                all_windows += usize::from(!trap);
                // Sealed at boot: the same plan.
                if f.code.starts_with(&ENDBR64) {
                    let mut sealed = f.code.clone();
                    sealed[..4].copy_from_slice(&SEALED_ENDBR);
                    assert_eq!(plan(&sealed, f.addr, &facts).as_ref(), Ok(&p), "{}: sealed", f.name);
                }
            }
            Err(r) => {
                let e = refusals.entry(r.kind()).or_default();
                e.0 += 1;
                if e.1.len() < 3 {
                    e.1.push(format!("{}: {r}", f.name));
                }
            }
        }
    }
    let total = funcs.len();
    let pct = |n: usize| 100.0 * n as f64 / total as f64;
    println!(
        "corpus: {total} functions, plannable {plannable} ({:.1}%)",
        pct(plannable)
    );
    println!(
        "  every Ik in one aligned window: {all_windows} ({:.1}% of all, {:.1}% of plannable)",
        pct(all_windows),
        100.0 * all_windows as f64 / plannable.max(1) as f64
    );
    println!("  writes by method: {writes:?}");
    println!("  region length M: {region_len:?}");
    println!("  IM is a call: {call_im}");
    println!("  realigning regions (and $-N,%rsp before IM): {realigned}");
    assert!(realigned > 0, "the corpus has realigning regions, and they are planned");
    println!("  stack room allocated before IM: {allocating}, of which a register witness above it: {witnessed}");
    println!("  K checked for a thread that came by a branch onto IK: {looped_onto_ik}");
    assert!(looped_onto_ik > 0, "the corpus has regions a branch of the function lands in");
    assert!(witnessed > 0, "the planner records the pushes the register witness checks");
    println!("refusals by reason:");
    let mut by_count: Vec<_> = refusals.iter().collect();
    by_count.sort_by_key(|e| std::cmp::Reverse(e.1 .0));
    for (kind, (n, examples)) in by_count {
        println!("  {kind:<24} {n:>5} ({:.1}%)   e.g. {}", pct(*n), examples.join("; "));
    }
    // The goal (README, "What can be patched"): at least 95% of the
    // functions the planner sees. 97.1% of this corpus is plannable.
    assert!(pct(plannable) >= 95.0, "coverage dropped below the 95% goal: {:.1}%", pct(plannable));
}

/// For a region that lowers the stack before IM by other than a push
/// (`sub $N,%rsp`: the stack room whose stale words A1 is about), whether
/// a push above that allocation can be checked by the register witness: no
/// later instruction before IM writes its register, stores, realigns or is
/// a branch target. None for a region without such an allocation.
fn witness_above_allocation(p: &Plan) -> Option<bool> {
    let before_im = &p.insns[..p.m() - 1];
    let is_push = |i: &markplan::plan::PlannedInsn| Decoder::with_ip(64, &i.original, 0, DecoderOptions::NONE).decode().mnemonic() == Mnemonic::Push;
    let alloc = before_im.iter().position(|i| i.stack_effect > 0 && !is_push(i))?;
    Some((0..alloc).any(|j| {
        p.insns[j].reg_use.pushes.is_some_and(|r| {
            !before_im[j + 1..]
                .iter()
                .any(|i| i.reg_use.writes & (1 << r) != 0 || i.reg_use.barrier || i.reg_use.branch_target)
        })
    }))
}

/// No input makes the planner or the resolver panic: truncations of real
/// functions, and pseudo-random bytes.
#[test]
fn never_panics_on_truncated_or_random_input() {
    let funcs = corpus();
    let no_fixup = |_: u64| false;
    for f in funcs.iter().step_by(7) {
        for ibt in [true, false] {
            for fentry in [true, false] {
                let facts = Facts {
                    ibt,
                    fentry,
                    has_fixup: &no_fixup,
                    cold: None,
                };
                for n in [0, 1, 3, 4, 5, 8, 9, 10, 12, 16, 20, 24, 32, 48] {
                    let n = n.min(f.code.len());
                    if let Ok(p) = plan(&f.code[..n], f.addr, &facts) {
                        let _ = build(&p, &f.code[..n], f.addr, f.addr + 0x1000_0000, ibt);
                    }
                }
            }
        }
    }
    let mut seed = 0x1234_5678_9abc_def0u64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for _ in 0..20000 {
        let len = (next() % 64) as usize;
        let mut code: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        if next() % 2 == 0 && code.len() >= 9 {
            code[..4].copy_from_slice(&ENDBR64);
            code[4..9].copy_from_slice(&markplan::plan::FENTRY_NOP);
        }
        let addr = next() | 0xffff_ffff_8000_0000;
        let facts = Facts {
            ibt: true,
            fentry: next() % 2 == 0,
            has_fixup: &no_fixup,
            cold: None,
        };
        if let Ok(p) = plan(&code, addr, &facts) {
            let p_addr = addr.wrapping_add(next() % 0x1_0000_0000).wrapping_sub(0x8000_0000);
            if let Ok(po) = build(&p, &code, addr, p_addr, true) {
                verify(&p, &code, p_addr, true, &po).unwrap_or_else(|m| panic!("{code:02x?}: {m}"));
            }
            let effects = p.stack_effects();
            let words: Vec<u64> = (0..(next() % 40)).map(|_| next()).collect();
            for at in [
                Position::Stub,
                Position::Trap {
                    index: (next() % 20) as usize,
                },
            ] {
                let _ = resolve(&words, next(), &effects, at, true, &is_text);
            }
        }
        let effects: Vec<i32> = (0..(next() % 20)).map(|_| next() as i32).collect();
        let words: Vec<u64> = (0..(next() % 40)).map(|_| next()).collect();
        let _ = resolve(&words, next(), &effects, Position::Stub, true, &is_text);
        let _ = words_needed(&effects);
    }
}
