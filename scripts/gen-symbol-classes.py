#!/usr/bin/env python3
"""Writes the Rust table of the kernel functions that are not C functions,
from the kernel build tree markpatch is built against (docs/design.md,
"What markpatch may not patch"). Two classes, each found by a rule:

- assembly: functions written in assembly: those of objects assembled
  from a .S source (as the object's .cmd file says); those a C file
  defines in top-level inline assembly (a `.type NAME, @function`
  directive in the C source, or DEFINE_ASM_FUNC(NAME, ...), which emits
  one), when the object has NAME as a function; and the paravirt
  callee-save thunks (the names PV_THUNK_NAME() gives them, its prefix
  read from the kernel's own header), which C files define through a
  macro of their own. They are called with register contracts of their own (inline
  asm with narrow clobber lists: clear_page_erms, __get_user_8), so a hook
  that is a C function may not stand in for them: they take `count` only.
- jump-entered: code that is entered by a jump, not a call: text symbols
  that are not typed as functions (SYM_CODE_START and SYM_INNER_LABEL in
  assembly emit no .type) and compiler-split `.cold` fragments. No word on
  their stack is a return address, so no hook at all may run for them.

Each entry is an offset from _stext (the kernel is relocated as a whole);
the module checks at load, on every name that is unique, that the running
kernel has the same offsets (it is the kernel built from this tree).

Usage: gen-symbol-classes.py KERNEL-BUILD-DIR OUT.rs
"""
import os
import re
import subprocess
import sys

kdir, out = sys.argv[1], sys.argv[2]
vmlinux = os.path.join(kdir, "vmlinux")


def readelf_symbols(path):
    """(name, value, size, type, section index) of every defined symbol."""
    text = subprocess.check_output(["readelf", "-sW", path], text=True)
    syms = []
    for line in text.splitlines():
        f = line.split()
        if len(f) < 8 or not f[0].endswith(":") or f[6] in ("UND", "ABS", "Ndx"):
            continue
        try:
            value = int(f[1], 16)
            size = int(f[2], 0)
            ndx = int(f[6])
        except ValueError:
            continue
        syms.append((f[7], value, size, f[3], ndx))
    return syms


def executable_sections(path):
    """Indexes of the sections that hold code (flag X)."""
    text = subprocess.check_output(["readelf", "-SW", path], text=True)
    out = set()
    for line in text.splitlines():
        m = re.match(r"\s*\[\s*(\d+)\]\s+(\S+)\s+\S+\s+[0-9a-f]+\s+[0-9a-f]+\s+[0-9a-f]+\s+[0-9a-f]+\s+(\S*)", line)
        if m and "X" in m.group(3):
            out.add(int(m.group(1)))
    return out


def built_objects():
    """(object, source) of every object of the tree whose .cmd file names
    its source."""
    objs = []
    for root, dirs, files in os.walk(kdir):
        dirs[:] = [d for d in dirs if d not in (".git", "Documentation", "tools", "scripts")]
        for name in files:
            if not (name.startswith(".") and name.endswith(".o.cmd")):
                continue
            with open(os.path.join(root, name), errors="replace") as f:
                for line in f:
                    if line.startswith("source_") and ":=" in line:
                        src = line.split(":=", 1)[1].strip()
                        objs.append((os.path.join(root, name[1:-4]), os.path.join(kdir, src)))
                        break
    return objs


# A function defined in a C file's top-level asm: the directive that types
# it, written out or through DEFINE_ASM_FUNC (arch/x86/include/asm/alternative.h).
TOP_LEVEL_ASM = re.compile(r'\.type\s+(\w+)\s*,\s*@function|\bDEFINE_ASM_FUNC\(\s*(\w+)\s*,')


def top_level_asm_functions(source):
    """Names that the C file `source` defines in top-level inline assembly."""
    try:
        with open(source, errors="replace") as f:
            text = f.read()
    except OSError:
        return set()
    return {a or b for a, b in TOP_LEVEL_ASM.findall(text)}


def pv_thunk_prefix():
    """The prefix PV_THUNK_NAME() puts on the callee-save thunks, if any."""
    path = os.path.join(kdir, "arch/x86/include/asm/paravirt.h")
    try:
        with open(path) as f:
            text = f.read()
    except OSError:
        return None
    m = re.search(r'#define\s+PV_THUNK_NAME\(func\)\s+"([A-Za-z_]+)"\s*#func', text)
    if not m and "PV_THUNK_NAME" in text:
        sys.exit("gen-symbol-classes: PV_THUNK_NAME in %s has a form this script does not know" % path)
    return m.group(1) if m else None


syms = readelf_symbols(vmlinux)
xsec = executable_sections(vmlinux)
stext = next(v for n, v, _, _, _ in syms if n == "_stext")
# Assembler-local labels (.L*: clang leaves some in the symbol table, e.g.
# for kCFI's trap sites) are neither entry points nor in kallsyms.
text_syms = [s for s in syms if s[4] in xsec and not s[0].startswith(".L")]
func_addrs = {v for n, v, _, t, _ in text_syms if t == "FUNC" and ".cold" not in n}
by_name = {}
for n, v, _, _, _ in text_syms:
    by_name.setdefault(n, set()).add(v)

asm = set()
from_c = set()
for obj, src in built_objects():
    if not os.path.exists(obj):
        continue
    if src.endswith(".S"):
        wanted = None
    elif src.endswith(".c"):
        wanted = top_level_asm_functions(src)
        if not wanted:
            continue
    else:
        continue
    oxsec = executable_sections(obj)
    for n, _, _, t, ndx in readelf_symbols(obj):
        if t == "FUNC" and ndx in oxsec and (wanted is None or n in wanted):
            addrs = {v for v in by_name.get(n, ()) if v in func_addrs}
            asm |= addrs
            if wanted is not None:
                from_c |= addrs
prefix = pv_thunk_prefix()
if prefix:
    asm |= {v for n, v, _, t, _ in text_syms if t == "FUNC" and n.startswith(prefix)}

jump = set()
for n, v, _, t, _ in text_syms:
    if ".cold" in n or (t == "NOTYPE" and v not in func_addrs):
        jump.add(v)
jump -= {stext}

unique = {next(iter(vs)): n for n, vs in by_name.items() if len(vs) == 1}
check = sorted((v - stext, unique[v]) for v in (asm | jump) if v in unique and v >= stext)


def offsets(addrs):
    return sorted(v - stext for v in addrs if v >= stext)


with open(out, "w") as f:
    f.write("// Generated by scripts/gen-symbol-classes.py from the kernel build tree: do not edit.\n")
    f.write("/// Offsets from _stext of functions written in assembly.\n")
    f.write("pub(crate) static ASSEMBLY: &[u32] = &[%s];\n" % ", ".join(map(str, offsets(asm))))
    f.write("/// Offsets from _stext of code entered by a jump, not a call.\n")
    f.write("pub(crate) static JUMP_ENTERED: &[u32] = &[%s];\n" % ", ".join(map(str, offsets(jump))))
    f.write("/// (offset, name) of the entries above whose name is unique, checked at load.\n")
    f.write("pub(crate) static CHECK: &[(u32, &kernel::str::CStr)] = &[\n")
    for off, name in check:
        f.write('    (%d, kernel::c_str!("%s")),\n' % (off, name))
    f.write("];\n")
print("gen-symbol-classes: %d assembly (%d of them in C files' top-level asm), %d jump-entered, %d checked"
      % (len(asm), len(from_c), len(jump), len(check)))
