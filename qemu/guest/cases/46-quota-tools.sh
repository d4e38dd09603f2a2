# Debian's quota tools (quota 4.06: setquota, quota, repquota, quotacheck,
# quotaon), run as an administrator would, against ext2 mounted without
# quota support: with the quota hooks installed the mount shows usrquota,
# setquota sets limits that are enforced, quota and repquota report them
# with the usage; on ramfs the tools refuse, for the reasons they print;
# after the revert they find no quota again.
. "${MPTESTS:-/tests}/lib.sh"
load_markpatch
need_engine
revert_all
export PATH=$PATH:/usr/sbin:/usr/bin
MNT=/tmp/quotatools.$$
# the names the tools print for uids 1000 and 1001 (under virtme-ng the
# accounts are the host's, which may have none: the tools print "#UID")
name() { awk -F: -v u=$1 '$3 == u { print $1; exit }' /etc/passwd | grep . || echo "#$1"; }
U1=$(name 1000) U2=$(name 1001)
quota_mounts $MNT
d=$MNT/ext

out=$(setquota -u 1000 1024 2048 3 5 $d 2>&1)
echo "$out"
check "before the hooks: setquota finds no quota on ext2" sh -c "echo '$out' | grep -q 'has no quota enabled'"
check "no usrquota in the mount table" sh -c "! grep -q usrquota /proc/mounts"
quota_patches install
grep " $MNT/" /proc/mounts
check "with the hooks, ext2 shows usrquota in /proc/mounts" grep -q " $d ext2 .*,usrquota " /proc/mounts
check "and ramfs" grep -q " $MNT/ram ramfs .*,usrquota " /proc/mounts
check "not tmpfs (its own quota takes that option)" sh -c "! grep -q ' $MNT/tmpfs tmpfs .*usrquota' /proc/mounts"
check "/proc/sys/fs/quota is there, as the tools expect" [ -d /proc/sys/fs/quota ]

# setquota: 1 MiB soft, 2 MiB hard, 3 files soft, 5 hard
out=$(setquota -u 1000 1024 2048 3 5 $d 2>&1); rc=$?
check "setquota -u 1000 1024 2048 3 5: exit 0 ($out)" [ $rc = 0 ]
check "the limit is the quota's: sysfs shows it" grep -q "^1000 2097152 $d 0 soft=1048576 inodes=5 isoft=3 " $MP/quota
asuser "dd if=/dev/zero of=$d/f bs=64k count=8 2>/dev/null"
out=$(asuser quota); echo "$out"
used=$(quota_used $d)
line=$(echo "$out" | awk -v dev=$LOOP '$1 == dev')
check "quota (as uid 1000): $LOOP, its usage in KiB ($used bytes), limits 1024 2048, 1 file of 3 5" \
	[ "$(echo $line)" = "$LOOP $((used / 1024)) 1024 2048 1 3 5" ]
out=$(asuser "dd if=/dev/zero of=$d/g bs=64k count=48" 2>&1); echo "$out"
check "a write past the hard limit: Disk quota exceeded" sh -c "echo '$out' | grep -q 'Disk quota exceeded'"
out=$(asuser quota); rc=$?; echo "$out"
line=$(echo "$out" | awk -v dev=$LOOP '$1 == dev')
check "quota: at the hard limit, over the soft one, in grace (exit $rc)" \
	[ "$(echo $line)" = "$LOOP 2048* 1024 2048 7days 2 3 5" ] && [ $rc = 1 ]
# setquota -T: this user's grace time, from now (seconds)
out=$(setquota -T -u 1000 3600 7200 $d 2>&1); echo "$out"
ends=$(awk -v d=$d '$1 == 1000 && $3 == d { for (i = 5; i <= NF; i++) if (sub("^grace_ends=", "", $i)) print $i }' $MP/quota)
left=$(( ${ends:-0} - $(date +%s) ))
check "setquota -T -u 1000 3600 7200: the block grace period ends in an hour ($left s)" [ $left -gt 3500 ] && [ $left -le 3600 ]
out=$(quota -v -u 1001 2>&1); echo "$out"
check "quota -v -u 1001 (root): no limits, zeros" sh -c "echo '$out' | awk -v dev=$LOOP '\$1 == dev' | grep -Eq '^ *$LOOP +0 +0 +0 +0 +0 +0 *$'"

