# The disk quota on ext2 (a file system with blocks on a disk, mounted
# without quota support) and on tmpfs, as an administrator would try it:
# for user 1000 with a 1 MiB limit, dd of 3 MiB stops at the limit with
# EDQUOT; O_DIRECT writes stop at it too; the usage survives the inodes
# being evicted (drop_caches); unlink and chown move usage; the usage shown
# is what the user's files hold on the disk (their allocated blocks), and
# a limit set on a file system where the user already has files starts
# from what they hold (read back from the disk, hard links once, an open
# unlinked file included).
. "${MPTESTS:-/tests}/lib.sh"
load_markpatch
need_engine
revert_all
K=1024 M=1048576
# alloc_of DIR: bytes allocated to the regular files uid 1000 owns in DIR
alloc_of() {
	find $1 -user 1000 -type f -exec stat -c %b {} + | awk '{ s += $1 * 512 } END { print s + 0 }'
}

MNT=/tmp/quota-ext2.$$
quota_mounts $MNT

# Before: nothing limits user 1000 (the dd of 3 MiB).
op fill $MNT/ext/before 0 $((64 * K))
check "before: uid 1000 fills ext2 past 3 MiB ($OP_OUT)" [ "${OP_OUT%% *}" = full ] && [ "$(echo $OP_OUT | cut -d' ' -f2)" -gt $((3 * M)) ]
rm -f $MNT/ext/before

# Files of the user before the limit: a file and a hard link to it, a
# directory with a file, and a file unlinked while a process holds it open.
e=$MNT/ext
asuser "$MPTESTS/bin/fileops pwrite $e/pre 0 $((300 * K)) && ln $e/pre $e/pre-link && mkdir $e/dir &&
	$MPTESTS/bin/fileops pwrite $e/dir/sub 0 $((40 * K)) && $MPTESTS/bin/fileops pwrite $e/ghost 0 $((100 * K))" >/dev/null
ghost=$(($(stat -c %b $e/ghost) * 512))
asuser "exec 3<$e/ghost; rm $e/ghost; echo \$\$ > /tmp/ghost-open.$$; exec sleep 120" &
poll 10 test -s /tmp/ghost-open.$$
# what they hold: every inode of uid 1000 once
named=$(find $e -user 1000 -exec stat -c '%i %b' {} + | sort -u | awk '{ s += $2 * 512 } END { print s + 0 }')
sync; echo 2 > /proc/sys/vm/drop_caches
expect_errno "limit 1 MiB for uid 1000 on ext2" ok $MP/quota "1000 $M $MNT/ext"
check "ext2: the new limit starts from what the user holds ($named + $ghost = $(quota_used $e))" [ "$(quota_used $e)" = $((named + ghost)) ]
expect_errno "limit 1 MiB for uid 1000 on tmpfs" ok $MP/quota "1000 $M $MNT/tmpfs"
quota_patches install
cat $MP/patches
kill $(cat /tmp/ghost-open.$$); wait
rm -f /tmp/ghost-open.$$
poll 10 [ "$(quota_used $e)" = "$named" ]
check "ext2: the unlinked file's blocks are given back when it is closed ($(quota_used $e) = $named)" [ "$(quota_used $e)" = "$named" ]
asuser "rm -r $e/pre $e/pre-link $e/dir"
check "ext2: rm of the rest leaves nothing used ($(quota_used $e))" [ "$(quota_used $e)" = 0 ]

for fs in ext tmpfs; do
	d=$MNT/$fs
	echo "--- $d"
	# dd of 3 MiB, 64 KiB at a time: stops at the limit with EDQUOT
	op fill $d/big 0 $((64 * K))
	echo "fill: $OP_OUT; allocated $(alloc_of $d); quota says $(quota_used $d)"
	check "$fs: a 3 MiB dd stops with EDQUOT ($OP_OUT)" [ "${OP_OUT##* }" = EDQUOT ]
	a=$(alloc_of $d)
	check "$fs: the user's files hold at most the limit ($a)" [ "$a" -le $M ]
	check "$fs: and use all but at most one block of it ($a)" [ "$a" -ge $((M - 4 * K)) ]
	check "$fs: quota shows what the files hold ($(quota_used $d) = $a)" [ "$(quota_used $d)" = "$a" ]
	# O_DIRECT past the limit: nothing more
	op dwrite $d/direct 0 $((256 * K))
	check "$fs: an O_DIRECT write when full: EDQUOT ($OP_OUT)" [ "$OP_OUT" = "errno 122 EDQUOT" ]
	asuser "rm -f $d/big $d/direct"
	check "$fs: after rm, nothing is used ($(quota_used $d))" [ "$(quota_used $d)" = 0 ]
	# O_DIRECT: 2 MiB at once is cut short at the limit
	op dwrite $d/direct 0 $((2 * M))
	a=$(alloc_of $d)
	echo "O_DIRECT 2 MiB: $OP_OUT; allocated $a"
	check "$fs: O_DIRECT 2 MiB holds at most the limit ($OP_OUT, $a)" [ "$a" -le $M ]
	check "$fs: quota shows it ($(quota_used $d) = $a)" [ "$(quota_used $d)" = "$a" ]
	asuser "rm -f $d/direct"
	# usage survives eviction
	op pwrite $d/keep 0 $((768 * K))
	check "$fs: write 768 KiB ($OP_OUT)" [ "$OP_OUT" = "ok $((768 * K))" ]
	before=$(quota_used $d)
	sync; echo 2 > /proc/sys/vm/drop_caches
	check "$fs: drop_caches leaves the usage as it was ($before, $(quota_used $d))" [ "$(quota_used $d)" = "$before" ]
	op fill $d/more 0 $((64 * K))
	a=$(alloc_of $d)
	check "$fs: after drop_caches, writes still stop at the limit ($OP_OUT, $a)" [ "$a" -le $M ]
	asuser "rm -f $d/more"
	# chown moves the usage: a file root made, given to the user, counts
	$MPTESTS/bin/fileops pwrite $d/gift 0 $((200 * K)) >/dev/null
	before=$(quota_used $d)
	chown 1000 $d/gift
	g=$(stat -c %b $d/gift)
	check "$fs: chown to uid 1000 charges the file ($before + $((g * 512)) = $(quota_used $d))" [ "$(quota_used $d)" = $((before + g * 512)) ]
	op fill $d/more 0 $((64 * K))
	check "$fs: the user's room shrank by the gift ($(alloc_of $d))" [ "$(alloc_of $d)" -le $M ]
	asuser "rm -f $d/more"
	chown 0 $d/gift
	check "$fs: chown back to root frees it ($(quota_used $d) = $before)" [ "$(quota_used $d)" = "$before" ]
	rm -f $d/gift
	asuser "rm -f $d/keep"
	check "$fs: nothing used at the end ($(quota_used $d))" [ "$(quota_used $d)" = 0 ]
	# other users untouched
	out=$(asuser2 "$MPTESTS/bin/fileops pwrite $d/u2 0 $((2 * M))")
	check "$fs: user 1001 writes 2 MiB ($out)" [ "$out" = "ok $((2 * M))" ]
	rm -f $d/u2
done

quota_patches revert
expect_errno "remove the limit on ext2" ok $MP/quota "1000 0 $MNT/ext"
expect_errno "remove the limit on tmpfs" ok $MP/quota "1000 0 $MNT/tmpfs"
quota_unmounts $MNT
finish
