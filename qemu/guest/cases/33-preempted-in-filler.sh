# A revert waits until no task can be inside a NOP filler before it puts the
# tails back (docs/design.md, "Revert": the RCU-tasks grace period after
# the int3s). The targets' `filler` file makes a caller of mpt_short
# (installed with count) that ran I1's and I2's marks and then waits, as a
# task preempted in I2's filler would (runnable, never sleeping), until a
# revert has begun; then it goes on from the filler. The revert must wait
# for it, and the caller must get mpt_short's result; a revert that did not
# wait would have put I2's tail back under it.
. "${MPTESTS:-/tests}/lib.sh"
load_targets || exit 1
need_engine
revert_all
expect_errno "install count on mpt_short" ok $MP/install "mpt_short count"
"$MPTESTS/bin/mpwrite" $MPT/filler go > /tmp/filler-write &
probe=$!
check "the caller is waiting in I2's filler" poll 10 sh -c "[ \"\$(cat $MPT/filler)\" = waiting ]"
expect_errno "revert mpt_short meanwhile" ok $MP/revert mpt_short
wait $probe
r=$(cat $MPT/filler)
echo "filler write: $(cat /tmp/filler-write); filler: $r"
check "the write that ran the caller succeeded" [ "$(cat /tmp/filler-write)" = ok ]
check "a revert began while the caller waited in the filler, and the caller got mpt_short's result" [ "$r" = ok ]
check "the revert left nothing installed" [ -z "$(cat $MP/patches)" ]
unload_targets
finish
