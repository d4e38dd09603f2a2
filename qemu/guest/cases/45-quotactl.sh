# quotactl(2) and quotactl_fd(2) answered for the file systems the quota
# knows (the kernel has no quota support of its own here: ENOSYS before the
# hooks): Q_SETQUOTA sets a limit that is then enforced, Q_GETQUOTA reads
# limits and usage (a user their own, root anyone's), Q_GETNEXTQUOTA walks
# the limited users, Q_GETINFO/Q_SETINFO the grace periods, Q_GETFMT the
# format; by a path on the file system, by an fd, and (ext2) by its block
# device, with or without a limit on it yet; a group quota is off (ESRCH).
. "${MPTESTS:-/tests}/lib.sh"
load_markpatch
need_engine
revert_all
K=1024 M=1048576
Q=$MPTESTS/bin/qctl
MNT=/tmp/quotactl.$$
quota_mounts $MNT

out=$($Q get $MNT/ram 1000)
check "before the hooks, quotactl is the kernel's: ENOSYS ($out)" [ "$out" = "errno 38 ENOSYS" ]
quota_patches install

for fs in ram tmpfs ext; do
	d=$MNT/$fs
	[ $fs = tmpfs ] && Q="$MPTESTS/bin/qctl --fd" || Q=$MPTESTS/bin/qctl
	echo "--- $d ($Q)"
	out=$($Q fmt $d); check "$fs: Q_GETFMT: vfsv0 ($out)" [ "$out" = "fmt 2" ]
	out=$($Q get $d 1000); check "$fs: no limit yet: zeros ($out)" [ "$out" = "bhard 0 bsoft 0 space 0 ihard 0 isoft 0 inodes 0 btime 0 itime 0 valid 63" ]
	out=$($Q set $d 1000 512 1024 0 20); check "$fs: Q_SETQUOTA 1 MiB hard, 512 KiB soft, 20 inodes ($out)" [ "$out" = ok ]
	line=$(awk -v d=$d '$1 == 1000 && $3 == d' $MP/quota)
	check "$fs: the quota file shows it ($line)" sh -c "echo '$line' | grep -q '^1000 1048576 $d 0 soft=524288 inodes=20 isoft=0 files=0 '"
	# (no fill without a limit: it would fill the guest's memory)
	out=none
	[ -n "$line" ] && out=$(asuser "$MPTESTS/bin/fileops fill $d/big 0 $((64 * K))")
	check "$fs: enforced: a fill stops with EDQUOT ($out)" [ "${out##* }" = EDQUOT ]
	out=$($Q get $d 1000)
	echo "get: $out"
	check "$fs: Q_GETQUOTA shows the limits in 1 KiB blocks" sh -c "echo '$out' | grep -q '^bhard 1024 bsoft 512 '"
	used=$(quota_used $d)
	check "$fs: and the usage in bytes ($used)" sh -c "echo '$out' | grep -q ' space $used ihard 20 isoft 0 inodes 1 '"
	check "$fs: a grace period runs past the soft limit" sh -c "echo '$out' | grep -qv ' btime 0 '"
	out=$(asuser "$Q get $d 1000"); check "$fs: uid 1000 reads its own quota" sh -c "echo '$out' | grep -q '^bhard 1024 '"
	out=$(asuser2 "$Q get $d 1000"); check "$fs: uid 1001 may not read uid 1000's ($out)" [ "$out" = "errno 1 EPERM" ]
	out=$(asuser "$Q set $d 1000 0 0 0 0"); check "$fs: uid 1000 may not change it ($out)" [ "$out" = "errno 1 EPERM" ]
	out=$($Q set $d 1002 0 2048 0 0); check "$fs: a second user ($out)" [ "$out" = ok ]
	out=$($Q next $d 0); check "$fs: Q_GETNEXTQUOTA from 0: uid 1000 ($out)" sh -c "echo '$out' | grep -q '^id 1000 bhard 1024 '"
	out=$($Q next $d 1001); check "$fs: from 1001: uid 1002 ($out)" sh -c "echo '$out' | grep -q '^id 1002 bhard 2048 '"
	out=$($Q next $d 1003); check "$fs: from 1003: none ($out)" [ "$out" = "errno 2 ENOENT" ]
	out=$($Q info $d); check "$fs: Q_GETINFO: 7 days of grace ($out)" [ "$out" = "bgrace 604800 igrace 604800 valid 7" ]
	out=$($Q setinfo $d 60 120); check "$fs: Q_SETINFO ($out)" [ "$out" = ok ]
	out=$($Q info $d); check "$fs: the grace periods changed ($out)" [ "$out" = "bgrace 60 igrace 120 valid 7" ]
	out=$($Q group $d 1000); check "$fs: group quotas are off: ESRCH ($out)" [ "$out" = "errno 3 ESRCH" ]
	asuser "rm -f $d/big"
	out=$($Q set $d 1000 0 0 0 0); check "$fs: Q_SETQUOTA with no limits removes it ($out)" [ "$out" = ok ]
	check "$fs: gone from the quota file" sh -c "! awk -v d=$d '\$1 == 1000 && \$3 == d' $MP/quota | grep -q ."
	[ $fs = ext ] || $Q set $d 1002 0 0 0 0 >/dev/null
done
# ext2 by its block device, as the quota tools name it (uid 1002's limit
# is still there)
out=$($MPTESTS/bin/qctl get $LOOP 1002); check "ext2 by $LOOP: Q_GETQUOTA ($out)" sh -c "echo '$out' | grep -q '^bhard 2048 '"
out=$($MPTESTS/bin/qctl set $LOOP 1002 0 0 0 0); check "ext2 by $LOOP: Q_SETQUOTA removes it ($out)" [ "$out" = ok ]
check "ext2: no limit left" sh -c "! grep -q ' $MNT/ext ' $MP/quota"
# with no limit on it, the device is found through the caller's mountinfo
out=$($MPTESTS/bin/qctl set $LOOP 1003 0 4096 0 0); check "ext2 by $LOOP: the first limit, by Q_SETQUOTA ($out)" [ "$out" = ok ]
check "ext2: the quota file shows it on the mount point" sh -c "grep -q '^1003 4194304 $MNT/ext 0 ' $MP/quota"
out=$($MPTESTS/bin/qctl set $LOOP 1003 0 0 0 0); check "ext2 by $LOOP: removed again ($out)" [ "$out" = ok ]
out=$($MPTESTS/bin/qctl get /proc 0); check "another file system (proc): the kernel's answer, ENOSYS ($out)" [ "$out" = "errno 38 ENOSYS" ]

quota_patches revert
quota_unmounts $MNT
finish
