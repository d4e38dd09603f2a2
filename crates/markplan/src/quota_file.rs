//! The user quota file of the vfsv0 format (`aquota.user`), as the kernel's
//! quota writes it (fs/quota/quota_v2.c on fs/quota/quota_tree.c): `repquota`
//! of the quota tools asks the kernel to bring the file up to date
//! (`Q_SYNC`) and then reads the users from it, so the quota writes the image
//! this module makes from its limits.
//!
//! The file is made of 1 KiB blocks: block 0 holds the header and the
//! grace periods; block 1 is the root of a radix tree of depth 4 over the
//! bytes of the id (most significant first), whose index blocks hold 256
//! little-endian block numbers and whose leaves are data blocks of 21
//! 48-byte entries. A fresh image has no free blocks; the last data block,
//! when not full, heads the list of blocks with free entries.

use crate::quota::DqBlk;

/// `QT_BLKSIZE`: the file's block size.
pub const BLOCK: usize = 1024;
/// `V2_INITQMAGICS[USRQUOTA]`.
pub const MAGIC_USER: u32 = 0xd9c0_1f11;
/// The vfsv0 format is version 0 of the v2 header.
pub const VERSION_VFSV0: u32 = 0;
/// `QT_TREEOFF`: the tree's root block.
pub const ROOT: u32 = 1;
/// The header (`struct v2_disk_dqheader`) and, after it, the info.
const INFO_OFFSET: usize = 8;
/// `struct qt_disk_dqdbheader`.
const DATA_HEADER: usize = 16;
/// `struct v2r0_disk_dqblk`.
pub const ENTRY: usize = 48;
/// Entries in one data block.
pub const PER_BLOCK: usize = (BLOCK - DATA_HEADER) / ENTRY;

/// One user's quota in the file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Entry {
    pub id: u32,
    pub dq: DqBlk,
}

/// How many index blocks each level below the root needs, and the data
/// blocks, for `entries` sorted by id.
fn shape<I: Iterator<Item = Entry>>(entries: impl Fn() -> I) -> ([usize; 3], usize) {
    let mut levels = [0; 3];
    for (level, count) in levels.iter_mut().enumerate() {
        let shift = 24 - 8 * level as u32;
        let mut last = None;
        for e in entries() {
            let prefix = e.id >> shift;
            if last != Some(prefix) {
                *count += 1;
                last = Some(prefix);
            }
        }
    }
    (levels, entries().count().div_ceil(PER_BLOCK))
}

