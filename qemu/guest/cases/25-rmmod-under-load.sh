# rmmod of markpatch with patches installed and their functions under load:
# refused cleanly while markpatch_targets uses markpatch's API; with only
# kernel functions patched, rmmod reverts them (the bytes are the originals
# after) and nothing oopses.
. "${MPTESTS:-/tests}/lib.sh"
load_targets || exit 1
need_engine
revert_all
echo 2 > /sys/module/markpatch/parameters/install_delay_ms
expect_errno "install mpt_straddle count" ok $MP/install "mpt_straddle count"
echo "mpt_straddle 8" > $MPT/stress
sleep 1
check "rmmod markpatch refused while markpatch_targets uses it" sh -c '! rmmod markpatch 2>/dev/null'
check "patch still installed" [ "$(patch_field mpt_straddle 3)" = installed ]
check "stress still running" grep -q '^running' $MPT/stress
check "stress finishes" stress_wait 30
echo "$STRESS"
check "no wrong result" [ "$(field wrong "$STRESS")" = 0 ]
unload_targets

load_markpatch
echo 0 > /sys/module/markpatch/parameters/install_delay_ms
for f in vfs_statfs vfs_read; do
	echo $f > $MP/decode
	cp $MP/decode /tmp/before-$f
done
cpus=$(grep -c '^processor' /proc/cpuinfo)
pids=
for i in $(seq $cpus); do
	( while :; do stat -f / > /dev/null; cat /proc/version > /dev/null; done ) &
	pids="$pids $!"
done
expect_errno "install vfs_statfs count" ok $MP/install "vfs_statfs count"
expect_errno "install vfs_read count" ok $MP/install "vfs_read count"
sleep 2
cat $MP/patches
check "vfs_read calls counted" [ "$(patch_field vfs_read 4)" -gt 0 ]
if rmmod markpatch; then
	check "rmmod markpatch with 2 patches under load" true
else
	echo "rmmod refused; the patches must then still be intact:"
	cat $MP/patches
	check "rmmod refused cleanly: both patches still installed" \
		[ "$(patch_field vfs_statfs 3) $(patch_field vfs_read 3)" = "installed installed" ]
	revert_all
	check "rmmod after revert" rmmod markpatch
fi
sleep 1
check "stat -f / works after rmmod" sh -c 'stat -f / | grep -q "Type:"'
kill $pids
wait 2>/dev/null
load_markpatch
for f in vfs_statfs vfs_read; do
	echo $f > $MP/decode
	check "$f bytes are the originals after rmmod" same_as_decode /tmp/before-$f
done
finish
