# A revert's last step puts back the first byte of I1, I2, ... over the
# int3s, one at a time (docs/design.md, "Revert", step 4). A new call in
# between runs the restored instructions in place and traps at the next
# int3 with no mark on its stack: no thread can hold one after step 2. The
# handler must not count a word of the function's own stack room that
# looks like a mark. The case stops a revert of mpt_stale_b (M = 4: push
# %rbx; sub $0x10,%rsp; mov; IM) right there, with its writes
# (debug_pass_writes, debug_fail_writes), and reads the targets'
# `half_restored` file (tests/targets/shapes.S, mpt_half_restored_probe):
# new calls whose room holds a word that looks like a mark under one that
# does not, with a text address pushed by I1. Taken for a mark, the call
# would finish one word off and come back with %rbx clobbered.
. "${MPTESTS:-/tests}/lib.sh"
load_targets || exit 1
need_engine
revert_all
P=/sys/module/markpatch/parameters
echo mpt_stale_b > $MP/decode
cp $MP/decode /tmp/half.before
expect_errno "install count on mpt_stale_b" ok $MP/install "mpt_stale_b count"
cat $MP/patch/mpt_stale_b/code
# The revert's writes: step 1, int3 over the first byte of I1..I4 (4);
# step 3, the other bytes of each Ik longer than one byte (I2, I3, I4: 3);
# step 4, the first bytes of I1 and I2 (2). The 10th, I3's first byte,
# fails: the patch is abandoned there, and stays so while the probe runs.
read -r loglevel _ < /proc/sys/kernel/printk
echo 3 > /proc/sys/kernel/printk
echo 9 > $P/debug_pass_writes
echo 1 > $P/debug_fail_writes
expect_errno "revert mpt_stale_b, stopped at I3's first byte" EIO $MP/revert mpt_stale_b
echo "$loglevel" > /proc/sys/kernel/printk
check "the writes were taken as set (9 passed, 1 failed)" \
	[ "$(cat $P/debug_pass_writes) $(cat $P/debug_fail_writes)" = "0 0" ]
check "it is listed as abandoned" [ "$(patch_field mpt_stale_b 3)" = abandoned ]
code=$(cat $MP/patch/mpt_stale_b/code)
echo "$code"
# now K: what Ik holds now, as the code file shows it (its middle column)
now() { echo "$code" | awk -v k="I$1" '$1 == k' | awk -F'|' '{ print $2 }' | sed 's/^ *//; s/ *$//'; }
i1=$(now 1) i2=$(now 2) i3=$(now 3) i4=$(now 4)
check "I1 and I2 hold their original bytes" [ "$i1" = "push %rbx" -a "$i2" = 'sub $0x10,%rsp' ]
check "I3 and I4 begin with int3" [ "${i3%%;*}" = int3 -a "${i4%%;*}" = int3 ]
r=$(cat $MPT/half_restored)
echo "half_restored: $r"
check "new calls that trapped at I3 finished right, %rbx kept" [ "$r" = ok ]
expect_errno "a second revert restores mpt_stale_b" ok $MP/revert mpt_stale_b
echo mpt_stale_b > $MP/decode
check "mpt_stale_b holds its original bytes" same_as_decode /tmp/half.before
unload_targets
finish
