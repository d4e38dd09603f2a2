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
before=$(cat $MPT/six)
echo "not patched: $before"
set -- $before
ref=$4
check "unpatched, mpt_six gives its own value and no hook ran" [ "$2 $6$7$8$9${10}${11}" = "$ref 000000" ]
expect_errno "install targets_args on mpt_six" ok $MP/install "mpt_six targets_args"
r=$(cat $MPT/six)
echo "targets_args: $r"
set -- $r
check "the hook saw the six arguments in their places" [ "$6 $7 $8 $9 ${10} ${11}" = "11 2200 330000 44000000 5500000000 660000000000" ]
check "the original got all six (result = its value + 1)" [ "$(printf '%x' $((0x$ref + 1)))" = "$2" ]
expect_errno "swap to count" ok $MP/install "mpt_six count"
r=$(cat $MPT/six)
echo "count: $r"
set -- $r
check "count passes the six through: the original's value" [ "$2" = "$ref" ]
check "the new call was counted" [ "$(patch_field mpt_six 4)" -ge 1 ]
expect_errno "revert mpt_six" ok $MP/revert mpt_six
unload_targets
finish
