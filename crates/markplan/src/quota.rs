//! The disk quota that markpatch's `quota_*` hooks add to file systems that
//! have none (the patent's first scenario): the decisions, on plain numbers.
//! The kernel side (src/scenarios/quota.c) keeps one record per limited
//! (file system, user) and calls these under the record's lock.
//!
//! A user's usage on a file system is what the user's inodes are charged:
//! on file systems that count allocated blocks (ext2, tmpfs) their allocated
//! bytes, as a real quota counts them; on ramfs, which counts none, the
//! sizes of the user's regular files. It is computed once when a limit is
//! set, then kept up to date by the hooks on every change.
//!
//! Enforcement is exact under any concurrency: what a write or an
//! allocation may take is granted against `charged`, the usage plus what
//! writes in flight have been granted and not yet settled, so the sum of
//! everything granted never passes the limit.

/// A write of `count` bytes at `pos`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteVerdict {
    /// Write all of it.
    Allow,
    /// Write only the first `n` bytes (a short write up to the limit).
    Shorten(u64),
    /// Nothing fits: EDQUOT.
    Refuse,
}

/// How much of `want` bytes a user with `limit` bytes, of which `charged`
/// are used or granted, may take now: all of `want` when it fits,
/// otherwise as many whole `unit`s as fit (0: EDQUOT). A `unit` of `want`
/// makes it all or nothing; a `unit` of 0 is all or nothing too.
pub fn grant(limit: u64, charged: u64, want: u64, unit: u64) -> u64 {
    let room = limit.saturating_sub(charged);
    if want <= room {
        want
    } else if unit == 0 {
        0
    } else {
        room - room % unit
    }
}

/// How far a write of `count` bytes at `pos` takes a file of `size` bytes
/// past its end (a hole before `pos` included): what it asks of a quota
/// that charges sizes.
pub fn growth(size: u64, pos: u64, count: u64) -> u64 {
    pos.saturating_add(count).saturating_sub(size)
}

/// What a write of `count` bytes at `pos` to a file of `size` bytes may do
/// when `granted` bytes of growth past `size` were granted to it.
pub fn write(size: u64, pos: u64, count: u64, granted: u64) -> WriteVerdict {
    let end = pos.saturating_add(count);
    let max_end = size.saturating_add(granted);
    if end <= max_end {
        WriteVerdict::Allow
    } else if pos < max_end {
        WriteVerdict::Shorten(max_end - pos)
    } else {
        WriteVerdict::Refuse
    }
}

/// `used` once an inode's charge went from `before` to `after`. Never below
/// 0: what the scan at set time did not count is not taken from the rest.
pub fn recharge(used: u64, before: u64, after: u64) -> u64 {
    if after >= before {
        used.saturating_add(after - before)
    } else {
        used.saturating_sub(before - after)
    }
}

/// The sum of the charges of distinct inodes and how many they are, given
/// as [inode number, charge] pairs in which an inode with several names
/// (hard links) appears once per name. Sorts `entries`.
pub fn sum_distinct(entries: &mut [[u64; 2]]) -> (u64, u64) {
    entries.sort_unstable();
    let (mut total, mut count) = (0u64, 0u64);
    let mut last = None;
    for &[ino, charge] in entries.iter() {
        if last != Some(ino) {
            total = total.saturating_add(charge);
            count += 1;
            last = Some(ino);
        }
    }
    (total, count)
}

/// The most a user may be charged now, of bytes or of inodes: the hard
/// limit (0: none), or the soft limit (0: none) once the grace period that
/// passing it started has ended (`grace_ends`, seconds; 0: none running),
/// as `dquot` has it.
pub fn ceiling(hard: u64, soft: u64, grace_ends: u64, now: u64) -> u64 {
    let hard = if hard == 0 { u64::MAX } else { hard };
    if soft != 0 && grace_ends != 0 && now >= grace_ends {
        hard.min(soft)
    } else {
        hard
    }
}