# repquota reads aquota.user, which it asks the kernel to write (Q_SYNC):
# there is none until the administrator makes it, as on any vfsv0 quota
out=$(repquota $d 2>&1); echo "$out"
check "repquota without a quota file: says it cannot open aquota.user" sh -c "echo '$out' | grep -q 'Cannot open quotafile $d/aquota.user'"
out=$(quotacheck -cuf $d 2>&1); rc=$?
check "quotacheck -cuf makes aquota.user (exit $rc $out)" [ $rc = 0 ] && [ -f $d/aquota.user ]
# a quota file that is not root's own is never written on root's behalf
cp $d/aquota.user /tmp/aquota.ref
chown 1000 $d/aquota.user
out=$(repquota $d 2>&1); echo "$out"
check "repquota with aquota.user owned by uid 1000: Q_SYNC refused" \
	sh -c "echo '$out' | grep -q 'Cannot sync quotas on device $LOOP: Operation not permitted'"
check "and the file is untouched" cmp -s $d/aquota.user /tmp/aquota.ref
check "dmesg says why" sh -c "dmesg | grep -q 'quota: Q_SYNC: .*aquota.user is not a file of root.s with one link: not written'"
chown 0 $d/aquota.user
out=$(repquota $d 2>&1); echo "$out"
line=$(echo "$out" | awk -v u=$U1 '$1 == u')
check "repquota: $U1 at 2048 of 1024/2048, grace ending in an hour, 2 files of 3/5" [ "$(echo $line)" = "$U1 +- 2048 1024 2048 01:00 2 3 5" ]
check "repquota: only limited users are listed (root has none)" sh -c "! echo '$out' | awk '\$1 == \"root\"' | grep -q ."
setquota -u 1001 0 512 0 0 $d
out=$(setquota -t 3600 7200 $d 2>&1); check "setquota -t 3600 7200 ($out)" [ -z "$out" ]
out=$(repquota -v -s $d 2>&1); echo "$out"
check "repquota -v -s: the grace periods" sh -c "echo '$out' | grep -q 'Block grace time: 01:00; Inode grace time: 02:00'"
line=$(echo "$out" | awk -v u=$U2 '$1 == u')
check "repquota -v -s (all users, even with no usage): user2's hard limit of 512K ($line)" [ "$(echo $line)" = "$U2 -- 0K 0K 512K 0 0 0" ]
out=$(quotaon -pu $d 2>&1); echo "$out"
check "quotaon -p: user quota is on" sh -c "echo '$out' | grep -q 'user quota on $d ($LOOP) is on'"

# ramfs: the tools pass it over, for reasons of their own (its statfs
# reports no blocks, which they take for an automount point, and it has no
# device); the quota file in sysfs and quotactl by path serve it
out=$(setquota -u 1000 1024 2048 0 0 $MNT/ram 2>&1); echo "$out"
check "ramfs: setquota says it finds no quota there" sh -c "echo '$out' | grep -q 'not found or has no quota enabled'"

asuser "rm -f $d/f $d/g"
setquota -u 1000 0 0 0 0 $d
setquota -u 1001 0 0 0 0 $d
out=$(repquota $d 2>&1); echo "$out"
check "removed with setquota: repquota lists nobody, sysfs neither" \
	sh -c "! echo '$out' | awk -v a=$U1 -v b=$U2 '\$1 == a || \$1 == b' | grep -q . && ! grep -q ' $d ' $MP/quota"

quota_patches revert
check "after the revert, no usrquota in the mount table" sh -c "! grep -q usrquota /proc/mounts"
out=$(setquota -u 1000 1024 2048 3 5 $d 2>&1); rc=$?
check "and setquota finds no quota again (exit $rc)" [ $rc != 0 ]
rm -f $d/aquota.user
quota_unmounts $MNT
finish
