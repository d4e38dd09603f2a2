#!/usr/bin/env bash
# Stages the in-guest tests into DEST: the runner, the cases, helpers, and
# data made on the host from the test kernel's vmlinux. Used for the
# initramfs (DEST=/tests in the guest) and for virtme-ng.
# Usage: stage-tests.sh KDIR DEST
set -euo pipefail
. "$(dirname "$0")/../scripts/lib.sh"
kdir=$1 dest=$2
guest=$MARKPATCH_ROOT/qemu/guest
mkdir -p "$dest/bin" "$dest/data/objdump"
cp "$guest/run-tests" "$guest/lib.sh" "$dest/"
# MARKPATCH_CASES names the folders of qemu/guest/ (or single case files
# under it) whose *.sh become the
# guest's cases (default: cases; scripts/check.sh boots "stress" separately).
rm -rf "$dest/cases"; mkdir -p "$dest/cases"
for dir in ${MARKPATCH_CASES:-cases}; do
	if [ -f "$guest/$dir" ]; then
		cp "$guest/$dir" "$dest/cases/" # one case, e.g. cases/29-coverage.sh
	else
		cp "$guest/$dir"/*.sh "$dest/cases/"
	fi
done
gcc -static -O2 -Wall -o "$dest/bin/mpwrite" "$guest/tools/mpwrite.c"
gcc -static -O2 -Wall -o "$dest/bin/fileops" "$guest/tools/fileops.c"
gcc -static -O2 -Wall -o "$dest/bin/memtotal" "$guest/tools/memtotal.c"
gcc -static -O2 -Wall -o "$dest/bin/asuid" "$guest/tools/asuid.c"
gcc -static -O2 -Wall -o "$dest/bin/qctl" "$guest/tools/qctl.c"
gcc -static -O2 -Wall -o "$dest/bin/mixload" "$guest/tools/mixload.c"
gcc -static -O2 -Wall -o "$dest/bin/writers" "$guest/tools/writers.c"
echo "${MARKPATCH_SMP:-4}" > "$dest/data/expected-cpus"

# objdump's view of the first instructions of a few functions, as "OFF LEN"
# lines, for the in-guest decode cross-check. Functions whose first
# instructions hold boot-time alternatives would differ at run time, so
# these are plain C functions.
for sym in vfs_statfs vfs_read vfs_write do_sys_openat2 kernel_clone filp_close; do
	objdump -d --insn-width=16 --disassemble="$sym" "$kdir/vmlinux" \
		| "$MARKPATCH_ROOT/qemu/objdump-boundaries.py" "$sym" 12 > "$dest/data/objdump/$sym" \
		|| die "objdump found no $sym in $kdir/vmlinux"
done