/// When the grace period ends once the charge is `charged`: passing the
/// soft limit starts one (`now` + `grace`), staying above it keeps the one
/// running (`ends`), coming back within it clears it (0).
pub fn grace_ends(soft: u64, charged: u64, ends: u64, now: u64, grace: u64) -> u64 {
    if soft == 0 || charged <= soft {
        0
    } else if ends == 0 {
        now.saturating_add(grace).max(1)
    } else {
        ends
    }
}

/// The grace period a limit gets unless its line says otherwise: 7 days,
/// as quota tools set by default.
pub const DEFAULT_GRACE: u64 = 7 * 24 * 3600;

/// What `df` shows a limited user, in blocks of `bsize`: the limit as the
/// size, what is left of it as free and available. None when `bsize` is 0.
pub fn statfs_view(limit: u64, usage: u64, bsize: u64) -> Option<(u64, u64)> {
    if bsize == 0 {
        return None;
    }
    Some((limit / bsize, limit.saturating_sub(usage) / bsize))
}

/// A `quota` write: "UID BYTES MOUNTPOINT [NAME=VALUE...]" (BYTES 0
/// removes the limit), the options `soft=BYTES`, `inodes=N` (hard limit on
/// the number of inodes), `isoft=N`, `grace=SECONDS` and `igrace=SECONDS`
/// (the grace periods of the soft limits). Every limit is 0 (none) unless
/// given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limit<'a> {
    pub uid: u32,
    pub bytes: u64,
    pub mountpoint: &'a str,
    pub soft: u64,
    pub inodes: u64,
    pub isoft: u64,
    pub grace: u64,
    pub igrace: u64,
}

/// Parses a `quota` write, less one trailing newline: at least three
/// words, the mount point an absolute path of at most 255 printable ASCII
/// bytes, then options, each at most once.
pub fn parse_limit(input: &[u8]) -> Option<Limit<'_>> {
    let line = input.strip_suffix(b"\n").unwrap_or(input);
    let text = core::str::from_utf8(line).ok()?;
    let mut words = text.split(' ').filter(|w| !w.is_empty());
    let (Some(uid), Some(bytes), Some(mountpoint)) = (words.next(), words.next(), words.next()) else {
        return None;
    };
    let number = |s: &str| -> Option<u64> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    };
    if !mountpoint.starts_with('/') || mountpoint.len() > 255 || !mountpoint.bytes().all(|b| b.is_ascii_graphic()) {
        return None;
    }
    let mut limit = Limit {
        uid: u32::try_from(number(uid)?).ok()?,
        bytes: number(bytes)?,
        mountpoint,
        soft: 0,
        inodes: 0,
        isoft: 0,
        grace: DEFAULT_GRACE,
        igrace: DEFAULT_GRACE,
    };
    let mut seen = 0u8;
    for word in words {
        let (name, value) = word.split_once('=')?;
        let value = number(value)?;
        let (bit, field) = match name {
            "soft" => (1, &mut limit.soft),
            "inodes" => (2, &mut limit.inodes),
            "isoft" => (4, &mut limit.isoft),
            "grace" => (8, &mut limit.grace),
            "igrace" => (16, &mut limit.igrace),
            _ => return None,
        };
        if seen & bit != 0 {
            return None;
        }
        seen |= bit;
        *field = value;
    }
    Some(limit)
}

/// quotactl(2)'s commands for user quotas (`QCMD(cmd, USRQUOTA)`), as
/// the quota tools send them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QuotaCmd {
    Sync,
    QuotaOn,
    QuotaOff,
    GetFmt,
    GetInfo,
    SetInfo,
    GetQuota,
    SetQuota,
    GetNextQuota,
}

