//! What markplan's entry points allocate, over every function of the corpus.
//!
//! iced-x86 and parts of markplan allocate through `alloc`'s infallible
//! paths. The kernel module calls them inside an allocation reserve
//! (src/ksys/reserve.rs): an allocation the kernel refuses there is served
//! from a static block of [`ALLOC_RESERVE`] bytes, and the call's result is
//! thrown away for ENOMEM. That is sound only if no call can need more than
//! the block, even when every one of its allocations is refused, so this
//! test measures the worst case: the sum of every size a call asks for (each
//! `realloc` counted at its whole new size, each allocation with its
//! alignment as padding), as a bump allocator that never reuses would need.
//!
//! The calls the resolver makes (with interrupts off, at any depth) and the
//! ones the module makes outside a reserve must allocate nothing at all.

use markplan::decode::{write_head, write_texts};
use markplan::marks::{classify, jmp_bytes, replacement_bytes};
use markplan::plan::{plan, Facts};
use markplan::pseudo_original::{build, max_len, verify};
use markplan::resolve::{count_marks, resolve, words_needed, Position};
use markplan::stub::{slot_bytes, stub_bytes, SLOT_P_OFFSET};
use markplan::ALLOC_RESERVE;

mod common;
use common::corpus;

#[path = "common/counting.rs"]
mod counting;

#[global_allocator]
static COUNTING: counting::Counting = counting::Counting;

/// Runs `f`; returns what it returned and the bytes it asked for.
fn measure<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let (r, asked) = counting::measure(f);
    (r, asked.bytes)
}

/// The output goes to a `String`, measured with the rest: the `plan`
/// file's report is a vector that grows inside the reserve too (the other
/// files write into the sysfs page).
fn output() -> String {
    String::new()
}

/// What the `plan` file's report and a patch's `code` file ask for: each
/// Ik's original, what is there now and its copy in the pseudo-original.
fn reports(p: &markplan::plan::Plan, code: &[u8], addr: u64) -> (usize, usize) {
    use core::fmt::Write;
    let p_addr = addr + 0x1000_0000 + SLOT_P_OFFSET;
    let po = build(p, code, addr, p_addr, true).unwrap();
    let (_, plan_report) = measure(|| {
        let mut out = output();
        for (k, i) in p.insns.iter().enumerate() {
            let _ = write!(out, "I{} +{:#x} len {} effect {:+} window8 ", k + 1, i.offset, i.len, i.stack_effect);
            let _ = write_texts(&mut out, &i.original, addr + i.offset as u64, false);
            let _ = writeln!(out);
        }
    });
    let (_, code_report) = measure(|| {
        let mut out = output();
        for (k, i) in p.insns.iter().enumerate() {
            let at = addr + i.offset as u64;
            let _ = write_texts(&mut out, &i.original, at, false);
            let _ = write_texts(&mut out, &i.replacement, at, false);
            let end = po.entries.get(k + 1).copied().unwrap_or(po.len() - 5);
            let _ = write_texts(&mut out, &po.bytes[po.entries[k]..end], p_addr + po.entries[k] as u64, true);
        }
        let _ = write_texts(&mut out, &po.bytes[po.len() - 5..], p_addr, false);
    });
    (plan_report, code_report)
}

#[test]
fn the_reports_of_the_longest_region_fit_the_reserve() {
    markplan::decode::warm_up();
    // endbr64, fifteen 4-byte instructions (lea 0x8(%rax),%rax), then a
    // 7-byte one as IM: sixteen instructions, the most a region holds.
    let mut code = vec![0xf3, 0x0f, 0x1e, 0xfa];
    for _ in 0..15 {
        code.extend_from_slice(&[0x48, 0x8d, 0x40, 0x08]);
    }
    code.extend_from_slice(&[0x48, 0x8b, 0x05, 0x10, 0x00, 0x00, 0x00, 0xc3]);
    let addr = 0xffff_ffff_8100_0000;
    let no_fixup = |_: u64| false;
    let p = plan(&code, addr, &Facts { ibt: true, fentry: false, has_fixup: &no_fixup, cold: None }).unwrap();
    assert_eq!(p.m(), 16);
    let (plan_report, code_report) = reports(&p, &code, addr);
    eprintln!("alloc bound: M=16: plan report {plan_report} bytes, code report {code_report}");
    assert!(plan_report.max(code_report) <= ALLOC_RESERVE, "{plan_report} {code_report}");
}

