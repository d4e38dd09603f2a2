//! Parsing what users write to markpatch's sysfs files.

use core::fmt;

/// The longest kallsyms name (KSYM_NAME_LEN in 6.12, less its NUL).
pub const SYMBOL_MAX: usize = 511;

/// The longest registered hook name.
pub const HOOK_NAME_MAX: usize = 31;

/// The value `fail` returns when no `=VALUE` is given: -EPERM.
pub const DEFAULT_FAIL_VALUE: i64 = -1;

/// Why a write was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputError {
    Empty,
    TooLong,
    /// A byte that cannot be in a symbol name (NUL, space, control, non-ASCII).
    BadByte { offset: usize },
    /// Not "SYMBOL HOOK".
    NotTwoWords,
    /// A hook that is not `count`, `fail`, `fail=<signed decimal>` or a name
    /// of [A-Za-z0-9_] (at most [`HOOK_NAME_MAX`] bytes).
    BadHook,
}

/// Which hook an install asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HookSpec<'a> {
    /// Pass-through: run the original, count the call.
    Count,
    /// Return this value without running the original.
    Fail(i64),
    /// A filter hook registered by another module under this name.
    Named(&'a str),
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InputError::Empty => f.write_str("empty symbol name"),
            InputError::TooLong => write!(f, "symbol name longer than {SYMBOL_MAX} bytes"),
            InputError::BadByte { offset } => write!(f, "invalid byte at offset {offset} of symbol name"),
            InputError::NotTwoWords => f.write_str("expected \"SYMBOL HOOK\""),
            InputError::BadHook => {
                f.write_str("hook must be count, fail, fail=<signed decimal> or a registered name")
            }
        }
    }
}

/// Parses one symbol name: the whole write less one trailing newline.
pub fn parse_symbol(input: &[u8]) -> Result<&str, InputError> {
    let input = input.strip_suffix(b"\n").unwrap_or(input);
    if input.is_empty() {
        return Err(InputError::Empty);
    }
    if input.len() > SYMBOL_MAX {
        return Err(InputError::TooLong);
    }
    // kallsyms names are printable ASCII without spaces ('.' and '$' occur).
    if let Some(offset) = input.iter().position(|b| !b.is_ascii_graphic()) {
        return Err(InputError::BadByte { offset });
    }
    // Every byte is ASCII, so this cannot fail.
    core::str::from_utf8(input).map_err(|_| InputError::BadByte { offset: 0 })
}

/// Parses a hook: `count`, `fail`, `fail=<signed decimal>` or a name.
pub fn parse_hook(word: &str) -> Result<HookSpec<'_>, InputError> {
    match word {
        "count" => return Ok(HookSpec::Count),
        "fail" => return Ok(HookSpec::Fail(DEFAULT_FAIL_VALUE)),
        _ => {}
    }
    if let Some(value) = word.strip_prefix("fail=") {
        return value.parse::<i64>().map(HookSpec::Fail).map_err(|_| InputError::BadHook);
    }
    let name_ok = !word.is_empty()
        && word.len() <= HOOK_NAME_MAX
        && word.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if name_ok {
        Ok(HookSpec::Named(word))
    } else {
        Err(InputError::BadHook)
    }
}