/// The command and the quota type (0: user, 1: group, 2: project) of a
/// quotactl `cmd`; None for commands the quota does not answer (XFS's,
/// and any other).
pub fn decode_cmd(cmd: u32) -> Option<(QuotaCmd, u32)> {
    // QCMD(cmd, type) = cmd << 8 | type, with Q_SYNC = 0x800001 ...
    let sub = match cmd >> 8 {
        0x80_0001 => QuotaCmd::Sync,
        0x80_0002 => QuotaCmd::QuotaOn,
        0x80_0003 => QuotaCmd::QuotaOff,
        0x80_0004 => QuotaCmd::GetFmt,
        0x80_0005 => QuotaCmd::GetInfo,
        0x80_0006 => QuotaCmd::SetInfo,
        0x80_0007 => QuotaCmd::GetQuota,
        0x80_0008 => QuotaCmd::SetQuota,
        0x80_0009 => QuotaCmd::GetNextQuota,
        _ => return None,
    };
    Some((sub, cmd & 0xff))
}

/// `struct if_dqblk` (include/uapi/linux/quota.h): limits in 1 KiB quota
/// blocks, space in bytes, times in seconds since the epoch.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DqBlk {
    pub bhardlimit: u64,
    pub bsoftlimit: u64,
    pub curspace: u64,
    pub ihardlimit: u64,
    pub isoftlimit: u64,
    pub curinodes: u64,
    pub btime: u64,
    pub itime: u64,
    pub valid: u32,
}

pub const QIF_BLIMITS: u32 = 1;
pub const QIF_SPACE: u32 = 2;
pub const QIF_ILIMITS: u32 = 4;
pub const QIF_INODES: u32 = 8;
pub const QIF_BTIME: u32 = 16;
pub const QIF_ITIME: u32 = 32;
pub const QIF_ALL: u32 = 63;
/// `struct if_dqinfo`'s valid bits: the grace periods.
pub const IIF_BGRACE: u32 = 1;
pub const IIF_IGRACE: u32 = 2;

/// A limited user's state, as the quota keeps it (bytes and inodes).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UserQuota {
    pub bytes: u64,
    pub soft: u64,
    pub inodes: u64,
    pub isoft: u64,
    pub used: u64,
    pub files: u64,
    pub btime: u64,
    pub itime: u64,
}

/// Bytes as 1 KiB quota blocks, rounded up (as the kernel's `stoqb`).
fn blocks(bytes: u64) -> u64 {
    bytes.div_ceil(1024)
}

/// What `Q_GETQUOTA` answers for `q`.
pub fn dqblk_of(q: &UserQuota) -> DqBlk {
    DqBlk {
        bhardlimit: blocks(q.bytes),
        bsoftlimit: blocks(q.soft),
        curspace: q.used,
        ihardlimit: q.inodes,
        isoftlimit: q.isoft,
        curinodes: q.files,
        btime: q.btime,
        itime: q.itime,
        valid: QIF_ALL,
    }
}

/// The limits of `q` once `Q_SETQUOTA` gave `d`: the fields `d.valid`
/// names (limits in 1 KiB blocks; grace times as given). Usage is the
/// quota's own (QIF_SPACE and QIF_INODES are not taken).
pub fn apply_dqblk(q: &UserQuota, d: &DqBlk) -> UserQuota {
    let mut n = *q;
    if d.valid & QIF_BLIMITS != 0 {
        n.bytes = d.bhardlimit.saturating_mul(1024);
        n.soft = d.bsoftlimit.saturating_mul(1024);
    }
    if d.valid & QIF_ILIMITS != 0 {
        n.inodes = d.ihardlimit;
        n.isoft = d.isoftlimit;
    }
    if d.valid & QIF_BTIME != 0 {
        n.btime = d.btime;
    }
    if d.valid & QIF_ITIME != 0 {
        n.itime = d.itime;
    }
    n
}

