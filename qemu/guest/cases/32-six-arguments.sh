# A filter hook is given the six argument registers as the caller set them,
# and the original it calls gets them all (include/markpatch.h): mpt_six
# weighs each of its six arguments differently. With targets_args
# installed, the targets' `six` file calls mpt_six with six distinct
# values: the hook must have seen each one in its place, and the result be
# the original's + 1 (what targets_args adds). With `count`, the result is
# the original's.
. "${MPTESTS:-/tests}/lib.sh"
load_targets || exit 1
need_engine
revert_all
# six_with HOOK: installs HOOK on mpt_six ("-": none) and reads the six
# file into RESULT, REF and SEEN (the six arguments the hook saw).
six_with() {
	[ "$1" = - ] || expect_errno "install $1 on mpt_six" ok $MP/install "mpt_six $1"
	_r=$(cat $MPT/six)
	echo "$1: $_r"
	set -- $_r
	RESULT=$2 REF=$4
	shift 5
	SEEN="$*"
}
six_with -
ref=$REF
check "unpatched, mpt_six gives its own value and no hook ran" [ "$RESULT $SEEN" = "$ref 0 0 0 0 0 0" ]
six_with targets_args
check "the hook saw the six arguments in their places" [ "$SEEN" = "11 2200 330000 44000000 5500000000 660000000000" ]
check "the original got all six (result = its value + 1)" [ "$(printf '%x' $((0x$ref + 1)))" = "$RESULT" ]
six_with count
check "count passes the six through: the original's value" [ "$RESULT" = "$ref" ]
check "the new call was counted" [ "$(patch_field mpt_six 4)" -ge 1 ]
expect_errno "revert mpt_six" ok $MP/revert mpt_six
unload_targets
finish
