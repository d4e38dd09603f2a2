#!/usr/bin/env bash
# make bench: one guest boot (4 vCPUs, single-threaded TCG, where the atomic
# window writes are atomic against instruction fetch) running
# qemu/guest/bench/50-bench.sh: the per-call cost of markpatch's hooks, an
# ftrace callback and kprobes on the same functions, install and revert
# costs against stop_machine(), and the per-call cost with 100 patches
# installed; then qemu/guest/bench/51-quota-throughput.sh, the quota hooks'
# cost to writers. Prints the tables and "N passed, M failed"; writes the figures
# as results/bench-<time>.csv and a plot results/bench-<time>.svg (results/
# is not committed). BENCH_ROUNDS (default 15) rounds per per-call figure,
# BENCH_QUOTA_ROUNDS (default 9) rounds per quota throughput figure.
# BENCH_ICOUNT=1 boots with QEMU's instruction counting (-icount
# shift=0,sleep=off): the guest's clock then advances one nanosecond per
# instruction executed, so every figure is a count of instructions, the same
# from run to run whatever else the host runs (block I/O completions still
# vary); without it, figures are emulated wall time.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
cd "$MARKPATCH_ROOT"
out=build/bench
mkdir -p "$out" results
make --no-print-directory module > "$out/build.log" 2>&1 \
	&& make --no-print-directory -C tests/targets modules >> "$out/build.log" 2>&1 \
	|| { tail -30 "$out/build.log"; die "build failed ($out/build.log)"; }
kdir=$(scripts/kernel-dir.sh "${BENCH_KERNEL:-test}")
MARKPATCH_CASES=bench qemu/mkinitramfs.sh "$kdir" "$out/initramfs.cpio.gz" markpatch.ko \
	tests/targets/markpatch_targets.ko tests/targets/markpatch_bench.ko > "$out/initramfs.log" 2>&1 \
	|| { cat "$out/initramfs.log"; exit 1; }
note "bench: one guest boot (about 13 minutes under TCG)"
start=$(date +%s)
extra=${MARKPATCH_QEMU_EXTRA:-}
[ "${BENCH_ICOUNT:-0}" = 1 ] && extra="$extra -icount shift=0,sleep=off"
MARKPATCH_TCG_THREAD=single MARKPATCH_TIMEOUT=${MARKPATCH_TIMEOUT:-3600} MARKPATCH_QEMU_EXTRA=$extra \
	MARKPATCH_APPEND="mp_bench_rounds=${BENCH_ROUNDS:-15} mp_bench_quota_rounds=${BENCH_QUOTA_ROUNDS:-9}" \
	qemu/run.sh "$kdir/arch/x86/boot/bzImage" "$out/initramfs.cpio.gz" "$out" tests
rc=$?
log=$(mktemp)
tr -d '\r' < "$out/ktap.log" | sed -n 's/^# //p' | grep -v '^pass: ' > "$log"
grep -v '^csv: ' "$log" | sed -n '/^== /,$p'
stamp=$(date +%Y%m%d-%H%M%S)
csv=results/bench-$stamp.csv
sed -n 's/^csv: //p' "$log" > "$csv"
rm -f "$log"
echo "bench: $(( $(date +%s) - start )) s wall; figures in $csv"
if [ "$(grep -c . "$csv")" -gt 1 ]; then
	# Debian's python3, which has python3-matplotlib (make setup installs it)
	/usr/bin/python3 scripts/bench-plot.py "$csv" "results/bench-$stamp.svg" && echo "plot: results/bench-$stamp.svg"
fi
boot_result bench "$out" $rc
