#!/usr/bin/env bash
# make torture: one guest boot (4 vCPUs, single-threaded TCG, where the
# atomic window writes are atomic against instruction fetch) running
# qemu/guest/torture/30-torture.sh: TORTURE_CYCLES install/revert cycles
# (default 10000) under kernel and user-space load, markpatch reloaded every
# TORTURE_RELOAD cycles (default 250). Prints the figures and
# "N passed, M failed"; fails on any wrong result, failed operation, or
# oops/WARN in the console log. Logs in build/torture/.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
cd "$MARKPATCH_ROOT"
out=build/torture
mkdir -p "$out"
cycles=${TORTURE_CYCLES:-10000}
reload=${TORTURE_RELOAD:-250}
make --no-print-directory module > "$out/build.log" 2>&1 \
	&& make --no-print-directory -C tests/targets modules >> "$out/build.log" 2>&1 \
	|| { tail -30 "$out/build.log"; die "build failed ($out/build.log)"; }
kdir=$(scripts/kernel-dir.sh "${TORTURE_KERNEL:-test}")
MARKPATCH_CASES=torture qemu/mkinitramfs.sh "$kdir" "$out/initramfs.cpio.gz" markpatch.ko \
	tests/targets/markpatch_targets.ko > "$out/initramfs.log" 2>&1 || { cat "$out/initramfs.log"; exit 1; }
note "torture: $cycles cycles, reload every $reload (under TCG about 1 s per cycle)"
start=$(date +%s)
MARKPATCH_TCG_THREAD=single MARKPATCH_TIMEOUT=$((600 + cycles * 6)) \
	MARKPATCH_APPEND="mp_torture_cycles=$cycles mp_torture_reload=$reload" \
	qemu/run.sh "$kdir/arch/x86/boot/bzImage" "$out/initramfs.cpio.gz" "$out" tests
rc=$?
tr -d '\r' < "$out/ktap.log" | sed -n 's/^# \(torture .*\)/\1/p'
echo "torture: $(( $(date +%s) - start )) s wall (console: $out/console.log)"
boot_result torture "$out" $rc
