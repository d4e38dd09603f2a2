# rmmod of markpatch with patches installed and their functions under load:
# refused cleanly while markpatch_targets uses markpatch's API; with only
# kernel functions patched, rmmod succeeds and reverts them (the bytes are
# the originals after), and nothing oopses.
. "${MPTESTS:-/tests}/lib.sh"
load_targets || exit 1
need_engine
revert_all
echo 2 > /sys/module/markpatch/parameters/install_delay_ms
expect_errno "install mpt_straddle count" ok $MP/install "mpt_straddle count"
echo "mpt_straddle 8" > $MPT/stress
poll 30 calls_over mpt_straddle 0
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
want=$(stat -f -c '%t %S %b %c' /)
version=$(cat /proc/version)
loops_start rmmod '[ "$(stat -f -c "%t %S %b %c" /)" = "$want" ] && [ "$(cat /proc/version)" = "$version" ]'
expect_errno "install vfs_statfs count" ok $MP/install "vfs_statfs count"
expect_errno "install vfs_read count" ok $MP/install "vfs_read count"
poll 30 calls_over vfs_read 0
cat $MP/patches
check "vfs_read calls counted" [ "$(patch_field vfs_read 4)" -gt 0 ]
check "rmmod markpatch with 2 patches under load (it reverts them)" rmmod markpatch
if [ -d $MP ]; then
	cat $MP/patches
	revert_all
	rmmod markpatch
fi
sleep 1
check "stat -f / works after rmmod" sh -c 'stat -f / | grep -q "Type:"'
loops_stop rmmod
check "every statfs and read under load gave what it gave before ($WRONG differed)" [ "$WRONG" = 0 ]
load_markpatch
for f in vfs_statfs vfs_read; do
	echo $f > $MP/decode
	check "$f bytes are the originals after rmmod" same_as_decode /tmp/before-$f
done
finish
