// SPDX-License-Identifier: GPL-2.0

//! The decisions of the quota hooks (quota_hooks.c, quota_scan.c), made by markplan::quota,
//! exported to C.

use kernel::ffi::{c_char, c_void};
use markplan::quota::{self, DqBlk, QuotaCmd, UserQuota, WriteVerdict};
use markplan::quota_file;

use crate::bindings::{self, same_signature};

const ALLOW: i32 = bindings::MARKPATCH_QUOTA_ALLOW as i32;
const SHORTEN: i32 = bindings::MARKPATCH_QUOTA_SHORTEN as i32;
const REFUSE: i32 = bindings::MARKPATCH_QUOTA_REFUSE as i32;

/// How much of `want` may be granted (see [`quota::grant`]).
#[no_mangle]
extern "C" fn markpatch_quota_grant(limit: u64, charged: u64, want: u64, unit: u64) -> u64 {
    quota::grant(limit, charged, want, unit)
}

#[no_mangle]
extern "C" fn markpatch_quota_growth(size: u64, pos: u64, count: u64) -> u64 {
    quota::growth(size, pos, count)
}

/// A write of `count` bytes at `pos` to a file of `size` bytes granted
/// `granted` bytes of growth (see [`quota::write`]); for SHORTEN, `*n` is
/// how many bytes may be written.
#[no_mangle]
extern "C" fn markpatch_quota_write(size: u64, pos: u64, count: u64, granted: u64, n: *mut u64) -> i32 {
    match quota::write(size, pos, count, granted) {
        WriteVerdict::Allow => ALLOW,
        WriteVerdict::Shorten(m) => {
            // SAFETY: quota_hooks.c passes a pointer to its own u64.
            unsafe { *n = m };
            SHORTEN
        }
        WriteVerdict::Refuse => REFUSE,
    }
}

#[no_mangle]
extern "C" fn markpatch_quota_recharge(used: u64, before: u64, after: u64) -> u64 {
    quota::recharge(used, before, after)
}

/// The sum of the charges of distinct inodes in `n` (inode number, charge)
/// pairs, and in `*count` how many they are (see [`quota::sum_distinct`]);
/// sorts them.
#[no_mangle]
extern "C" fn markpatch_quota_sum_distinct(pairs: *mut u64, n: usize, count: *mut u64) -> u64 {
    let (total, distinct) = if n == 0 {
        (0, 0)
    } else {
        // SAFETY: quota_scan.c passes `n` pairs of u64 it owns, 8-byte aligned.
        let pairs = unsafe { core::slice::from_raw_parts_mut(pairs.cast::<[u64; 2]>(), n) };
        quota::sum_distinct(pairs)
    };
    // SAFETY: quota_scan.c passes a pointer to its own u64.
    unsafe { *count = distinct };
    total
}

#[no_mangle]
extern "C" fn markpatch_quota_ceiling(hard: u64, soft: u64, grace_ends: u64, now: u64) -> u64 {
    quota::ceiling(hard, soft, grace_ends, now)
}

#[no_mangle]
extern "C" fn markpatch_quota_grace_ends(soft: u64, charged: u64, ends: u64, now: u64, grace: u64) -> u64 {
    quota::grace_ends(soft, charged, ends, now, grace)
}

/// The limit and what is left of it in blocks of `bsize`; false when
/// `bsize` is 0.
#[no_mangle]
extern "C" fn markpatch_quota_statfs(limit: u64, usage: u64, bsize: u64, blocks: *mut u64, free: *mut u64) -> bool {
    match quota::statfs_view(limit, usage, bsize) {
        Some((b, f)) => {
            // SAFETY: quota.c passes pointers to its own u64s.
            unsafe { (*blocks, *free) = (b, f) };
            true
        }
        None => false,
    }
}

