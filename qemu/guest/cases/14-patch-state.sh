# patch/<symbol>/state shows where a patch is in its life: `installing`
# while its instructions are being written (install_delay_ms stretches the
# writes of a region of M >= 2 instructions), `installed` once they are,
# with the same word in `patches`; and the directory goes with the revert.
. "${MPTESTS:-/tests}/lib.sh"
load_markpatch
need_engine
revert_all
region vfs_statfs yes
echo "vfs_statfs: M=$REGION_M"
check "vfs_statfs has a region of 2 or more instructions" [ "$REGION_M" -ge 2 ]
echo 400 > /sys/module/markpatch/parameters/install_delay_ms
echo "vfs_statfs count" > $MP/install &
ipid=$!
# The directory appears once the patch is staged, before the first write.
seen=
for i in $(seq 200); do
	s=$(cat $MP/patch/vfs_statfs/state 2>/dev/null)
	[ -n "$s" ] && { seen=$s; break; }
	sleep 0.02
done
echo "state while the install writes: '$seen'"
check "state is 'installing' while the instructions are written" [ "$seen" = installing ]
wait $ipid
check "the install succeeded" [ $? = 0 ]
echo 0 > /sys/module/markpatch/parameters/install_delay_ms
check "state is 'installed' once it is done" [ "$(cat $MP/patch/vfs_statfs/state)" = installed ]
check "patches says installed too" [ "$(patch_field vfs_statfs 3)" = installed ]
expect_errno "revert vfs_statfs" ok $MP/revert vfs_statfs
check "the patch's directory is gone with it" [ ! -e $MP/patch/vfs_statfs ]
finish
