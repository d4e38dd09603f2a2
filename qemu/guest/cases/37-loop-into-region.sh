# A loop of the function whose back-edge lands inside the patched region:
# a thread that comes round it runs the mark there and reaches the stub
# with one mark, and its registers may all have changed since the pushes
# of I1.. ran. `__recover_optprobed_insn` (x86 kprobes) is such a function
# on the test kernel: its loop over get_kprobe() jumps back to I8 and sets
# r15 on the way, and its caller keeps a text address in r15. Every
# install and plan calls it in that loop (the region's kprobe checks).
# With `count` on it, the next install must come back, and nothing may
# have taken the mark for a return address (docs/design.md, "The exact
# guarantee": a branch onto IK leaves the registers nothing to check).
. "${MPTESTS:-/tests}/lib.sh"
load_markpatch
need_engine
revert_all
F=__recover_optprobed_insn
echo $F > $MP/plan
head -1 $MP/plan
if ! head -1 $MP/plan | grep -q ' plannable M='; then
	echo "$F is not plannable on this kernel: nothing to test"
	exit 4
fi
echo $F > $MP/decode && cp $MP/decode /tmp/loop.before
echo vfs_statfs > $MP/decode && cp $MP/decode /tmp/loop.statfs
expect_errno "install count on $F" ok $MP/install "$F count"
# The install of another function, in the background: a caller sent one
# word off by the resolver loops in the kernel and never comes back.
( mperrno $MP/install "vfs_statfs count" > /tmp/loop.rc ) &
waited=0
while [ ! -s /tmp/loop.rc ] && [ $waited -lt 120 ]; do sleep 0.5; waited=$((waited + 1)); done
rc=$(cat /tmp/loop.rc 2>/dev/null)
echo "install of vfs_statfs: $rc after about $((waited / 2)) s"
check "the next install comes back, ok" [ "$rc" = ok ]
[ "$rc" = ok ] || exit 1
for name in vfs_read vfs_getattr; do
	echo $name > $MP/plan
done
calls=$(patch_field $F 4)
echo "$F: calls $calls"
check "$F was called by the kprobe checks of the install and the plans" [ "${calls:-0}" -gt 0 ]
check "statfs works with both patched" stat -f /
check "no stack fit no mark count" grep -q '^inconsistent_stacks 0$' $MP/stats
echo "vfs_statfs $F" > $MP/revert
echo $F > $MP/decode
check "$F reverted: its bytes are the originals" same_as_decode /tmp/loop.before
echo vfs_statfs > $MP/decode
check "vfs_statfs reverted: its bytes are the originals" same_as_decode /tmp/loop.statfs
finish
