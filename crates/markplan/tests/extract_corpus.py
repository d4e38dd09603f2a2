#!/usr/bin/env python3
"""Extract a corpus of real kernel functions from a vmlinux for markplan's tests.

Regenerate the committed corpus (after building the test kernel, `make kernel`):

    crates/markplan/tests/extract_corpus.py \\
        ~/.cache/markpatch/linux-6.12.117-1~deb12u1-test-eac1798a1caf/vmlinux \\
        crates/markplan/tests/data/corpus.bin

Then run `cargo test --test corpus -- --nocapture` for the figures.

What goes in: a deterministic sample of the functions in .text (every symbol of
type t/T with a size, not a __pfx_ call-padding symbol, whose name's CRC32 is
0 mod SAMPLE_MOD, plus the functions in ALWAYS). For each: its address, its bytes
up to the next symbol (what kallsyms reports as its size, so alignment padding
is included, as it is for the kernel side), whether it has an fentry site
(its address or address+4 is in __mcount_loc) and the offsets of its
instructions that have an exception-table entry (__ex_table).

Format (little-endian):
    b"MPCORP1\\n", u32 count, then per function:
    u64 addr, u32 nm_size, u32 byte_count, u8 flags (bit 0: fentry site),
    u16 name_len, name, u16 fixup_count, u32 fixup offsets..., bytes.
"""

import struct
import subprocess
import sys
import zlib

SAMPLE_MOD = 9
ALWAYS = {"vfs_statfs", "user_statfs", "fd_statfs", "do_statfs_native", "statfs_by_dentry"}
# A function larger than this keeps only its first MAX_BYTES: the corpus test
# then treats it as the whole function (none in the sample is that large today).
MAX_BYTES = 65536


def sections(elf):
    """name -> (addr, offset, size) from the ELF64 section headers."""
    (shoff,) = struct.unpack_from("<Q", elf, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", elf, 0x3A)
    hdrs = []
    for i in range(shnum):
        name, _typ, _flags, addr, off, size = struct.unpack_from("<IIQQQQ", elf, shoff + i * shentsize)
        hdrs.append((name, addr, off, size))
    strtab_off = hdrs[shstrndx][2]
    out = {}
    for name, addr, off, size in hdrs:
        end = elf.index(b"\0", strtab_off + name)
        out[elf[strtab_off + name:end].decode()] = (addr, off, size)
    return out


def read_va(elf, secs, name, va, n):
    addr, off, size = secs[name]
    assert addr <= va and va + n <= addr + size, (name, hex(va), n)
    return elf[off + va - addr: off + va - addr + n]


def main():
    vmlinux, out_path = sys.argv[1], sys.argv[2]
    elf = open(vmlinux, "rb").read()
    secs = sections(elf)
    nm = subprocess.run(["nm", "-S", "--defined-only", vmlinux], check=True, capture_output=True, text=True).stdout

    syms = {}
    all_addrs = set()
    for line in nm.splitlines():
        parts = line.split()
        if len(parts) == 4:
            addr, size, typ, name = int(parts[0], 16), int(parts[1], 16), parts[2], parts[3]
        elif len(parts) == 3:
            addr, size, typ, name = int(parts[0], 16), 0, parts[1], parts[2]
        else:
            continue
        syms[name] = addr if name not in syms else syms[name]
        if typ in "tT":
            all_addrs.add(addr)
        if typ in "tT" and size > 0 and not name.startswith("__pfx_"):
            syms.setdefault(("fn", addr), (name, size))

    stext, etext = syms["_stext"], syms["_etext"]
    starts = sorted(a for a in all_addrs if stext <= a < etext) + [etext]
    next_start = {a: b for a, b in zip(starts, starts[1:])}

    # __mcount_loc: absolute addresses of the fentry sites.
    m0, m1 = syms["__start_mcount_loc"], syms["__stop_mcount_loc"]
    mc = read_va(elf, secs, ".init.data", m0, m1 - m0)
    mcount = set(struct.unpack_from("<%dQ" % ((m1 - m0) // 8), mc))

    # __ex_table: {int insn, int fixup, int data}, insn relative to its field.
    e0, e1 = syms["__start___ex_table"], syms["__stop___ex_table"]
    ex = read_va(elf, secs, "__ex_table", e0, e1 - e0)
    fixups = set()
    for i in range(0, len(ex), 12):
        (insn,) = struct.unpack_from("<i", ex, i)
        fixups.add((e0 + i + insn) & 0xFFFFFFFFFFFFFFFF)

    funcs = []
    for key, val in syms.items():
        if not (isinstance(key, tuple) and key[0] == "fn"):
            continue
        addr = key[1]
        name, size = val
        if not (stext <= addr < etext):
            continue
        if name not in ALWAYS and zlib.crc32(name.encode()) % SAMPLE_MOD != 0:
            continue
        end = next_start.get(addr, addr + size)
        end = max(end, addr + size)
        n = min(end - addr, MAX_BYTES)
        code = read_va(elf, secs, ".text", addr, n)
        fentry = addr in mcount or addr + 4 in mcount
        fix = sorted(a - addr for a in fixups if addr <= a < addr + n)
        funcs.append((addr, size, code, fentry, name, fix))
    funcs.sort()

    with open(out_path, "wb") as f:
        f.write(b"MPCORP1\n")
        f.write(struct.pack("<I", len(funcs)))
        for addr, size, code, fentry, name, fix in funcs:
            nb = name.encode()
            f.write(struct.pack("<QIIBH", addr, size, len(code), 1 if fentry else 0, len(nb)))
            f.write(nb)
            f.write(struct.pack("<H", len(fix)))
            f.write(struct.pack("<%dI" % len(fix), *fix))
            f.write(code)
    total = sum(len(c) for _, _, c, _, _, _ in funcs)
    print(f"{len(funcs)} functions, {total} code bytes, fentry sites: {sum(1 for x in funcs if x[3])}, "
          f"with fixups: {sum(1 for x in funcs if x[5])}; {len(mcount)} mcount sites, {len(fixups)} ex_table entries")


if __name__ == "__main__":
    main()
