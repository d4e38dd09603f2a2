# The quota's other limits, as setquota knows them: an inode (file count)
# limit on ramfs, tmpfs and ext2 (creating a file, a directory or a symlink
# past it fails with EDQUOT; deleting and chown move the count), and soft
# limits with a grace period (past the soft limit writes go on until the
# grace period ends, then fail; coming back under it clears the grace); a
# limit lowered below the usage; root, who is not held to limits; a file
# system the quota does not know.
. "${MPTESTS:-/tests}/lib.sh"
load_markpatch
need_engine
revert_all
K=1024 M=1048576
# field DIR NAME: a name=value field of uid 1000's quota line on DIR
field() { awk -v d=$1 -v n=$2 '$1 == 1000 && $3 == d { for (i = 5; i <= NF; i++) if (index($i, n "=") == 1) print substr($i, length(n) + 2) }' $MP/quota; }
# as CMD: runs CMD as uid 1000; AS_OUT is its output, AS_RC its status
as() { AS_OUT=$(asuser "$1" 2>&1); AS_RC=$?; }
quota_err() { [ "$AS_RC" != 0 ] && echo "$AS_OUT" | grep -q "quota"; }

MNT=/tmp/quota-lim.$$
quota_mounts $MNT
quota_patches install

for fs in ram tmpfs ext; do
	d=$MNT/$fs
	echo "--- $d: at most 5 inodes"
	as "touch $d/before"
	expect_errno "$fs: a limit of 5 inodes and no byte limit" ok $MP/quota "1000 0 $d inodes=5"
	check "$fs: the file made before counts ($(field $d files))" [ "$(field $d files)" = 1 ]
	as "touch $d/f2 && mkdir $d/dir && ln -s f2 $d/link && touch $d/dir/f5"
	check "$fs: a file, a directory, a symlink and a file in it: 5 ($AS_OUT)" [ "$AS_RC" = 0 ]
	check "$fs: quota counts 5 ($(field $d files))" [ "$(field $d files)" = 5 ]
	as "touch $d/f6"; check "$fs: a sixth file: EDQUOT ($AS_OUT)" quota_err
	as "mkdir $d/dir2"; check "$fs: a directory: EDQUOT ($AS_OUT)" quota_err
	as "ln -s f2 $d/link2"; check "$fs: a symlink: EDQUOT ($AS_OUT)" quota_err
	check "$fs: nothing was made" [ ! -e $d/f6 ] && [ ! -e $d/dir2 ] && [ ! -L $d/link2 ]
	check "$fs: df -i as uid 1000 shows the limit ($(asuser "stat -f -c '%c %d' $d"))" \
		[ "$(asuser "stat -f -c '%c %d' $d")" = "5 0" ]
	as "rm $d/before && touch $d/f6"
	check "$fs: rm one, then one more fits ($AS_OUT)" [ "$AS_RC" = 0 ]
	touch $d/rootfile && chown 1000 $d/rootfile
	check "$fs: chown of root's file to uid 1000 counts it ($(field $d files))" [ "$(field $d files)" = 6 ]
	as "rm -r $d/f2 $d/dir $d/link $d/f6 $d/rootfile"
	check "$fs: rm of everything: 0 ($(field $d files))" [ "$(field $d files)" = 0 ]
	expect_errno "$fs: remove the limit" ok $MP/quota "1000 0 $d"
done

