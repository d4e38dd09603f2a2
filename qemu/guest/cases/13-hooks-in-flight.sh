# Filter hooks from another module: targets_sleepy sleeps inside the hook
# (before calling the original); revert under load must wait for the calls
# in flight, and a call that stays (targets_block) must not hang the rest. A module whose hook a patch uses is pinned, and markpatch cannot
# go while a module uses its API.
. "${MPTESTS:-/tests}/lib.sh"
load_targets || exit 1
need_engine
revert_all
region mpt_short no
cp $MP/decode /tmp/before

expect_errno "install mpt_short targets_sleepy" ok $MP/install "mpt_short targets_sleepy"
tcall mpt_short 5
check "targets_sleepy passes the original's result through" [ "$RESULT" = "$REF" ]
echo "mpt_short 6" > $MPT/stress
poll 30 calls_over mpt_short 1
c=$(patch_field mpt_short 4)
echo "calls through the sleepy hook so far: $c"
check "stress threads call through the sleepy hook" [ "${c:-0}" -gt 0 ]
expect_errno "revert while calls sleep in the hook" ok $MP/revert mpt_short
check "stress finishes" stress_wait 30
echo "$STRESS"
check "no wrong result across the revert" [ "$(field wrong "$STRESS")" = 0 ]
echo mpt_short > $MP/decode
check "bytes restored exactly" same_as_decode /tmp/before

# A filter call that stays in its hook (targets_block, held): the revert
# puts the original bytes back, waits a bounded time for the call, answers
# EBUSY and leaves the patch `reverting`; meanwhile every other operation
# goes on (the wait does not hold markpatch's lock). Once the call returns
# with the right result, a second revert finishes it.
echo hold > $MPT/block
expect_errno "install mpt_short targets_block" ok $MP/install "mpt_short targets_block"
( tcall mpt_short 21; echo "$RESULT $REF" > /tmp/blocked.result ) &
bpid=$!
check "a call waits in the hook" poll 30 grep -q 'waiting=1' $MPT/block
t0=$(cut -d' ' -f1 /proc/uptime)
expect_errno "revert with a call in flight" EBUSY $MP/revert mpt_short
t1=$(cut -d' ' -f1 /proc/uptime)
echo "the revert answered after $(echo "$t0 $t1" | awk '{ printf "%.1f", $2 - $1 }') s"
check "it answered within 10 s" sh -c "echo '$t0 $t1' | awk '{ exit !(\$2 - \$1 < 10) }'"
check "the patch stays listed as reverting" [ "$(patch_field mpt_short 3)" = reverting ]
echo mpt_short > $MP/decode
check "its original bytes are back already" same_as_decode /tmp/before
check "the dmesg line says why" sh -c "dmesg | tail -3 | grep -q 'mpt_short: a call of its hook is still in flight'"
expect_errno "meanwhile another function installs" ok $MP/install "mpt_riprel count"
expect_errno "and reverts" ok $MP/revert mpt_riprel
expect_errno "a hook replacement of the reverting patch is refused" EBUSY $MP/install "mpt_short count"
echo release > $MPT/block
wait $bpid
read -r r ref < /tmp/blocked.result
echo "the blocked call returned $r (the original: $ref)"
check "the blocked call got the original's result" [ "$r" = "$ref" ]
expect_errno "a second revert finishes it" ok $MP/revert mpt_short
check "nothing is listed" [ -z "$(cat $MP/patches)" ]

expect_errno "install mpt_short targets_double" ok $MP/install "mpt_short targets_double"
check "rmmod markpatch_targets refused while its hook is in use" sh -c '! rmmod markpatch_targets 2>/dev/null'
check "markpatch_targets still loaded" [ -d $MPT ]
tcall mpt_short 3
check "hook still works" [ "$RESULT" = "$((2 * REF))" ]
check "rmmod markpatch refused while markpatch_targets uses it" sh -c '! rmmod markpatch 2>/dev/null'
check "markpatch still loaded" [ -d $MP ]
expect_errno "revert mpt_short" ok $MP/revert mpt_short
unload_targets
check "markpatch_targets unloads once no patch uses its hook" [ ! -d $MPT ]
finish
