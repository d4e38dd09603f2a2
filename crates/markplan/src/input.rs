//! Parsing what users write to markpatch's sysfs files.

use core::fmt;

/// The longest kallsyms name (KSYM_NAME_LEN in 6.12, less its NUL).
pub const SYMBOL_MAX: usize = 511;

/// Why a write was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputError {
    Empty,
    TooLong,
    /// A byte that cannot be in a symbol name (NUL, space, control, non-ASCII).
    BadByte { offset: usize },
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InputError::Empty => f.write_str("empty symbol name"),
            InputError::TooLong => write!(f, "symbol name longer than {SYMBOL_MAX} bytes"),
            InputError::BadByte { offset } => write!(f, "invalid byte at offset {offset} of symbol name"),
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

#[cfg(test)]
mod tests {
    use super::*;

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
