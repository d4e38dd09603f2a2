#!/usr/bin/env bash
# Reads a KTAP log (the guest's test output) and prints one line per test,
# the failing tests' diagnostics, and last "N passed, M failed" (a missing
# plan or missing results count as failures). Usage: ktap-summary.sh FILE [LABEL]
set -uo pipefail
ktap=$1 label=${2:-guest}
passed=0 failed=0
plan=$(tr -d '\r' < "$ktap" 2>/dev/null | sed -n 's/^1\.\.\([0-9]*\)$/\1/p' | head -1)
seen=0
while IFS= read -r line; do
	case "$line" in
	"ok "*) seen=$((seen + 1)); passed=$((passed + 1)); echo "ok: $label: ${line#ok }" ;;
	"not ok "*)
		seen=$((seen + 1)); failed=$((failed + 1)); echo "FAILED: $label: ${line#not ok }"
		name=$(echo "$line" | awk '{ print $4 }')
		tr -d '\r' < "$ktap" | sed -n "/^# $name: start\$/,/^\(not \)\?ok /p" | sed -n '2,40p' | grep -v '^# pass: '
		;;
	esac
done < <(tr -d '\r' < "$ktap" 2>/dev/null)
if [ -z "$plan" ]; then
	failed=$((failed + 1)); echo "FAILED: $label: no KTAP plan line (the tests did not start)"
elif [ "$seen" != "$plan" ]; then
	failed=$((failed + 1)); echo "FAILED: $label: KTAP plan says $plan tests, $seen reported"
fi
echo "$passed passed, $failed failed"