/// Parses a `quota` write into `*line` and the NUL-terminated mount point
/// in `mnt` (`mnt_len` bytes). 0, or -EINVAL.
#[no_mangle]
extern "C" fn markpatch_quota_parse(
    input: *const c_char,
    len: usize,
    line: *mut bindings::markpatch_quota_line,
    mnt: *mut c_char,
    mnt_len: usize,
) -> i32 {
    // SAFETY: sysfs passes `len` readable bytes.
    let input = unsafe { core::slice::from_raw_parts(input.cast::<u8>(), len) };
    // SAFETY: the caller's buffer holds `mnt_len` bytes.
    let out = unsafe { core::slice::from_raw_parts_mut(mnt.cast::<u8>(), mnt_len) };
    let Some(limit) = quota::parse_limit(input) else {
        return kernel::error::code::EINVAL.to_errno();
    };
    let m = limit.mountpoint.as_bytes();
    if m.len() >= out.len() {
        return kernel::error::code::EINVAL.to_errno();
    }
    out[..m.len()].copy_from_slice(m);
    out[m.len()] = 0;
    let parsed = bindings::markpatch_quota_line {
        uid: limit.uid,
        bytes: limit.bytes,
        soft: limit.soft,
        inodes: limit.inodes,
        isoft: limit.isoft,
        grace: limit.grace,
        igrace: limit.igrace,
    };
    // SAFETY: quota.c passes a pointer to its own struct.
    unsafe { line.write(parsed) };
    0
}

const _: () = assert!(bindings::MARKPATCH_QUOTA_DEFAULT_GRACE as u64 == quota::DEFAULT_GRACE);
// struct if_dqblk's layout (include/uapi/linux/quota.h), which quota_ctl.c
// checks on its side.
const _: () = assert!(core::mem::size_of::<DqBlk>() == 72);
const _: () = assert!(core::mem::offset_of!(DqBlk, valid) == 64);

/// A quotactl `cmd` as one of the MARKPATCH_QCMD_* (-1: not answered), and
/// its quota type in `*kind`.
#[no_mangle]
extern "C" fn markpatch_quota_decode_cmd(cmd: u32, kind: *mut u32) -> i32 {
    let Some((sub, k)) = quota::decode_cmd(cmd) else {
        return -1;
    };
    // SAFETY: quota_ctl.c passes a pointer to its own u32.
    unsafe { *kind = k };
    (match sub {
        QuotaCmd::Sync => bindings::MARKPATCH_QCMD_SYNC,
        QuotaCmd::QuotaOn => bindings::MARKPATCH_QCMD_QUOTAON,
        QuotaCmd::QuotaOff => bindings::MARKPATCH_QCMD_QUOTAOFF,
        QuotaCmd::GetFmt => bindings::MARKPATCH_QCMD_GETFMT,
        QuotaCmd::GetInfo => bindings::MARKPATCH_QCMD_GETINFO,
        QuotaCmd::SetInfo => bindings::MARKPATCH_QCMD_SETINFO,
        QuotaCmd::GetQuota => bindings::MARKPATCH_QCMD_GETQUOTA,
        QuotaCmd::SetQuota => bindings::MARKPATCH_QCMD_SETQUOTA,
        QuotaCmd::GetNextQuota => bindings::MARKPATCH_QCMD_GETNEXTQUOTA,
    }) as i32
}

fn user_quota(q: &bindings::markpatch_quota_user) -> UserQuota {
    UserQuota {
        bytes: q.bytes,
        soft: q.soft,
        inodes: q.inodes,
        isoft: q.isoft,
        used: q.used,
        files: q.files,
        btime: q.btime,
        itime: q.itime,
    }
}

/// The mount point of device `major:minor` in a mountinfo text (see
/// [`quota::mount_of_device`]): its length in `out`, or -1.
#[no_mangle]
extern "C" fn markpatch_quota_mount_of_device(
    mountinfo: *const c_char,
    len: usize,
    major: u32,
    minor: u32,
    out: *mut c_char,
    out_len: usize,
) -> kernel::ffi::c_long {
    // SAFETY: quota.c passes `len` bytes it read and an `out_len`-byte buffer it owns.
    let (text, out) = unsafe {
        (
            core::slice::from_raw_parts(mountinfo.cast::<u8>(), len),
            core::slice::from_raw_parts_mut(out.cast::<u8>(), out_len),
        )
    };
    quota::mount_of_device(text, major, minor, out).map_or(-1, |n| n as kernel::ffi::c_long)
}

