#!/usr/bin/env bash
# The in-guest tests under virtme-ng (`vng --run`), as a second way to boot the
# same kernel: the guest sees the host's file system read-only, so the tests
# run from a staging directory under build/vng. Installs virtme-ng from PyPI
# when it is missing. TCG unless MARKPATCH_KVM=1.
set -uo pipefail
. "$(dirname "$0")/../scripts/lib.sh"
cd "$MARKPATCH_ROOT"
if ! command -v vng >/dev/null; then
	note "installing virtme-ng from PyPI"
	pip install --quiet virtme-ng || die "pip install virtme-ng failed"
fi
kdir=$(scripts/kernel-dir.sh)
stage=$MARKPATCH_ROOT/build/vng
rm -rf "$stage"; mkdir -p "$stage/modules"
qemu/stage-tests.sh "$kdir" "$stage/tests"
cp markpatch.ko "$stage/modules/"
# The engine's cases need the test-target module (built against markpatch.ko).
make --no-print-directory -C tests/targets modules > "$stage/targets-build.log" 2>&1 \
	|| { tail -20 "$stage/targets-build.log"; die "test-target module build failed"; }
cp tests/targets/markpatch_targets.ko "$stage/modules/"
kvm=--disable-kvm
[ "${MARKPATCH_KVM:-0}" = 1 ] && kvm=
# The KTAP output goes to a file in a directory the guest may write
# (--rwdir): vng's script console is not always available without udev.
# The default time limit fits the cases' own limits (qemu/guest/run-tests;
# each case's time under vng is in the KTAP log: "# NAME: took N s").
timeout "${MARKPATCH_TIMEOUT:-2400}" vng --verbose --run "$kdir/arch/x86/boot/bzImage" $kvm \
	--cpus "${MARKPATCH_SMP:-4}" --memory 1G --user root --rwdir "$stage" \
	--exec "MPTESTS=$stage/tests MPMODULES=$stage/modules PATH=$stage/tests/bin:\$PATH $stage/tests/run-tests > $stage/ktap.log 2>&1" \
	> "$stage/console.log" 2>&1
rc=$?
echo "vng exited $rc (KTAP: $stage/ktap.log, console: $stage/console.log)"
# vng's own exit status is not the script's (it says 255 after a clean run
# under TCG): the guest finished when its init says the script exited.
finished=0
if [ "$rc" = 124 ]; then
	echo "FAILED: vng-check: the guest did not finish within ${MARKPATCH_TIMEOUT:-2400} s"
elif ! grep -q 'virtme-ng-init: script exited with code 0' "$stage/console.log"; then
	echo "FAILED: vng-check: the guest's script did not finish (see $stage/console.log)"
else
	finished=1
fi
sed -n 's/^# \(.*\): took \([0-9]*\) s$/\2 s  \1/p' "$stage/ktap.log"
expected_cases cases > "$stage/expected.txt"
scripts/ktap-summary.sh "$stage/ktap.log" vng "$stage/expected.txt" | tee "$stage/summary.txt"
summary_rc=${PIPESTATUS[0]}
scripts/console-scan.sh "$stage/console.log" || exit 3
[ "$finished" = 1 ] && [ "$summary_rc" = 0 ]
