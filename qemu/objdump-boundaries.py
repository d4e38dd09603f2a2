#!/usr/bin/env python3
"""Prints "OFFSET LENGTH" for the first MAX instructions of SYMBOL in
`objdump -d` output read from stdin (objdump run with --insn-width=16, so
that every instruction is on one line)."""
import re
import sys

symbol, limit = sys.argv[1], int(sys.argv[2])
start = None
count = 0
for line in sys.stdin:
    m = re.match(r"^([0-9a-f]+) <(.+)>:$", line)
    if m:
        start = int(m.group(1), 16) if m.group(2) == symbol else None
        continue
    m = re.match(r"^\s*([0-9a-f]+):\t([0-9a-f ]+)\t", line)
    # Read on to the end even past the limit: objdump must not get SIGPIPE.
    if start is not None and m and count < limit:
        print(int(m.group(1), 16) - start, len(m.group(2).split()))
        count += 1
sys.exit(0 if count else 1)
