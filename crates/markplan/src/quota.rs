//! The disk quota that markpatch's `quota_*` hooks add to file systems that
//! have none (the patent's first scenario): the decisions, on plain numbers.
//!
//! A user's usage on a file system is the sum, over the regular files the
//! user owns there, of each file's charge: the larger of its size and its
//! allocated bytes (so a sparse file is charged its size, and blocks
//! preallocated beyond the end with `fallocate --keep-size` count too).
//! Writes that would take the usage past the limit are cut short at the
//! limit, and fail with EDQUOT when nothing fits, as a real quota does.

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

/// What a write of `count` bytes at `pos` to a file charged `charge` bytes
/// (the larger of its size and its allocation) may do, for a user with
/// `limit` bytes and `usage` bytes in use (this file included). Writing
/// inside the charged bytes costs nothing; only the growth past them counts.
pub fn write(limit: u64, usage: u64, charge: u64, pos: u64, count: u64) -> WriteVerdict {
    let end = pos.saturating_add(count);
    if end <= charge {
        return WriteVerdict::Allow;
    }
    let room = limit.saturating_sub(usage);
    // The file may grow to charge + room.
    let max_end = charge.saturating_add(room);
    if end <= max_end {
        WriteVerdict::Allow
    } else if pos < max_end {
        WriteVerdict::Shorten(max_end - pos)
    } else {
        WriteVerdict::Refuse
    }
}

/// Whether a file may be charged `extra` more bytes (a truncate that
/// extends it, a fallocate). Growing by nothing is always allowed.
pub fn may_grow(limit: u64, usage: u64, extra: u64) -> bool {
    extra == 0 || usage.saturating_add(extra) <= limit
}

/// What `df` shows a limited user, in blocks of `bsize`: the limit as the
/// size, what is left of it as free and available. None when `bsize` is 0.
pub fn statfs_view(limit: u64, usage: u64, bsize: u64) -> Option<(u64, u64)> {
    if bsize == 0 {
        return None;
    }
    Some((limit / bsize, limit.saturating_sub(usage) / bsize))
}

/// A `limits` write: "UID BYTES MOUNTPOINT" (BYTES 0 removes the limit).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limit<'a> {
    pub uid: u32,
    pub bytes: u64,
    pub mountpoint: &'a str,
}

/// Parses a `limits` write, less one trailing newline: three words, the
/// mount point an absolute path of at most 255 printable ASCII bytes.
pub fn parse_limit(input: &[u8]) -> Option<Limit<'_>> {
    let line = input.strip_suffix(b"\n").unwrap_or(input);
    let text = core::str::from_utf8(line).ok()?;
    let mut words = text.split(' ').filter(|w| !w.is_empty());
    let (Some(uid), Some(bytes), Some(mountpoint), None) = (words.next(), words.next(), words.next(), words.next())
    else {
        return None;
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(uid) || !digits(bytes) {
        return None;
    }
    if !mountpoint.starts_with('/') || mountpoint.len() > 255 || !mountpoint.bytes().all(|b| b.is_ascii_graphic()) {
        return None;
    }
    Some(Limit { uid: uid.parse().ok()?, bytes: bytes.parse().ok()?, mountpoint })
}

#[cfg(test)]
mod tests {
    use super::*;

    const K: u64 = 1024;

    #[test]
    fn writes_up_to_the_limit_then_short_then_edquot() {
        // 100 KiB limit, 60 KiB used, of which this file's 10 KiB.
        assert_eq!(write(100 * K, 60 * K, 10 * K, 10 * K, 40 * K), WriteVerdict::Allow);
        assert_eq!(write(100 * K, 60 * K, 10 * K, 10 * K, 41 * K), WriteVerdict::Shorten(40 * K));
        // Appending at the end once full: nothing fits.
        assert_eq!(write(100 * K, 100 * K, 50 * K, 50 * K, 1), WriteVerdict::Refuse);
        // A write far past the end: the hole counts, so it is refused.
        assert_eq!(write(100 * K, 60 * K, 10 * K, 200 * K, 1), WriteVerdict::Refuse);
    }

    #[test]
    fn overwriting_inside_the_file_is_free_even_when_full() {
        assert_eq!(write(100 * K, 100 * K, 50 * K, 0, 50 * K), WriteVerdict::Allow);
        assert_eq!(write(100 * K, 120 * K, 50 * K, 10 * K, 5), WriteVerdict::Allow);
    }

    #[test]
    fn over_the_limit_already_nothing_grows() {
        assert_eq!(write(100, 150, 10, 10, 1), WriteVerdict::Refuse);
        assert!(!may_grow(100, 150, 1));
        assert!(may_grow(100, 99, 1));
        assert!(!may_grow(100, 99, 2));
        assert!(may_grow(100, 150, 0));
    }

    #[test]
    fn no_overflow_at_the_edges() {
        assert_eq!(write(u64::MAX, 0, 0, u64::MAX, u64::MAX), WriteVerdict::Allow);
        assert_eq!(write(0, 0, 0, u64::MAX, 1), WriteVerdict::Refuse);
        assert!(!may_grow(10, u64::MAX, 1));
    }

    #[test]
    fn df_shows_the_limit_and_what_is_left() {
        assert_eq!(statfs_view(100 * K, 30 * K, 4096), Some((25, 17)));
        assert_eq!(statfs_view(100 * K, 200 * K, 4096), Some((25, 0)));
        assert_eq!(statfs_view(1, 0, 0), None);
    }

    #[test]
    fn limits_lines() {
        assert_eq!(parse_limit(b"1000 1048576 /mnt/ram\n"), Some(Limit { uid: 1000, bytes: 1 << 20, mountpoint: "/mnt/ram" }));
        assert_eq!(parse_limit(b"1000 0 /mnt"), Some(Limit { uid: 1000, bytes: 0, mountpoint: "/mnt" }));
        assert_eq!(parse_limit(b"1000 1M /mnt"), None);
        assert_eq!(parse_limit(b"-1 5 /mnt"), None);
        assert_eq!(parse_limit(b"1000 5 mnt"), None);
        assert_eq!(parse_limit(b"1000 5"), None);
        assert_eq!(parse_limit(b"1000 5 /a /b"), None);
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