/// The mount point, in a `/proc/self/mountinfo` text, of the first mount
/// of the file system on device `major:minor`, unescaped into `out` (the
/// kernel writes space, tab, newline and backslash as `\ooo`); its length,
/// or None when there is none or it does not fit.
pub fn mount_of_device(mountinfo: &[u8], major: u32, minor: u32, out: &mut [u8]) -> Option<usize> {
    for line in mountinfo.split(|&b| b == b'\n') {
        // mount ID, parent ID, major:minor, root, mount point, ...
        let mut fields = line.split(|&b| b == b' ');
        let (Some(_), Some(_), Some(dev), Some(_), Some(point)) =
            (fields.next(), fields.next(), fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        let mut parts = dev.split(|&b| b == b':');
        let number = |s: Option<&[u8]>| -> Option<u32> { core::str::from_utf8(s?).ok()?.parse().ok() };
        if number(parts.next()) != Some(major) || number(parts.next()) != Some(minor) {
            continue;
        }
        let mut n = 0;
        let mut i = 0;
        while i < point.len() {
            let b = if point[i] == b'\\' && i + 3 < point.len() && point[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c)) {
                let v = point[i + 1..i + 4].iter().fold(0u32, |v, c| v * 8 + u32::from(c - b'0'));
                i += 4;
                u8::try_from(v).ok()?
            } else {
                i += 1;
                point[i - 1]
            };
            *out.get_mut(n)? = b;
            n += 1;
        }
        return Some(n);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const K: u64 = 1024;

    #[test]
    fn grants_all_that_fits_then_whole_units_then_nothing() {
        // 100 KiB limit, 60 KiB charged.
        assert_eq!(grant(100 * K, 60 * K, 40 * K, 4 * K), 40 * K);
        assert_eq!(grant(100 * K, 60 * K, 41 * K, 1), 40 * K);
        // Blocks of 4 KiB: 40 KiB of room is 10 of them, 42 KiB asked.
        assert_eq!(grant(100 * K, 58 * K, 48 * K, 4 * K), 40 * K);
        // All or nothing.
        assert_eq!(grant(100 * K, 60 * K, 41 * K, 41 * K), 0);
        assert_eq!(grant(100 * K, 60 * K, 41 * K, 0), 0);
        assert_eq!(grant(100 * K, 60 * K, 40 * K, 0), 40 * K);
        // Full, or over already.
        assert_eq!(grant(100 * K, 100 * K, 1, 1), 0);
        assert_eq!(grant(100 * K, 150 * K, 1, 1), 0);
        // Asking nothing is always granted.
        assert_eq!(grant(0, 150 * K, 0, 1), 0);
    }

    #[test]
    fn a_write_may_end_where_its_grant_ends() {
        // A 10 KiB file, a 40 KiB write at its end.
        assert_eq!(growth(10 * K, 10 * K, 40 * K), 40 * K);
        assert_eq!(write(10 * K, 10 * K, 40 * K, 40 * K), WriteVerdict::Allow);
        assert_eq!(write(10 * K, 10 * K, 40 * K, 30 * K), WriteVerdict::Shorten(30 * K));
        assert_eq!(write(10 * K, 10 * K, 40 * K, 0), WriteVerdict::Refuse);
        // Inside the file it costs nothing.
        assert_eq!(growth(10 * K, 0, 10 * K), 0);
        assert_eq!(write(10 * K, 0, 10 * K, 0), WriteVerdict::Allow);
        // Past the end, the hole counts.
        assert_eq!(growth(10 * K, 20 * K, 1), 10 * K + 1);
        assert_eq!(write(10 * K, 20 * K, 1, 10 * K), WriteVerdict::Refuse);
        // Across the end: the part inside is free.
        assert_eq!(growth(10 * K, 5 * K, 10 * K), 5 * K);
        assert_eq!(write(10 * K, 5 * K, 10 * K, 2 * K), WriteVerdict::Shorten(7 * K));
    }

    #[test]
    fn recharge_moves_usage_and_stops_at_zero() {
        assert_eq!(recharge(100, 10, 30), 120);
        assert_eq!(recharge(100, 30, 10), 80);
        assert_eq!(recharge(10, 30, 0), 0);
        assert_eq!(recharge(u64::MAX, 0, 5), u64::MAX);
    }

    #[test]
    fn hard_links_count_once() {
        let mut e = [[7, 100], [3, 50], [7, 100], [9, 1], [3, 50], [7, 100]];
        assert_eq!(sum_distinct(&mut e), (151, 3));
        assert_eq!(sum_distinct(&mut []), (0, 0));
    }

    #[test]
    fn the_soft_limit_binds_once_its_grace_has_ended() {
        // No limits at all: nothing binds.
        assert_eq!(ceiling(0, 0, 0, 100), u64::MAX);
        // Hard only.
        assert_eq!(ceiling(1000, 0, 0, 100), 1000);
        // Soft passed, grace running: the hard limit binds.
        assert_eq!(ceiling(1000, 500, 200, 100), 1000);
        assert_eq!(ceiling(0, 500, 200, 199), u64::MAX);
        // Grace over: the soft limit binds.
        assert_eq!(ceiling(1000, 500, 200, 200), 500);
        assert_eq!(ceiling(0, 500, 200, 300), 500);
        // A soft limit above the hard one never binds more than the hard.
        assert_eq!(ceiling(400, 500, 200, 300), 400);
    }

    #[test]
    fn grace_starts_when_the_soft_limit_is_passed_and_clears_below_it() {
        assert_eq!(grace_ends(500, 400, 0, 100, 60), 0);
        assert_eq!(grace_ends(500, 500, 0, 100, 60), 0);
        assert_eq!(grace_ends(500, 501, 0, 100, 60), 160);
        // Running: kept, however long ago it started.
        assert_eq!(grace_ends(500, 900, 160, 1000, 60), 160);
        // Back within: cleared.
        assert_eq!(grace_ends(500, 499, 160, 1000, 60), 0);
        // No soft limit: none.
        assert_eq!(grace_ends(0, 900, 160, 1000, 60), 0);
        // A grace of 0 ends at once (but is still "running": not 0).
        assert_eq!(grace_ends(500, 501, 0, 0, 0), 1);
        assert_eq!(ceiling(1000, 500, grace_ends(500, 501, 0, 100, 0), 100), 500);
    }

    #[test]
    fn no_overflow_at_the_edges() {
        assert_eq!(grant(u64::MAX, 0, u64::MAX, 1), u64::MAX);
        assert_eq!(growth(0, u64::MAX, u64::MAX), u64::MAX);
        assert_eq!(write(0, u64::MAX, 1, 0), WriteVerdict::Refuse);
        assert_eq!(write(u64::MAX, 0, u64::MAX, 1), WriteVerdict::Allow);
    }

    #[test]
    fn quotactl_commands() {
        // QCMD(Q_GETQUOTA, USRQUOTA) and QCMD(Q_SETQUOTA, GRPQUOTA), as
        // <sys/quota.h> computes them
        assert_eq!(decode_cmd(0x8000_0700), Some((QuotaCmd::GetQuota, 0)));
        assert_eq!(decode_cmd(0x8000_0801), Some((QuotaCmd::SetQuota, 1)));
        assert_eq!(decode_cmd(0x8000_0900), Some((QuotaCmd::GetNextQuota, 0)));
        assert_eq!(decode_cmd(0x8000_0400), Some((QuotaCmd::GetFmt, 0)));
        assert_eq!(decode_cmd(0x8000_0100), Some((QuotaCmd::Sync, 0)));
        assert_eq!(decode_cmd(0x8000_0200), Some((QuotaCmd::QuotaOn, 0)));
        assert_eq!(decode_cmd(0x8000_0300), Some((QuotaCmd::QuotaOff, 0)));
        assert_eq!(decode_cmd(0x8000_0500), Some((QuotaCmd::GetInfo, 0)));
        assert_eq!(decode_cmd(0x8000_0600), Some((QuotaCmd::SetInfo, 0)));
        assert_eq!(decode_cmd(0x8000_0902), Some((QuotaCmd::GetNextQuota, 2)));
        // XFS's Q_XGETQUOTA (QCMD(XQM_CMD(3), 0)) and nonsense
        assert_eq!(decode_cmd(0x0058_0300), None);
        assert_eq!(decode_cmd(0x8000_0000), None);
        assert_eq!(decode_cmd(0x8000_0a00), None);
        assert_eq!(decode_cmd(0), None);
    }

    #[test]
    fn dqblk_in_quota_blocks_both_ways() {
        let q = UserQuota { bytes: 1 << 20, soft: 1000, inodes: 10, isoft: 5, used: 4096, files: 2, btime: 0, itime: 7 };
        let d = dqblk_of(&q);
        assert_eq!((d.bhardlimit, d.bsoftlimit, d.curspace), (1024, 1, 4096));
        assert_eq!((d.ihardlimit, d.isoftlimit, d.curinodes, d.itime, d.valid), (10, 5, 2, 7, QIF_ALL));
        // setquota -u 1000 512 1024 0 0: blocks only
        let set = DqBlk { bsoftlimit: 512, bhardlimit: 1024, ihardlimit: 99, valid: QIF_BLIMITS, ..Default::default() };
        let n = apply_dqblk(&q, &set);
        assert_eq!((n.bytes, n.soft, n.inodes, n.isoft), (1 << 20, 512 * 1024, 10, 5));
        // inode limits and usage: usage is not taken
        let set = DqBlk { ihardlimit: 3, isoftlimit: 2, curinodes: 100, curspace: 1, valid: QIF_ILIMITS | QIF_USAGE_BITS, ..Default::default() };
        let n = apply_dqblk(&q, &set);
        assert_eq!((n.inodes, n.isoft, n.files, n.used), (3, 2, 2, 4096));
        // Only what `valid` names changes.
        let only_inodes = DqBlk { bhardlimit: 7, bsoftlimit: 7, btime: 9, itime: 9, ihardlimit: 3, valid: QIF_ILIMITS, ..Default::default() };
        let n = apply_dqblk(&q, &only_inodes);
        assert_eq!((n.bytes, n.soft, n.btime, n.itime, n.inodes), (1 << 20, 1000, 0, 7, 3));
        let times = DqBlk { btime: 100, itime: 200, bhardlimit: 7, ihardlimit: 7, valid: QIF_BTIME | QIF_ITIME, ..Default::default() };
        let n = apply_dqblk(&q, &times);
        assert_eq!((n.btime, n.itime, n.bytes, n.inodes), (100, 200, 1 << 20, 10));
        let btime_only = DqBlk { btime: 100, itime: 200, valid: QIF_BTIME, ..Default::default() };
        assert_eq!((apply_dqblk(&q, &btime_only).btime, apply_dqblk(&q, &btime_only).itime), (100, 7));
        let itime_only = DqBlk { btime: 100, itime: 200, valid: QIF_ITIME, ..Default::default() };
        assert_eq!((apply_dqblk(&q, &itime_only).btime, apply_dqblk(&q, &itime_only).itime), (0, 200));
        assert_eq!(apply_dqblk(&q, &DqBlk { bhardlimit: u64::MAX, valid: QIF_BLIMITS, ..Default::default() }).bytes, u64::MAX);
    }

    const QIF_USAGE_BITS: u32 = QIF_SPACE | QIF_INODES;

    #[test]
    fn a_device_s_mount_point_from_mountinfo() {
        let info = b"22 1 0:20 / / rw,relatime - rootfs rootfs rw\n\
35 22 7:0 / /tmp/quota\\040a/ext rw,relatime - ext2 /dev/loop0 rw\n\
36 22 7:0 / /other rw - ext2 /dev/loop0 rw\n\
37 22 7:1 / /tmp/x rw - ext2 /dev/loop1 rw\n";
        let mut out = [0u8; 64];
        let n = mount_of_device(info, 7, 0, &mut out).unwrap();
        assert_eq!(&out[..n], b"/tmp/quota a/ext");
        let n = mount_of_device(info, 7, 1, &mut out).unwrap();
        assert_eq!(&out[..n], b"/tmp/x");
        assert_eq!(mount_of_device(info, 7, 2, &mut out), None);
        assert_eq!(mount_of_device(info, 0, 20, &mut out[..0]), None);
        assert_eq!(mount_of_device(b"", 7, 0, &mut out), None);
        assert_eq!(mount_of_device(b"garbage\n1 2 x:y / /a\n", 7, 0, &mut out), None);
        // A backslash without three octal digits after it is itself.
        let n = mount_of_device(b"1 2 7:0 / /a\\01 rw\n", 7, 0, &mut out).unwrap();
        assert_eq!(&out[..n], b"/a\\01");
        let n = mount_of_device(b"1 2 7:0 / /a\\ rw\n", 7, 0, &mut out).unwrap();
        assert_eq!(&out[..n], b"/a\\");
        let n = mount_of_device(b"1 2 7:0 / /a\\0123 rw\n", 7, 0, &mut out).unwrap();
        assert_eq!(&out[..n], b"/a\n3");
        let n = mount_of_device(b"1 2 7:0 / /a\\08x rw\n", 7, 0, &mut out).unwrap();
        assert_eq!(&out[..n], b"/a\\08x");
    }

    #[test]
    fn df_shows_the_limit_and_what_is_left() {
        assert_eq!(statfs_view(100 * K, 30 * K, 4096), Some((25, 17)));
        assert_eq!(statfs_view(100 * K, 200 * K, 4096), Some((25, 0)));
        assert_eq!(statfs_view(1, 0, 0), None);
    }

    fn plain(uid: u32, bytes: u64, mountpoint: &str) -> Limit<'_> {
        Limit { uid, bytes, mountpoint, soft: 0, inodes: 0, isoft: 0, grace: DEFAULT_GRACE, igrace: DEFAULT_GRACE }
    }

    #[test]
    fn limits_lines() {
        assert_eq!(parse_limit(b"1000 1048576 /mnt/ram\n"), Some(plain(1000, 1 << 20, "/mnt/ram")));
        assert_eq!(parse_limit(b"1000 0 /mnt"), Some(plain(1000, 0, "/mnt")));
        assert_eq!(parse_limit(b"1000 1M /mnt"), None);
        assert_eq!(parse_limit(b"-1 5 /mnt"), None);
        assert_eq!(parse_limit(b"1000 5 mnt"), None);
        assert_eq!(parse_limit(b"1000 5"), None);
        assert_eq!(parse_limit(b"1000 5 /a /b"), None);
        assert_eq!(
            parse_limit(b"1000 0 /mnt soft=500 inodes=10 isoft=5 grace=60 igrace=30\n"),
            Some(Limit { uid: 1000, bytes: 0, mountpoint: "/mnt", soft: 500, inodes: 10, isoft: 5, grace: 60, igrace: 30 })
        );
        assert_eq!(parse_limit(b"1000 5 /mnt soft=1 soft=2"), None);
        assert_eq!(parse_limit(b"1000 5 /mnt hard=1"), None);
        assert_eq!(parse_limit(b"1000 5 /mnt soft="), None);
        assert_eq!(parse_limit(b"1000 5 /mnt soft=-1"), None);
        assert_eq!(parse_limit(b"1000 5 /mnt soft"), None);
        assert_eq!(parse_limit(b"99999999999 5 /a"), None);
        assert_eq!(parse_limit(b"1 5 /a\x00b"), None);
        assert_eq!(parse_limit(b""), None);
    }
}

/// What a `quota` write may hold, at its edges (found by cargo mutants).
#[cfg(test)]
mod limit_edges {
    use super::*;
    use alloc::string::String;

    #[test]
    fn numbers_are_plain_decimal_digits() {
        assert!(parse_limit(b"1000 5 /mnt").is_some());
        // Rust's parse() takes a sign; a quota line does not.
        assert!(parse_limit(b"+1000 5 /mnt").is_none());
        assert!(parse_limit(b"1000 +5 /mnt").is_none());
    }

    #[test]
    fn a_mount_point_of_255_bytes_is_taken_256_is_not() {
        let mut line = String::from("1000 5 /");
        line.push_str(&"m".repeat(254));
        assert_eq!(parse_limit(line.as_bytes()).map(|l| l.mountpoint.len()), Some(255));
        line.push('m');
        assert!(parse_limit(line.as_bytes()).is_none());
    }
}