/// Parses an install request: "SYMBOL HOOK", one space or tab between,
/// less one trailing newline.
pub fn parse_install(input: &[u8]) -> Result<(&str, HookSpec<'_>), InputError> {
    let line = input.strip_suffix(b"\n").unwrap_or(input);
    if line.is_empty() {
        return Err(InputError::Empty);
    }
    if line.len() > SYMBOL_MAX + 1 + 32 {
        return Err(InputError::TooLong);
    }
    let mut words = line.split(|&b| b == b' ' || b == b'\t').filter(|w| !w.is_empty());
    let (Some(sym), Some(hook), None) = (words.next(), words.next(), words.next()) else {
        return Err(InputError::NotTwoWords);
    };
    let sym = parse_symbol(sym)?;
    let hook = core::str::from_utf8(hook).map_err(|_| InputError::BadHook)?;
    Ok((sym, parse_hook(hook)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn install_requests() {
        assert_eq!(parse_install(b"vfs_statfs count\n"), Ok(("vfs_statfs", HookSpec::Count)));
        assert_eq!(parse_install(b"f fail=-22"), Ok(("f", HookSpec::Fail(-22))));
        assert_eq!(parse_install(b"f fail"), Ok(("f", HookSpec::Fail(-1))));
        assert_eq!(parse_install(b"f\tmy_hook_2"), Ok(("f", HookSpec::Named("my_hook_2"))));
        assert_eq!(parse_install(b"f"), Err(InputError::NotTwoWords));
        assert_eq!(parse_install(b"f count extra"), Err(InputError::NotTwoWords));
        assert_eq!(parse_install(b""), Err(InputError::Empty));
        assert_eq!(parse_install(b"f fail=x"), Err(InputError::BadHook));
        assert_eq!(parse_install(b"f fail=99999999999999999999"), Err(InputError::BadHook));
        assert_eq!(parse_install(b"f bad-name"), Err(InputError::BadHook));
        assert_eq!(parse_install(b"f \xff"), Err(InputError::BadHook));
        assert_eq!(parse_install(b"f\x00 count"), Err(InputError::BadByte { offset: 1 }));
        assert_eq!(parse_install(&[b'a'; 4096]), Err(InputError::TooLong));
    }

    #[test]
    fn accepts_names_with_or_without_newline() {
        assert_eq!(parse_symbol(b"vfs_statfs\n"), Ok("vfs_statfs"));
        assert_eq!(parse_symbol(b"vfs_statfs"), Ok("vfs_statfs"));
        assert_eq!(parse_symbol(b"__x64_sys_statfs.cold"), Ok("__x64_sys_statfs.cold"));
    }

    #[test]
    fn refuses_empty_long_and_bad_bytes() {
        assert_eq!(parse_symbol(b""), Err(InputError::Empty));
        assert_eq!(parse_symbol(b"\n"), Err(InputError::Empty));
        assert_eq!(parse_symbol(&[b'a'; 4096]), Err(InputError::TooLong));
        assert_eq!(parse_symbol(b"vfs\0statfs"), Err(InputError::BadByte { offset: 3 }));
        assert_eq!(parse_symbol(b"vfs statfs"), Err(InputError::BadByte { offset: 3 }));
        assert_eq!(parse_symbol(b"a\n\n"), Err(InputError::BadByte { offset: 1 }));
        assert_eq!(parse_symbol(b"\xff\xfe"), Err(InputError::BadByte { offset: 0 }));
    }
}

/// Boundaries and messages the tests above leave out (found by cargo
/// mutants): the longest name and line accepted, and every error's text.
#[cfg(test)]
mod limits {
    use super::*;
    use alloc::format;
    use alloc::vec;

    #[test]
    fn the_longest_symbol_is_accepted_one_more_byte_is_not() {
        let name = vec![b'a'; SYMBOL_MAX];
        assert!(parse_symbol(&name).is_ok());
        let longer = vec![b'a'; SYMBOL_MAX + 1];
        assert_eq!(parse_symbol(&longer), Err(InputError::TooLong));
    }

    #[test]
    fn an_install_line_at_the_length_limit_is_parsed_one_byte_more_is_too_long() {
        // SYMBOL_MAX + 1 + 32 bytes: a name, a space, and a 32-byte hook
        // (one byte past a hook name's limit, so the hook is what is wrong).
        let mut line = vec![b'f'; SYMBOL_MAX];
        line.push(b' ');
        line.extend_from_slice(&[b'h'; 32]);
        assert_eq!(parse_install(&line), Err(InputError::BadHook));
        line.push(b'h');
        assert_eq!(parse_install(&line), Err(InputError::TooLong));
    }

    #[test]
    fn every_error_says_what_is_wrong() {
        for (e, words) in [
            (InputError::Empty, "empty"),
            (InputError::TooLong, "longer than 511"),
            (InputError::BadByte { offset: 3 }, "offset 3"),
            (InputError::NotTwoWords, "SYMBOL HOOK"),
            (InputError::BadHook, "fail=<signed decimal>"),
        ] {
            assert!(format!("{e}").contains(words), "{e:?} says {e}");
        }
    }
}
