# Helpers for the in-guest tests. Source it: `. /tests/lib.sh`.
MP=/sys/kernel/markpatch
MPTESTS=${MPTESTS:-/tests}
MPMODULES=${MPMODULES:-/modules}
fails=0

# check DESCRIPTION COMMAND...: run the command, report, remember a failure.
check() {
	desc=$1; shift
	if "$@"; then
		echo "pass: $desc"
	else
		echo "FAIL: $desc"
		fails=$((fails + 1))
	fi
}

# load the module once per test that needs it
load_markpatch() {
	[ -d "$MP" ] || insmod $MPMODULES/markpatch.ko "$@"
}

finish() {
	[ "$fails" = 0 ]
	exit $?
}
