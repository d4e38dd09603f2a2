# Three things the README promises: a bare `fail` hook returns -1, the
# `timing` file tells what the last install and the last revert cost, and a
# revert of several names in one write shares its grace periods.
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

# Several names in one revert write: reverted together, with one grace
# period of each kind for all of them instead of three per patch.
SET="mpt_short mpt_riprel mpt_jcc mpt_loop_i2 mpt_call mpt_ambiguous"
for f in $SET; do
	echo $f > $MP/decode
	cp $MP/decode /tmp/batch.$f
done
now_ms() { read -r _up _ < /proc/uptime; echo "${_up%.*}${_up#*.}0"; }
for f in $SET; do expect_errno "install $f count" ok $MP/install "$f count"; done
t0=$(now_ms)
for f in $SET; do mperrno $MP/revert $f > /dev/null; done
t1=$(now_ms)
for f in $SET; do expect_errno "install $f count" ok $MP/install "$f count"; done
t2=$(now_ms)
expect_errno "revert all six in one write" ok $MP/revert "$SET"
t3=$(now_ms)
echo "six reverts one by one: $((t1 - t0)) ms; in one write: $((t3 - t2)) ms"
check "nothing is listed after the batch" [ -z "$(cat $MP/patches)" ]
for f in $SET; do
	echo $f > $MP/decode
	check "$f holds its original bytes after the batch" same_as_decode /tmp/batch.$f
	tcall $f 7
	check "$f right after the batch" [ "$RESULT" = "$REF" ]
done
check "the batch took less than half the time of six reverts" [ $((2 * (t3 - t2))) -lt $((t1 - t0)) ]
expect_errno "a batch naming a function that is not patched changes nothing" ENOENT $MP/revert "mpt_short vfs_statfs"
unload_targets
finish