# Soft limit on bytes, with a grace period of 2 s (tmpfs, charged pages;
# ramfs, charged sizes).
for fs in tmpfs ram; do
	d=$MNT/$fs
	echo "--- $d: soft 256 KiB, grace 2 s, hard 1 MiB"
	expect_errno "$fs: soft and hard byte limits" ok $MP/quota "1000 $M $d soft=$((256 * K)) grace=2"
		op pwrite $d/a 0 $((200 * K)); check "$fs: 200 KiB, under the soft limit ($OP_OUT)" [ "$OP_OUT" = "ok $((200 * K))" ]
	check "$fs: no grace running ($(field $d grace_ends))" [ "$(field $d grace_ends)" = 0 ]
	op pwrite $d/b 0 $((100 * K)); check "$fs: 100 KiB more, past the soft limit: allowed ($OP_OUT)" [ "$OP_OUT" = "ok $((100 * K))" ]
	check "$fs: a grace period runs ($(field $d grace_ends))" [ "$(field $d grace_ends)" -gt 0 ]
	op pwrite $d/c 0 $((4 * K)); check "$fs: within the grace period, still allowed ($OP_OUT)" [ "$OP_OUT" = "ok $((4 * K))" ]
	sleep 3
	op pwrite $d/c $((4 * K)) $((4 * K)); check "$fs: after the grace period: EDQUOT ($OP_OUT)" [ "$OP_OUT" = "errno 122 EDQUOT" ]
	asuser "rm $d/b $d/c"
	check "$fs: back under the soft limit, the grace is cleared ($(field $d grace_ends))" [ "$(field $d grace_ends)" = 0 ]
	op pwrite $d/c 0 $((4 * K)); check "$fs: and writes are allowed again ($OP_OUT)" [ "$OP_OUT" = "ok $((4 * K))" ]
	asuser "rm $d/a $d/c"
	expect_errno "$fs: remove the limit" ok $MP/quota "1000 0 $d"
done

# A limit lowered below the usage refuses growth until enough is freed;
# root is not held to the limit, but what it writes is charged to the owner.
d=$MNT/tmpfs
expect_errno "tmpfs: a 1 MiB limit" ok $MP/quota "1000 $M $d"
op pwrite $d/a 0 $((512 * K)); check "tmpfs: 512 KiB ($OP_OUT)" [ "$OP_OUT" = "ok $((512 * K))" ]
expect_errno "tmpfs: the limit lowered to 256 KiB, below the usage" ok $MP/quota "1000 $((256 * K)) $d"
op pwrite $d/b 0 4096; check "tmpfs: a new page is refused: EDQUOT ($OP_OUT)" [ "$OP_OUT" = "errno 122 EDQUOT" ]
out=$($MPTESTS/bin/fileops pwrite $d/a $((512 * K)) $((64 * K)))
check "tmpfs: root appends 64 KiB to the user's file over the limit ($out)" [ "$out" = "ok $((64 * K))" ]
check "tmpfs: charged to the user ($(quota_used $d))" [ "$(quota_used $d)" = $((576 * K)) ]
# a symlink whose target needs a page when no page fits: refused, and the
# inode it was about to be is not left counted
files=$(field $d files)
as "ln -s $(printf '%0200d' 0) $d/long"; check "tmpfs: a long symlink when full: EDQUOT ($AS_OUT)" quota_err
check "tmpfs: the inode count is as before ($files = $(field $d files))" [ "$(field $d files)" = "$files" ]
asuser "rm $d/a"
op pwrite $d/b 0 4096; check "tmpfs: after rm, allowed again ($OP_OUT)" [ "$OP_OUT" = "ok 4096" ]
asuser "rm $d/b"
expect_errno "tmpfs: remove the limit" ok $MP/quota "1000 0 $d"
expect_errno "a limit on a file system the quota does not know (proc)" EOPNOTSUPP $MP/quota "1000 $M /proc"

# Soft limit on inodes (ext2).
d=$MNT/ext
expect_errno "ext: soft limit of 2 inodes, grace 2 s, hard 10" ok $MP/quota "1000 0 $d inodes=10 isoft=2 igrace=2"
as "touch $d/i1 $d/i2 $d/i3"; check "ext: three files, past the soft limit ($AS_OUT)" [ "$AS_RC" = 0 ]
check "ext: an inode grace period runs ($(field $d igrace_ends))" [ "$(field $d igrace_ends)" -gt 0 ]
sleep 3
as "touch $d/i4"; check "ext: after the grace period, a fourth: EDQUOT ($AS_OUT)" quota_err
as "rm $d/i1 $d/i2 $d/i3 && touch $d/i4"; check "ext: back under, allowed again ($AS_OUT)" [ "$AS_RC" = 0 ]
asuser "rm $d/i4"
expect_errno "ext: remove the limit" ok $MP/quota "1000 0 $d"

expect_errno "options must be known" EINVAL $MP/quota "1000 0 $d hard=5"
expect_errno "each option once" EINVAL $MP/quota "1000 0 $d soft=5 soft=6"

quota_patches revert
quota_unmounts $MNT
finish
