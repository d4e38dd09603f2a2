# The direct method (naive_unsafe=1, tests only: what make torture-compare
# measures markpatch against) installs one plain `jmp` over the first
# instructions, the hook runs, and a revert puts the bytes back.
. "${MPTESTS:-/tests}/lib.sh"
load_targets || exit 1
need_engine
revert_all
P=/sys/module/markpatch/parameters
echo mpt_short > $MP/decode
cp $MP/decode /tmp/before
echo 1 > $P/naive_unsafe
expect_errno "install count on mpt_short with the direct method" ok $MP/install "mpt_short count"
echo 0 > $P/naive_unsafe
echo mpt_short > $MP/decode
check "mpt_short now starts with a jmp after its ENDBR" grep -q "^+0x4	5	e9 " $MP/decode
tcall mpt_short 5
check "the original's result through the hook" [ "$RESULT" = "$REF" ]
check "the call was counted" [ "$(patch_field mpt_short 4)" = 1 ]
expect_errno "install fail=9 in place" ok $MP/install "mpt_short fail=9"
tcall mpt_short 5
check "fail=9 returns 9" [ "$RESULT" = 9 ]
expect_errno "revert" ok $MP/revert mpt_short
echo mpt_short > $MP/decode
check "the bytes are the original ones" same_as_decode /tmp/before
unload_targets
finish
