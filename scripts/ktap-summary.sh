#!/usr/bin/env bash
# Reads a KTAP log (the guest's test output) and prints one line per test,
# the failing tests' diagnostics, and last "N passed, M failed, K skipped".
# Fails: a not ok test; a missing plan or missing results; with EXPECTED (a
# file of test names, one per line), any of them that did not report; and
# a skip not on the allow-list (qemu/guest/skip-allowed).
# Exits non-zero when anything failed.
# Usage: ktap-summary.sh FILE [LABEL [EXPECTED]]
set -uo pipefail
. "$(dirname "$0")/lib.sh"
ktap=$1 label=${2:-guest} expected=${3:-}
allowed=$MARKPATCH_ROOT/qemu/guest/skip-allowed
passed=0 failed=0 skipped=0
log=$(tr -d '\r' < "$ktap" 2>/dev/null)
plan=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' <<< "$log" | head -1)
seen=0
while IFS= read -r line; do
	case "$line" in
	"ok "*"# SKIP"*)
		seen=$((seen + 1)); name=$(awk '{ print $3 }' <<< "$line")
		if grep -qx "$name" <(sed 's/#.*//; s/[[:space:]]*$//' "$allowed" 2>/dev/null); then
			skipped=$((skipped + 1)); echo "skipped: $label: ${line#ok } (allowed: qemu/guest/skip-allowed)"
		else
			failed=$((failed + 1)); echo "FAILED: $label: ${line#ok } (a skip not on qemu/guest/skip-allowed)"
			sed -n "/^# $name: start/,/^\(not \)\?ok /p" <<< "$log" | sed -n '2,20p'
		fi
		;;
	"ok "*) seen=$((seen + 1)); passed=$((passed + 1)); echo "ok: $label: ${line#ok }" ;;
	"not ok "*)
		seen=$((seen + 1)); failed=$((failed + 1)); echo "FAILED: $label: ${line#not ok }"
		name=$(awk '{ print $4 }' <<< "$line")
		sed -n "/^# $name: start/,/^\(not \)\?ok /p" <<< "$log" | sed -n '2,40p' | grep -v '^# pass: '
		;;
	esac
done <<< "$log"
if [ -z "$plan" ]; then
	failed=$((failed + 1)); echo "FAILED: $label: no KTAP plan line (the tests did not start)"
elif [ "$seen" != "$plan" ]; then
	failed=$((failed + 1)); echo "FAILED: $label: KTAP plan says $plan tests, $seen reported"
fi
if [ -n "$expected" ]; then
	while IFS= read -r name; do
		[ -n "$name" ] || continue
		grep -qE "^(not )?ok [0-9]+ $name( |\$)" <<< "$log" \
			|| { failed=$((failed + 1)); echo "FAILED: $label: $name did not report (a case of the repository the guest did not run)"; }
	done < "$expected"
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
