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

# Host tests: cargo's own counts.
cargo test --workspace --locked > "$out/cargo.log" 2>&1
cargo_rc=$?
read -r cp cf < <(awk '/^test result:/ { p += $4; f += $6 } END { print p + 0, f + 0 }' "$out/cargo.log")
echo "cargo test: passed $cp, failed $cf (log: $out/cargo.log)"
grep -E '^test .* FAILED$' "$out/cargo.log" || true
passed=$((passed + cp)); failed=$((failed + cf))
if [ "$cargo_rc" != 0 ] && [ "$cf" = 0 ]; then
	tail -30 "$out/cargo.log"
	fail "cargo test did not build or run"
fi

# In-guest tests.
kdir=$(scripts/kernel-dir.sh)
if ! qemu/mkinitramfs.sh "$kdir" "$out/initramfs.cpio.gz" markpatch.ko > "$out/initramfs.log" 2>&1; then
	cat "$out/initramfs.log"
	fail "initramfs build"
	summary
fi
gstart=$(date +%s)
qemu/run.sh "$kdir/arch/x86/boot/bzImage" "$out/initramfs.cpio.gz" "$out/guest" tests
run_rc=$?
echo "guest: ran in $(( $(date +%s) - gstart ))s (console: $out/guest/console.log, KTAP: $out/guest/ktap.log)"

scripts/ktap-summary.sh "$out/guest/ktap.log" > "$out/ktap-summary.txt"
sed '$d' "$out/ktap-summary.txt"
read -r gp _ gf _ < <(tail -1 "$out/ktap-summary.txt")
passed=$((passed + gp)); failed=$((failed + gf))
case $run_rc in
0) pass "guest: console log free of Oops/BUG/WARNING/panic" ;;
2) fail "guest: did not finish (see $out/guest/console.log)" ;;
*) fail "guest: console log has kernel errors (see $out/guest/console.log)" ;;
esac
summary