fn put32(out: &mut [u8], at: usize, v: u32) {
    out[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

fn put64(out: &mut [u8], at: usize, v: u64) {
    out[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

/// A limit or count in the 32 bits vfsv0 keeps it in (more is kept as the
/// largest it can hold).
fn narrow(v: u64) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

/// `v2r0_mem2diskdqb`: the 48 bytes of `e`.
fn put_entry(out: &mut [u8], at: usize, e: &Entry) {
    let d = &e.dq;
    put32(out, at, e.id);
    put32(out, at + 4, narrow(d.ihardlimit));
    put32(out, at + 8, narrow(d.isoftlimit));
    put32(out, at + 12, narrow(d.curinodes));
    put32(out, at + 16, narrow(d.bhardlimit));
    put32(out, at + 20, narrow(d.bsoftlimit));
    put64(out, at + 24, d.curspace);
    put64(out, at + 32, d.btime);
    put64(out, at + 40, d.itime);
    // An all-zero entry reads as unused: the kernel marks it with itime 1.
    if out[at..at + ENTRY].iter().all(|&b| b == 0) {
        put64(out, at + 40, 1);
    }
}

/// The quota file holding the entries of `users` (`entry` gives each; they
/// are sorted here by id, which must be distinct) with the grace periods
/// `bgrace` and `igrace` (seconds), written to the start of `out`: its
/// length, or `Err(length)` when `out` is shorter than that.
pub fn image<T>(
    users: &mut [T],
    entry: impl Fn(&T) -> Entry,
    bgrace: u64,
    igrace: u64,
    out: &mut [u8],
) -> Result<usize, usize> {
    users.sort_unstable_by_key(|u| entry(u).id);
    let entries = || users.iter().map(&entry);
    let (levels, data) = shape(entries);
    let n = users.len();
    let blocks = 2 + levels.iter().sum::<usize>() + data;
    let len = blocks * BLOCK;
    if out.len() < len {
        return Err(len);
    }
    let out = &mut out[..len];
    out.fill(0);
    // Block 0: struct v2_disk_dqheader, then struct v2_disk_dqinfo.
    put32(out, 0, MAGIC_USER);
    put32(out, 4, VERSION_VFSV0);
    put32(out, INFO_OFFSET, narrow(bgrace));
    put32(out, INFO_OFFSET + 4, narrow(igrace));
    put32(out, INFO_OFFSET + 8, 0); // dqi_flags
    put32(out, INFO_OFFSET + 12, blocks as u32);
    put32(out, INFO_OFFSET + 16, 0); // dqi_free_blk: none
    let partial = n % PER_BLOCK != 0;
    let first_data = 2 + levels.iter().sum::<usize>();
    let free_entry = if partial { (first_data + data - 1) as u32 } else { 0 };
    put32(out, INFO_OFFSET + 20, free_entry);

    // The blocks of each level, in id order: level 0 is the root.
    let base = [ROOT as usize, 2, 2 + levels[0], 2 + levels[0] + levels[1]];
    let mut index = [0usize; 3]; // the current block of levels 1..3
    let mut last: [Option<u32>; 3] = [None; 3];
    for (i, e) in entries().enumerate() {
        for level in 0..3 {
            let prefix = e.id >> (24 - 8 * level as u32);
            if last[level].is_some_and(|p| p != prefix) {
                index[level] += 1;
            }
            last[level] = Some(prefix);
        }
        let data_block = first_data + i / PER_BLOCK;
        // The chain root -> level 1 -> level 2 -> level 3 -> data block.
        let mut from = base[0];
        for depth in 0..4 {
            let slot = ((e.id >> (24 - 8 * depth as u32)) & 0xff) as usize;
            let to = if depth < 3 { base[depth + 1] + index[depth] } else { data_block };
            put32(out, from * BLOCK + slot * 4, to as u32);
            from = to;
        }
        let in_block = i % PER_BLOCK;
        put_entry(out, data_block * BLOCK + DATA_HEADER + in_block * ENTRY, &e);
        // dqdh_entries (next_free and prev_free stay 0: one free block at most)
        let count = data_block * BLOCK + 8;
        out[count..count + 2].copy_from_slice(&((in_block + 1) as u16).to_le_bytes());
    }
    Ok(len)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use alloc::vec::Vec;

    fn get32(b: &[u8], at: usize) -> u32 {
        u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
    }

    fn get64(b: &[u8], at: usize) -> u64 {
        u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
    }

    /// quota_tree.c's find_tree_dqentry: the entry of `id`, walked from the
    /// root as the kernel and the tools read the file.
    fn lookup(file: &[u8], id: u32) -> Option<Entry> {
        let mut blk = ROOT as usize;
        for depth in 0..4 {
            let slot = ((id >> (24 - 8 * depth)) & 0xff) as usize;
            blk = get32(file, blk * BLOCK + slot * 4) as usize;
            if blk == 0 {
                return None;
            }
            assert!(blk * BLOCK < file.len(), "reference past the end");
        }
        let entries = u16::from_le_bytes(file[blk * BLOCK + 8..blk * BLOCK + 10].try_into().unwrap()) as usize;
        assert!(entries <= PER_BLOCK);
        (0..PER_BLOCK).map(|k| blk * BLOCK + DATA_HEADER + k * ENTRY).find_map(|at| {
            let d = &file[at..at + ENTRY];
            if d.iter().all(|&b| b == 0) || get32(file, at) != id {
                return None;
            }
            Some(Entry {
                id,
                dq: DqBlk {
                    ihardlimit: get32(file, at + 4).into(),
                    isoftlimit: get32(file, at + 8).into(),
                    curinodes: get32(file, at + 12).into(),
                    bhardlimit: get32(file, at + 16).into(),
                    bsoftlimit: get32(file, at + 20).into(),
                    curspace: get64(file, at + 24),
                    btime: get64(file, at + 32),
                    itime: get64(file, at + 40),
                    valid: 0,
                },
            })
        })
    }

    fn entry(id: u32) -> Entry {
        Entry {
            id,
            dq: DqBlk {
                bhardlimit: 2048 + (id % 1000) as u64,
                bsoftlimit: 1024,
                curspace: 123_456 * id as u64,
                ihardlimit: 5,
                isoftlimit: 3,
                curinodes: 2,
                btime: 1_796_801_036,
                itime: 0,
                valid: 0,
            },
        }
    }

    fn build(ids: &[u32]) -> Vec<u8> {
        let mut es: Vec<Entry> = ids.iter().map(|&id| entry(id)).collect();
        let need = image(&mut es, |e| *e, 3600, 7200, &mut []).unwrap_err();
        let mut out = vec![0xaa; need + 5];
        assert_eq!(image(&mut es, |e| *e, 3600, 7200, &mut out), Ok(need));
        out.truncate(need);
        out
    }

    #[test]
    fn header_and_info_are_what_the_tools_check() {
        let f = build(&[1000]);
        assert_eq!(get32(&f, 0), 0xd9c0_1f11);
        assert_eq!(get32(&f, 4), 0);
        assert_eq!((get32(&f, 8), get32(&f, 12)), (3600, 7200));
        // header + root + one block per level + one data block
        assert_eq!(f.len(), 6 * BLOCK);
        assert_eq!(get32(&f, 20), 6, "dqi_blocks");
        assert_eq!(get32(&f, 24), 0, "no free blocks");
        assert_eq!(get32(&f, 28), 5, "the partly used data block has free entries");
    }

    #[test]
    fn every_entry_is_found_through_the_tree() {
        let ids = [70_000u32, 1000, 0, 1001, 65_534, 0x0102_0304, u32::MAX - 1, 1002];
        let f = build(&ids);
        for &id in &ids {
            assert_eq!(lookup(&f, id), Some(Entry { id, dq: DqBlk { valid: 0, ..entry(id).dq } }), "id {id}");
        }
        for id in [1, 999, 1003, 70_001, u32::MAX] {
            assert_eq!(lookup(&f, id), None, "id {id}");
        }
    }

    #[test]
    fn many_entries_fill_data_blocks_of_21() {
        let ids: Vec<u32> = (0..50).map(|k| 1024 + k).collect();
        let f = build(&ids);
        // header, root, 3 index levels (one prefix each), 3 data blocks
        assert_eq!(f.len(), (5 + 3) * BLOCK);
        for &id in &ids {
            assert!(lookup(&f, id).is_some(), "id {id}");
        }
        let counts: Vec<u16> = (5..8).map(|b| u16::from_le_bytes(f[b * BLOCK + 8..b * BLOCK + 10].try_into().unwrap())).collect();
        assert_eq!(counts, [21, 21, 8]);
        assert_eq!(get32(&f, 28), 7);
        let full = build(&(0..21).collect::<Vec<_>>());
        assert_eq!(get32(&full, 28), 0, "no free entry when the only data block is full");
    }

    #[test]
    fn no_entries_is_an_empty_tree() {
        let f = build(&[]);
        assert_eq!(f.len(), 2 * BLOCK);
        assert!(f[BLOCK..].iter().all(|&b| b == 0));
        assert_eq!(get32(&f, 28), 0);
    }

    #[test]
    fn wide_values_are_capped_and_an_empty_entry_is_marked() {
        let mut es = [
            Entry { id: 0, dq: DqBlk::default() },
            Entry { id: 7, dq: DqBlk { bhardlimit: u64::MAX, ihardlimit: 1 << 40, ..DqBlk::default() } },
        ];
        let mut out = vec![0; 16 * BLOCK];
        let n = image(&mut es, |e| *e, 0, 0, &mut out).unwrap();
        let f = &out[..n];
        assert_eq!(lookup(f, 0).map(|e| e.dq.itime), Some(1));
        let seven = lookup(f, 7).unwrap().dq;
        assert_eq!((seven.bhardlimit, seven.ihardlimit), (u32::MAX as u64, u32::MAX as u64));
    }
}
