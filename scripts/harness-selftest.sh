#!/usr/bin/env bash
# The test harness must fail when a test does: runs deliberately failing,
# skipping, missing, timed-out and error-printing cases through the real
# scripts (the guest's runner qemu/guest/run-tests, scripts/ktap-summary.sh,
# scripts/console-scan.sh) on the host, and checks that each is caught and
# that a clean run passes. Prints "N passed, M failed"; part of make check.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0
expect() { # DESCRIPTION WANT(pass|fail) COMMAND...
	local desc=$1 want=$2 got; shift 2
	if "$@" > "$tmp/out" 2>&1; then got=pass; else got=fail; fi
	if [ "$got" = "$want" ]; then
		passed=$((passed + 1)); echo "ok: $desc"
	else
		failed=$((failed + 1)); echo "FAILED: $desc (the harness said $got)"; sed 's/^/  /' "$tmp/out"
	fi
}

# run CASE...: runs the given cases (NAME:BODY) through run-tests, then
# ktap-summary with the names in $tmp/expected; succeeds when it passes.
run() {
	rm -rf "$tmp/t"; mkdir -p "$tmp/t/cases"
	cp "$MARKPATCH_ROOT/qemu/guest/run-tests" "$tmp/t/"
	local c
	for c in "$@"; do printf '%s\n' "${c#*:}" > "$tmp/t/cases/${c%%:*}.sh"; done
	MPTESTS=$tmp/t sh "$tmp/t/run-tests" > "$tmp/ktap.log" 2>&1
	summary=$("$MARKPATCH_ROOT/scripts/ktap-summary.sh" "$tmp/ktap.log" selftest "$tmp/expected")
	echo "$summary"
	tail -1 <<< "$summary" | grep -q ' 0 failed'
}

ok='echo fine; exit 0'
printf '%s\n' 10-good 11-good > "$tmp/expected"
expect "two passing cases pass" pass run "10-good:$ok" "11-good:$ok"
expect "a failing case fails the run" fail run "10-good:$ok" "11-good:echo broken; exit 1"
expect "a missing case fails the run" fail run "10-good:$ok"
printf '%s\n' 10-good 12-skips > "$tmp/expected"
expect "a skip not on the allow-list fails the run" fail run "10-good:$ok" "12-skips:exit 4"
printf '%s\n' 10-good 27-return-site > "$tmp/expected"
expect "a skip on the allow-list (27-return-site) passes" pass run "10-good:$ok" "27-return-site:exit 4"
printf '%s\n' 10-good 13-hangs > "$tmp/expected"
expect "a case over its time limit fails the run" fail run "10-good:$ok" "$(printf '13-hangs:# timeout: 1\nsleep 30')"

# A KTAP log cut short (the guest died): fewer results than the plan.
printf 'KTAP version 1\n1..2\nok 1 10-good\n' > "$tmp/cut.log"
expect "a KTAP log cut short fails" fail "$MARKPATCH_ROOT/scripts/ktap-summary.sh" "$tmp/cut.log" selftest

# The console scan: a clean log (whose command line names panic=-1) passes;
# each kind of kernel or markpatch error fails it.
clean='[    0.000000] Kernel command line: console=ttyS0 oops=panic panic=-1
qemu-system-x86_64 -kernel bzImage -append "console=ttyS0 panic=-1 virtme_ro_overlay=tmp"
[    1.000000] markpatch: loaded; /sys/kernel/markpatch/ ready'
printf '%s\n' "$clean" > "$tmp/console.log"
expect "a clean console log passes the scan" pass "$MARKPATCH_ROOT/scripts/console-scan.sh" "$tmp/console.log"
# The sweep's progress lines name functions such as `panic`: not errors.
printf '%s\n%s\n' "$clean" '[    2.000000] sweep: install panic' > "$tmp/console.log"
expect "the sweep's progress line 'sweep: install panic' passes the scan" pass "$MARKPATCH_ROOT/scripts/console-scan.sh" "$tmp/console.log"
while IFS= read -r line; do
	printf '%s\n%s\n' "$clean" "$line" > "$tmp/console.log"
	expect "the console scan catches: ${line#*] }" fail "$MARKPATCH_ROOT/scripts/console-scan.sh" "$tmp/console.log"
done <<'EOF_LINES'
[    2.000000] BUG: kernel NULL pointer dereference, address: 0000000000000000
[    2.000000] sweep: install panic[    2.000001] BUG: kernel NULL pointer dereference, address: 0000000000000000
[    2.000000] WARNING: CPU: 1 PID: 42 at kernel/kprobes.c:1000 reuse_unused_kprobe+0x1/0x2
[    2.000000] Oops: general protection fault, probably for non-canonical address
[    2.000000] rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:
[    2.000000] rcu: INFO: rcu_preempt self-detected stall on CPU
[    2.000000] INFO: task sh:77 blocked for more than 120 seconds.
[    2.000000] watchdog: BUG: soft lockup - CPU#2 stuck for 22s! [sh:80]
[    2.000000] markpatch: resolver: stack at 0xffffc90000123f00 fits no mark count
[    2.000000] markpatch: vfs_statfs: revert incomplete: the bytes differ from the saved originals
[    2.000000] markpatch: vfs_statfs: cannot restore the original bytes (errno -16); the patch stays linked and markpatch stays loaded
# pass: some user output[    2.000000] BUG: unable to handle page fault for address: ffffffffc0200000
EOF_LINES
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
