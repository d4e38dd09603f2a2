# Two things the README promises: a bare `fail` hook returns -1, and the
# `timing` file tells what the last install and the last revert cost.
. "${MPTESTS:-/tests}/lib.sh"
load_targets || exit 1
need_engine
revert_all
region mpt_short no
expect_errno "install mpt_short fail (no value)" ok $MP/install "mpt_short fail"
check "patches lists the hook as written" [ "$(patch_field mpt_short 2)" = fail ]
tcall mpt_short 5
echo "mpt_short(5) with bare fail: $RESULT (the original: $REF)"
check "a bare fail returns -1" [ "$RESULT" = -1 ]
cat $MP/timing
line=$(grep '^install ' $MP/timing)
check "timing has the install of mpt_short with its M" \
	sh -c "echo '$line' | grep -q '^install mpt_short m=$REGION_M others=0 '"
field_of() { echo "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
check "the install took time, and its writes a part of it" \
	[ "$(field_of total_ns "$line")" -ge "$(field_of write_ns "$line")" -a "$(field_of write_ns "$line")" -gt 0 ]
check "the install made $REGION_M serialised writes or more" [ "$(field_of syncs "$line")" -ge "$REGION_M" ]
expect_errno "revert mpt_short" ok $MP/revert mpt_short
cat $MP/timing
line=$(grep '^revert ' $MP/timing)
check "timing has the revert of mpt_short" sh -c "echo '$line' | grep -q '^revert mpt_short m=$REGION_M others=0 '"
check "the revert waited (an RCU-tasks grace period)" [ "$(field_of waits_ns "$line")" -gt 0 ]
unload_targets
finish
