#!/usr/bin/env bash
# make check: every test. Host cargo tests, then the in-guest KTAP tests in a
# QEMU boot of the test kernel (4 vCPUs). Prints one summary that ends with
# "N passed, M failed" and exits non-zero on any failure.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
cd "$MARKPATCH_ROOT"
out=build/check
rm -rf "$out"; mkdir -p "$out"
passed=0 failed=0
pass() { passed=$((passed + 1)); echo "ok: $*"; }
fail() { failed=$((failed + 1)); echo "FAILED: $*"; }
summary() { echo; echo "$passed passed, $failed failed"; [ "$failed" = 0 ]; exit $?; }

start=$(date +%s)
if ! make --no-print-directory module > "$out/build.log" 2>&1; then
	tail -40 "$out/build.log"
	fail "build (setup, kernel, module): see $out/build.log"
	summary
fi
# The test-target module (tests/targets) links against markpatch.ko's exports.
if ! make --no-print-directory -C tests/targets modules >> "$out/build.log" 2>&1; then
	tail -40 "$out/build.log"
	fail "build of the test-target module: see $out/build.log"
	summary
fi
echo "build: done in $(( $(date +%s) - start ))s (log: $out/build.log)"

# Host tests: cargo's own counts, within 20 minutes.
timeout 1200 cargo test --workspace --locked > "$out/cargo.log" 2>&1
cargo_rc=$?
[ "$cargo_rc" = 124 ] && fail "cargo test did not finish within 20 minutes"
read -r cp cf < <(awk '/^test result:/ { p += $4; f += $6 } END { print p + 0, f + 0 }' "$out/cargo.log")
echo "cargo test: passed $cp, failed $cf (log: $out/cargo.log)"
grep -E '^test .* FAILED$' "$out/cargo.log" || true
passed=$((passed + cp)); failed=$((failed + cf))
if [ "$cargo_rc" != 0 ] && [ "$cargo_rc" != 124 ] && [ "$cf" = 0 ]; then
	tail -30 "$out/cargo.log"
	fail "cargo test did not build or run"
fi

# In-guest tests: one boot with multi-threaded TCG for the cases, then one
# with single-threaded TCG for qemu/guest/stress (the install/revert churn
# with atomic window writes: multi-threaded TCG translates code that another
# vCPU is writing without atomic instruction fetch, which real CPUs give and
# the method relies on; 20-churn-int3-writes covers the multi-threaded case).
# The harness itself: a failing, a skipping, a missing and an
# error-printing case, and a KTAP log cut short, must each fail the run.
if scripts/harness-selftest.sh > "$out/harness-selftest.log" 2>&1; then
	pass "harness self-test: failing, skipping, missing, timed-out and error-printing cases are caught"
else
	cat "$out/harness-selftest.log"
	fail "harness self-test (see $out/harness-selftest.log)"
fi

# Every mutant of make mutants must still apply to the tree: one that no
# longer does tests nothing (make mutants calls it broken, but it is not
# part of make check, and code moves under the patches).
# A dry run on the work tree itself: nothing is written (and no git needed:
# a fresh machine may have none).
stale=
for p in tests/mutants/*.patch; do
	patch -p1 --dry-run -s < "$p" > /dev/null 2>&1 || stale="$stale ${p##*/}"
done
if [ -z "$stale" ]; then
	pass "every mutant of make mutants applies to the tree ($(ls tests/mutants/*.patch | wc -l))"
else
	fail "mutants that no longer apply to the tree:$stale"
fi

kdir=$(scripts/kernel-dir.sh)
guest_run() { # NAME CASES TCG-THREAD
	local name=$1 cases=$2 thread=$3 gstart rc
	if ! MARKPATCH_CASES=$cases qemu/mkinitramfs.sh "$kdir" "$out/$name.cpio.gz" markpatch.ko \
		tests/targets/markpatch_targets.ko > "$out/$name-initramfs.log" 2>&1; then
		cat "$out/$name-initramfs.log"
		fail "$name: initramfs build"
		return
	fi
	gstart=$(date +%s)
	MARKPATCH_TIMEOUT=${MARKPATCH_TIMEOUT:-1800} MARKPATCH_TCG_THREAD=$thread qemu/run.sh "$kdir/arch/x86/boot/bzImage" "$out/$name.cpio.gz" "$out/$name" tests
	rc=$?
	echo "$name: ran in $(( $(date +%s) - gstart ))s (console: $out/$name/console.log, KTAP: $out/$name/ktap.log)"
	expected_cases $cases > "$out/$name-expected.txt"
	scripts/ktap-summary.sh "$out/$name/ktap.log" "$name" "$out/$name-expected.txt" > "$out/$name-summary.txt"
	sed '$d' "$out/$name-summary.txt"
	read -r gp _ gf _ < <(tail -1 "$out/$name-summary.txt")
	passed=$((passed + gp)); failed=$((failed + gf))
	case $rc in
	0) pass "$name: console log free of Oops/BUG/WARNING/panic" ;;
	2) fail "$name: did not finish (see $out/$name/console.log)" ;;
	*) fail "$name: console log has kernel errors (see $out/$name/console.log)" ;;
	esac
}
guest_run guest cases multi
guest_run guest-stress "stress torture" single
# The sampled sweep (qemu/guest/sweep, make sweep's case): `count` installed
# and reverted on a few hundred functions the planner accepts, drawn at
# random (the seed is printed: MARKPATCH_CHECK_SWEEP_SEED=N draws the same
# ones again), in batches under mixload; any crash, wrong result or failed
# check fails it. Its own boot, so that a crash costs only its results;
# single-threaded TCG, where the atomic window writes are atomic against
# instruction fetch. About 0.8 s per function under TCG (4 minutes here).
sweep_seed=${MARKPATCH_CHECK_SWEEP_SEED:-$(od -An -N3 -tu4 /dev/urandom | tr -d ' ')}
sweep_sample=${MARKPATCH_CHECK_SWEEP_SAMPLE:-200}
echo "guest-sweep: $sweep_sample functions drawn with seed $sweep_seed"
MARKPATCH_APPEND="mp_sweep_sample=$sweep_sample mp_sweep_seed=$sweep_seed mp_sweep_batch=110" \
	guest_run guest-sweep sweep single
tr -d '\r' < "$out/guest-sweep/ktap.log" 2>/dev/null | sed -n 's/^# \(sweep: \(seed\|accepted\|refused at\)\)/\1/p'
summary
