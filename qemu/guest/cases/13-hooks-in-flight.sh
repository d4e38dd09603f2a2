# Filter hooks from another module: targets_sleepy sleeps inside the hook
# (before calling the original); revert under load must wait for the calls
# in flight. A module whose hook a patch uses is pinned, and markpatch cannot
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
