# A real kernel function: vfs_statfs with `count`, driven from user space by
# `stat -f /` loops on every CPU, installed and reverted under that load; the
# bytes are the originals afterwards.
. "${MPTESTS:-/tests}/lib.sh"
load_markpatch
need_engine
revert_all
region vfs_statfs yes
cp $MP/decode /tmp/before
# What statfs of / says before anything is patched; loops on every CPU
# count the answers that differ, patched or not.
want=$(stat -f -c '%t %S %b %c' /)
loops_start statfs '[ "$(stat -f -c "%t %S %b %c" /)" = "$want" ]'
echo 2 > /sys/module/markpatch/parameters/install_delay_ms
expect_errno "install vfs_statfs count under load" ok $MP/install "vfs_statfs count"
poll 30 calls_over vfs_statfs 0
c1=$(patch_field vfs_statfs 4)
poll 30 calls_over vfs_statfs "${c1:-0}"
c2=$(patch_field vfs_statfs 4)
cat $MP/patches
echo "vfs_statfs calls: $c1, then $c2; partial: $(patch_field vfs_statfs 5)"
check "vfs_statfs calls counted" [ "${c1:-0}" -gt 0 ]
check "and still counting" [ "${c2:-0}" -gt "${c1:-0}" ]
check "stat -f / works while patched" sh -c 'stat -f / | grep -q "Type:"'
expect_errno "revert vfs_statfs under load" ok $MP/revert vfs_statfs
for i in 1 2 3; do
	expect_errno "install vfs_statfs count again ($i) under load" ok $MP/install "vfs_statfs count"
	sleep 0.5
	expect_errno "revert vfs_statfs ($i) under load" ok $MP/revert vfs_statfs
done
check "stat -f / works after revert" sh -c 'stat -f / | grep -q "Type:"'
loops_stop statfs
check "every statfs of / under load gave what it gave before patching ($WRONG differed)" [ "$WRONG" = 0 ]
echo 0 > /sys/module/markpatch/parameters/install_delay_ms
echo vfs_statfs > $MP/decode
check "vfs_statfs bytes restored exactly" same_as_decode /tmp/before
check "patches is empty" [ -z "$(cat $MP/patches)" ]
finish
