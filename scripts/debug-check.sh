#!/usr/bin/env bash
# make debug-check: the in-guest tests and a short torture on the debug
# kernel (kernel/debug.config: lockdep with PROVE_LOCKING and PROVE_RCU,
# DEBUG_ATOMIC_SLEEP, DEBUG_PREEMPT, DEBUG_LIST, KASAN), where any lockdep,
# sleep-in-atomic or KASAN report fails the run through the console scan.
# The modules are built from a copy of the tree (build/debug-src), so the
# test kernel's build in the tree is left alone. Prints "N passed, M failed".
set -uo pipefail
. "$(dirname "$0")/lib.sh"
cd "$MARKPATCH_ROOT"
out=build/debug-check
src=build/debug-src
rm -rf "$out"; mkdir -p "$out"
make --no-print-directory setup || exit 1
scripts/build-kernel.sh debug || exit 1
kdir=$(scripts/kernel-dir.sh debug)
mkdir -p "$src"
git ls-files -z | grep -zv '^build/' | xargs -0 cp --parents -t "$src"
if ! { make --no-print-directory -C "$src" KDIR="$kdir" module \
	&& make --no-print-directory -C "$src/tests/targets" KDIR="$kdir" modules; } > "$out/build.log" 2>&1; then
	tail -30 "$out/build.log"; die "build against the debug kernel failed ($out/build.log)"
fi
passed=0 failed=0
boot() { # NAME CASES TCG-THREAD APPEND
	MARKPATCH_CASES=$2 qemu/mkinitramfs.sh "$kdir" "$out/$1.cpio.gz" "$src/markpatch.ko" \
		"$src/tests/targets/markpatch_targets.ko" > "$out/$1-initramfs.log" 2>&1 || { cat "$out/$1-initramfs.log"; exit 1; }
	local start rc
	start=$(date +%s)
	MARKPATCH_TCG_THREAD=$3 MARKPATCH_TIMEOUT=5400 MARKPATCH_APPEND=$4 \
		qemu/run.sh "$kdir/arch/x86/boot/bzImage" "$out/$1.cpio.gz" "$out/$1" tests
	rc=$?
	echo "$1: ran in $(( $(date +%s) - start ))s (console: $out/$1/console.log)"
	expected_cases $2 > "$out/$1-expected.txt"
	scripts/ktap-summary.sh "$out/$1/ktap.log" "debug-$1" "$out/$1-expected.txt" > "$out/$1-summary.txt"
	sed '$d' "$out/$1-summary.txt"
	read -r p _ f _ < <(tail -1 "$out/$1-summary.txt")
	passed=$((passed + p)) failed=$((failed + f))
	case $rc in
	0) passed=$((passed + 1)); echo "ok: debug-$1: no lockdep, KASAN, BUG or WARNING report" ;;
	2) failed=$((failed + 1)); echo "FAILED: debug-$1: did not finish" ;;
	*) failed=$((failed + 1)); echo "FAILED: debug-$1: kernel reports in the console:"
	   grep -E 'BUG|WARNING|KASAN|lockdep|Oops' "$out/$1/console.log" | head -10 ;;
	esac
}
# KASAN and lockdep make everything slower: each case gets 4 times its limit.
boot guest cases multi "mp_timeout_scale=4"
boot torture torture single "mp_timeout_scale=4 mp_torture_cycles=${DEBUG_TORTURE_CYCLES:-100} mp_torture_reload=50"
echo
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