#[test]
fn every_call_fits_the_reserve_and_the_resolver_allocates_nothing() {
    let funcs = corpus();
    // iced-x86's tables are built once, lazily; the module builds them at
    // load (markplan::decode::warm_up), outside any reserve.
    markplan::decode::warm_up();
    let mut worst: [(usize, &str); 4] = [(0, ""); 4];
    let mut note = |slot: usize, bytes: usize, name: &'static str| {
        assert!(bytes <= ALLOC_RESERVE, "{name}: {bytes} bytes, more than the reserve's {ALLOC_RESERVE}");
        if bytes > worst[slot].0 {
            worst[slot] = (bytes, name);
        }
    };
    let is_text = |a: u64| (0xffff_ffff_8000_0000..0xffff_ffff_ff00_0000).contains(&a);
    for f in &funcs {
        let has_fixup = |a: u64| f.fixups.contains(&a);
        let facts = Facts { ibt: true, fentry: f.fentry, has_fixup: &has_fixup, cold: None };

        // The module's `plan` and the first step of `install`.
        let (planned, bytes) = measure(|| plan(&f.code, f.addr, &facts));
        note(0, bytes, "plan");
        let (_, bytes) = measure(|| markplan::naive::plan(&f.code, f.addr, &facts));
        note(0, bytes, "naive::plan");

        // The `decode` file: 16 instructions of at most 240 bytes.
        let head = &f.code[..f.code.len().min(16 * 15)];
        let (_, bytes) = measure(|| write_head(&mut output(), head, f.addr, 16));
        note(1, bytes, "write_head");

        // The dependency walk: nothing.
        let (_, bytes) = measure(|| markplan::calls::outside_targets(&f.code, f.addr, |_| {}));
        assert_eq!(bytes, 0, "{}: outside_targets allocated", f.name);

        let Ok(p) = planned else { continue };
        // Staging: the pseudo-original, checked, and the slot's bytes; then
        // each instruction's replacement (computed before the first write).
        let p_addr = f.addr + 0x1000_0000 + SLOT_P_OFFSET;
        let (_, bytes) = measure(|| {
            let _ = max_len(&p, true);
            let Ok(po) = build(&p, &f.code, f.addr, p_addr, true) else { return };
            let _ = verify(&p, &f.code, p_addr, true, &po);
            let stub = stub_bytes(p_addr - SLOT_P_OFFSET, 7, p_addr + 0x100).unwrap();
            let _ = slot_bytes(&stub, &[0xcc; markplan::kcfi::PREAMBLE_LEN], &po.bytes);
            for k in 0..p.m() {
                let _ = replacement_bytes(&p, k, p_addr - SLOT_P_OFFSET);
            }
        });
        note(2, bytes, "build + verify + slot_bytes + replacement_bytes");

        let (plan_report, code_report) = reports(&p, &f.code, f.addr);
        note(1, plan_report, "plan report");
        note(1, code_report, "code report");
        let (_, bytes) = measure(|| jmp_bytes(f.addr + 4, 5, f.addr));
        note(3, bytes, "jmp_bytes");

        // What runs with interrupts off, or between a revert's reads and
        // writes: nothing.
        let effects = p.stack_effects();
        let words: Vec<u64> = (0..40u64).map(|n| f.addr.wrapping_add(n * 0x54)).collect();
        let (_, bytes) = measure(|| {
            let _ = count_marks(&words, 0x54, words.len());
            let _ = resolve(&words, 0x54, &effects, Position::Stub, true, &is_text);
            let _ = resolve(&words, 0x54, &effects, Position::Trap { index: 0 }, true, &is_text);
            let _ = words_needed(&effects);
            for i in &p.insns {
                let _ = classify(&i.original, &i.original, &i.replacement, false);
            }
        });
        assert_eq!(bytes, 0, "{}: the resolver's or the revert's checks allocated", f.name);
    }
    // Random bytes: whatever decodes, plans and relocates stays within too.
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let no_fixup = |_: u64| false;
    for _ in 0..50_000 {
        let code: Vec<u8> = (0..(next() % 96 + 1)).map(|_| next() as u8).collect();
        let addr = next() | 0xffff_ffff_8000_0000;
        let facts = Facts { ibt: true, fentry: next() % 2 == 0, has_fixup: &no_fixup, cold: None };
        let (planned, bytes) = measure(|| plan(&code, addr, &facts));
        note(0, bytes, "plan (random bytes)");
        let (_, bytes) = measure(|| write_head(&mut output(), &code, addr, 16));
        note(1, bytes, "write_head (random bytes)");
        if let Ok(p) = planned {
            let p_addr = addr.wrapping_sub(0x1000_0000);
            let (_, bytes) = measure(|| build(&p, &code, addr, p_addr, true).map(|po| verify(&p, &code, p_addr, true, &po)));
            note(2, bytes, "build + verify (random bytes)");
        }
    }
    // Parsing what a user writes: nothing.
    let (_, bytes) = measure(|| {
        let _ = markplan::input::parse_install(b"vfs_statfs fail=-5\n");
        let _ = markplan::input::parse_hook("count");
        let _ = markplan::quota::parse_limit(b"1000 1048576 /mnt\n");
        let _ = markplan::quota::grant(1 << 20, 1 << 19, 4096, 4096);
    });
    assert_eq!(bytes, 0, "parsing allocated");
    eprintln!(
        "alloc bound: reserve {ALLOC_RESERVE} bytes; worst over {} functions: {:?}",
        funcs.len(),
        worst
    );
}
