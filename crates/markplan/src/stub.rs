//! A patch's stub: where IM's `jmp` lands. It pushes the patch's index in the
//! patch table and jumps to the common resolver entry (all registers are
//! still the caller's: nothing may be clobbered here).

use alloc::vec::Vec;

use crate::marks::{rel32, INT3};

/// `push $imm32` (sign-extended) + `jmp rel32`.
pub const STUB_LEN: usize = 10;

/// Where the pseudo-original starts in a patch's arena slot: the stub,
/// int3 padding, P's kCFI preamble ([`crate::kcfi::PREAMBLE_LEN`] bytes:
/// a filter hook calls P indirectly), then P, 16-byte aligned like a
/// function.
pub const SLOT_P_OFFSET: u64 = 32;
const PREAMBLE_AT: usize = SLOT_P_OFFSET as usize - crate::kcfi::PREAMBLE_LEN;
const _: () = assert!(STUB_LEN <= PREAMBLE_AT);

/// The bytes of a patch's arena slot: `stub`, int3 up to P's `preamble`,
/// then the pseudo-original `p` at [`SLOT_P_OFFSET`]. None when out of
/// memory.
pub fn slot_bytes(stub: &[u8; STUB_LEN], preamble: &[u8; crate::kcfi::PREAMBLE_LEN], p: &[u8]) -> Option<Vec<u8>> {
    let mut b = Vec::new();
    b.try_reserve_exact(SLOT_P_OFFSET as usize + p.len()).ok()?;
    b.extend_from_slice(stub);
    b.resize(PREAMBLE_AT, INT3);
    b.extend_from_slice(preamble);
    b.extend_from_slice(p);
    Some(b)
}

/// The stub's bytes at `stub_addr`: `push $index; jmp resolver_entry`.
/// None when the index does not fit a positive imm32 or the entry is out of
/// rel32 range.
pub fn stub_bytes(stub_addr: u64, index: u32, resolver_entry: u64) -> Option<[u8; STUB_LEN]> {
    let index = i32::try_from(index).ok()?;
    let rel = rel32(stub_addr.wrapping_add(STUB_LEN as u64), resolver_entry)?;
    let mut b = [0u8; STUB_LEN];
    b[0] = 0x68;
    b[1..5].copy_from_slice(&index.to_le_bytes());
    b[5] = 0xe9;
    b[6..10].copy_from_slice(&rel.to_le_bytes());
    Some(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::{decode_insns, format_gas};

    #[test]
    fn stub_pushes_index_and_jumps_to_entry() {
        let at = 0xffff_ffff_c000_1000;
        let entry = 0xffff_ffff_c000_0040;
        let b = stub_bytes(at, 7, entry).unwrap();
        let insns = decode_insns(&b, at, 2).unwrap();
        assert_eq!(format_gas(&insns[0].insn), "push $7");
        assert_eq!(insns[1].insn.near_branch_target(), entry);
        assert!(stub_bytes(at, 7, at.wrapping_sub(1 << 32)).is_none());
        assert!(stub_bytes(at, u32::MAX, entry).is_none());
    }

    #[test]
    fn slot_holds_stub_padding_preamble_then_p() {
        let stub = stub_bytes(0x1000, 3, 0x2000).unwrap();
        let mut preamble = [0x90; crate::kcfi::PREAMBLE_LEN];
        preamble[..5].copy_from_slice(&[0xb8, 1, 2, 3, 4]);
        let b = slot_bytes(&stub, &preamble, &[0x90, 0xc3]).unwrap();
        assert_eq!(&b[..STUB_LEN], &stub);
        assert!(b[STUB_LEN..PREAMBLE_AT].iter().all(|&x| x == INT3));
        // P's preamble ends where P starts: a kCFI caller of P finds its hash at P - 15.
        let p = SLOT_P_OFFSET as usize;
        let pre: &[u8; crate::kcfi::PREAMBLE_LEN] = b[p - crate::kcfi::PREAMBLE_LEN..p].try_into().unwrap();
        assert_eq!(crate::kcfi::classify(pre), crate::kcfi::Preamble::Kcfi { hash: 0x0403_0201, offset: 15 });
        assert_eq!(&b[p..], &[0x90, 0xc3]);
    }
}
