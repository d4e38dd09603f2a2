//! The corpus of real kernel functions (tests/data/corpus.bin, written by
//! tests/extract_corpus.py), read by the tests that run over it.

use std::collections::HashSet;

pub struct Function {
    pub addr: u64,
    pub name: String,
    pub fentry: bool,
    pub fixups: HashSet<u64>,
    pub code: Vec<u8>,
}

/// Reads the corpus (format in extract_corpus.py). Panics on a malformed
/// file: this is test data.
pub fn corpus() -> Vec<Function> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/corpus.bin");
    let data = std::fs::read(path).expect("tests/data/corpus.bin (see tests/extract_corpus.py)");
    let mut at = 0usize;
    let mut take = |n: usize| {
        let s = &data[at..at + n];
        at += n;
        s
    };
    assert_eq!(take(8), b"MPCORP1\n");
    let count = u32::from_le_bytes(take(4).try_into().unwrap());
    let mut out = Vec::new();
    for _ in 0..count {
        let addr = u64::from_le_bytes(take(8).try_into().unwrap());
        let _nm_size = u32::from_le_bytes(take(4).try_into().unwrap());
        let len = u32::from_le_bytes(take(4).try_into().unwrap()) as usize;
        let flags = take(1)[0];
        let name_len = u16::from_le_bytes(take(2).try_into().unwrap()) as usize;
        let name = String::from_utf8(take(name_len).to_vec()).unwrap();
        let nfix = u16::from_le_bytes(take(2).try_into().unwrap()) as usize;
        let fixups = (0..nfix)
            .map(|_| addr + u64::from(u32::from_le_bytes(take(4).try_into().unwrap())))
            .collect();
        let code = take(len).to_vec();
        out.push(Function {
            addr,
            name,
            fentry: flags & 1 != 0,
            fixups,
            code,
        });
    }
    out
}