/// `Q_GETQUOTA`'s answer for `q`, written to the `struct if_dqblk` at `out`.
#[no_mangle]
extern "C" fn markpatch_quota_dqblk_of(q: *const bindings::markpatch_quota_user, out: *mut c_void) {
    // SAFETY: quota_ctl.c passes its own user state.
    let d = quota::dqblk_of(&user_quota(unsafe { &*q }));
    let out = out.cast::<DqBlk>();
    // SAFETY: `out` is a struct if_dqblk, whose layout DqBlk has (checked
    // above and in quota_ctl.c); field by field, so that its tail padding
    // is left as the caller set it (copy_to_user sends it out).
    unsafe {
        use core::ptr::addr_of_mut;
        addr_of_mut!((*out).bhardlimit).write_unaligned(d.bhardlimit);
        addr_of_mut!((*out).bsoftlimit).write_unaligned(d.bsoftlimit);
        addr_of_mut!((*out).curspace).write_unaligned(d.curspace);
        addr_of_mut!((*out).ihardlimit).write_unaligned(d.ihardlimit);
        addr_of_mut!((*out).isoftlimit).write_unaligned(d.isoftlimit);
        addr_of_mut!((*out).curinodes).write_unaligned(d.curinodes);
        addr_of_mut!((*out).btime).write_unaligned(d.btime);
        addr_of_mut!((*out).itime).write_unaligned(d.itime);
        addr_of_mut!((*out).valid).write_unaligned(d.valid);
    }
}

/// `Q_SETQUOTA`: `q`'s limits once the `struct if_dqblk` at `d` applies.
#[no_mangle]
extern "C" fn markpatch_quota_apply_dqblk(q: *mut bindings::markpatch_quota_user, d: *const c_void) {
    // SAFETY: as above; `q` is quota_ctl.c's own.
    let (q, d) = unsafe { (&mut *q, d.cast::<DqBlk>().read_unaligned()) };
    let n = quota::apply_dqblk(&user_quota(q), &d);
    (q.bytes, q.soft, q.inodes, q.isoft, q.btime, q.itime) = (n.bytes, n.soft, n.inodes, n.isoft, n.btime, n.itime);
}

/// `Q_SYNC`'s quota file: the image of the `n` users at `users` (sorted
/// there by id) in the `len` bytes at `out`; its length, or minus the
/// length it needs.
#[no_mangle]
extern "C" fn markpatch_quota_file(
    users: *mut bindings::markpatch_quota_file_user,
    n: usize,
    bgrace: u64,
    igrace: u64,
    out: *mut c_void,
    len: usize,
) -> kernel::ffi::c_long {
    // SAFETY: quota.c passes its own array of `n` users and a buffer of
    // `len` bytes (or none, `len` 0), neither shared while this runs.
    let (users, out) = unsafe {
        (
            core::slice::from_raw_parts_mut(users, n),
            if len == 0 { &mut [][..] } else { core::slice::from_raw_parts_mut(out.cast::<u8>(), len) },
        )
    };
    let entry = |u: &bindings::markpatch_quota_file_user| quota_file::Entry {
        id: u.id,
        dq: quota::dqblk_of(&user_quota(&u.q)),
    };
    match quota_file::image(users, entry, bgrace, igrace, out) {
        Ok(n) => n as kernel::ffi::c_long,
        Err(need) => -(need as kernel::ffi::c_long),
    }
}

same_signature!(bindings::markpatch_quota_file, markpatch_quota_file);
same_signature!(bindings::markpatch_quota_write, markpatch_quota_write);
same_signature!(bindings::markpatch_quota_grant, markpatch_quota_grant);
same_signature!(bindings::markpatch_quota_growth, markpatch_quota_growth);
same_signature!(bindings::markpatch_quota_recharge, markpatch_quota_recharge);
same_signature!(bindings::markpatch_quota_sum_distinct, markpatch_quota_sum_distinct);
same_signature!(bindings::markpatch_quota_ceiling, markpatch_quota_ceiling);
same_signature!(bindings::markpatch_quota_grace_ends, markpatch_quota_grace_ends);
same_signature!(bindings::markpatch_quota_statfs, markpatch_quota_statfs);
same_signature!(bindings::markpatch_quota_parse, markpatch_quota_parse);
same_signature!(bindings::markpatch_quota_decode_cmd, markpatch_quota_decode_cmd);
same_signature!(bindings::markpatch_quota_dqblk_of, markpatch_quota_dqblk_of);
same_signature!(bindings::markpatch_quota_mount_of_device, markpatch_quota_mount_of_device);
same_signature!(bindings::markpatch_quota_apply_dqblk, markpatch_quota_apply_dqblk);
