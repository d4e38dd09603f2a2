//! Function preambles under kCFI (clang's `-fsanitize=kcfi`,
//! `CONFIG_CFI_CLANG`). Every indirect call checks a 32-bit hash of the
//! callee's type, stored just before the callee; code markpatch writes and
//! that kernel code calls indirectly (a filter hook calling the
//! pseudo-original, the thunks the module calls kernel functions through)
//! must carry the preamble of a compiled function of the type it is called
//! as. The module copies that function's [`PREAMBLE_LEN`] bytes; this
//! module says what they are (docs/design.md, "kCFI").

/// The bytes before a function that hold its preamble: with the kernel's
/// function padding (`CALL_PADDING`), `movl $hash, %eax` then 11 NOPs;
/// without it, 11 bytes of alignment then the `movl`. Under FineIBT the
/// kernel rewrites them at boot (and at module load) into
/// `endbr64; subl $hash, %r10d; jz 1f; ud2; 1: nop`, which callers enter.
pub const PREAMBLE_LEN: usize = 16;

const MOVL_EAX: u8 = 0xb8;
const SUBL_R10D: [u8; 3] = [0x41, 0x81, 0xea];

/// What the [`PREAMBLE_LEN`] bytes before a function are.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum Preamble {
    /// kCFI: callers check `hash` at the function's address - `offset`.
    Kcfi { hash: u32, offset: usize },
    /// FineIBT: callers set r10d to `hash` and call the address - 16.
    FineIbt { hash: u32 },
    /// Neither.
    Unknown,
}

fn imm32(b: &[u8]) -> u32 {
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

/// What `b`, the bytes just before a function, hold.
pub fn classify(b: &[u8; PREAMBLE_LEN]) -> Preamble {
    if b[..4] == crate::plan::ENDBR64 && b[4..7] == SUBL_R10D {
        return Preamble::FineIbt { hash: imm32(&b[7..11]) };
    }
    // The hash is at -15 with padding (the movl first), at -4 without.
    for at in [0, PREAMBLE_LEN - 5] {
        if b[at] == MOVL_EAX {
            return Preamble::Kcfi { hash: imm32(&b[at + 1..at + 5]), offset: PREAMBLE_LEN - at - 1 };
        }
    }
    Preamble::Unknown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padded_kcfi_preamble_has_its_hash_at_minus_15() {
        // __cfi_vfs_statfs on a CALL_PADDING kernel: movl then 11 NOPs.
        let mut b = [0x90u8; PREAMBLE_LEN];
        b[..5].copy_from_slice(&[0xb8, 0x78, 0x56, 0x34, 0x12]);
        assert_eq!(classify(&b), Preamble::Kcfi { hash: 0x1234_5678, offset: 15 });
    }

    #[test]
    fn unpadded_kcfi_preamble_has_its_hash_at_minus_4() {
        let mut b = [0xccu8; PREAMBLE_LEN];
        b[11..].copy_from_slice(&[0xb8, 0xef, 0xbe, 0xad, 0xde]);
        assert_eq!(classify(&b), Preamble::Kcfi { hash: 0xdead_beef, offset: 4 });
    }

    #[test]
    fn fineibt_preamble_is_told_apart() {
        // endbr64; subl $0x11223344,%r10d; jz 1f; ud2; 1: nop
        let b = [0xf3, 0x0f, 0x1e, 0xfa, 0x41, 0x81, 0xea, 0x44, 0x33, 0x22, 0x11, 0x74, 0x03, 0x0f, 0x0b, 0x90];
        assert_eq!(classify(&b), Preamble::FineIbt { hash: 0x1122_3344 });
    }

    #[test]
    fn padding_alone_is_no_preamble() {
        assert_eq!(classify(&[0x90; PREAMBLE_LEN]), Preamble::Unknown);
        assert_eq!(classify(&[0xcc; PREAMBLE_LEN]), Preamble::Unknown);
    }
}
