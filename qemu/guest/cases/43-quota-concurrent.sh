# A hard limit holds under concurrency: 8 writers of user 1000 at once, each
# trying to fill the whole 1 MiB limit in its own file (dd, 16 KiB at a
# time), on ramfs, tmpfs and ext2. What the user's files hold at the end is
# within the limit: exactly the limit on ramfs (charged by size) and tmpfs
# (by pages), within one block per writer of it on ext2 (whose allocations
# may need an indirect block that the last block cannot hold). Each
# allocation is charged once, by its outcome: the same holds with
# inode_add_bytes patched too, as quota_hooks lists it on a kernel whose ext2
# has extended attributes (and only there).
. "${MPTESTS:-/tests}/lib.sh"
load_markpatch
need_engine
revert_all
K=1024 M=1048576
# held DIR: what uid 1000's files in DIR are charged: sizes on ramfs,
# allocated bytes elsewhere
held() {
	if [ "$(awk -v d=$1 '$2 == d { print $3 }' /proc/mounts)" = ramfs ]; then
		find $1 -user 1000 -type f -exec stat -c %s {} + | awk '{ s += $1 } END { print s + 0 }'
	else
		find $1 -user 1000 -type f -exec stat -c %b {} + | awk '{ s += $1 * 512 } END { print s + 0 }'
	fi
}

MNT=/tmp/quota-conc.$$
quota_mounts $MNT
for fs in ram tmpfs ext; do
	expect_errno "limit 1 MiB for uid 1000 on $fs" ok $MP/quota "1000 $M $MNT/$fs"
done
quota_patches install

# writers FS...: the 8 writers on each FS, checked
writers() {
	for fs in "$@"; do
		d=$MNT/$fs
		for i in 1 2 3 4 5 6 7 8; do
			asuser "$MPTESTS/bin/fileops fill $d/w$i 0 $((16 * K))" > /tmp/conc.$i &
		done
		wait
		cat /tmp/conc.* | sort | uniq -c
		refused=$(cat /tmp/conc.* | grep -c 'EDQUOT$')
		h=$(held $d)
		echo "$fs: 8 writers: $refused ended with EDQUOT, the files hold $h, quota says $(quota_used $d)"
		check "$fs$round: every writer ended with EDQUOT ($refused of 8)" [ "$refused" = 8 ]
		check "$fs$round: the files hold at most the limit ($h <= $M)" [ "$h" -le $M ]
		if [ $fs = ext ]; then
			check "$fs$round: and all but at most a block per writer of it ($h)" [ "$h" -ge $((M - 8 * 4 * K)) ]
		else
			check "$fs$round: and exactly the limit ($h)" [ "$h" = $M ]
		fi
		check "$fs$round: quota shows what the files hold ($(quota_used $d) = $h)" [ "$(quota_used $d)" = "$h" ]
		asuser "rm -f $d/w*"
		check "$fs$round: nothing used after rm ($(quota_used $d))" [ "$(quota_used $d)" = 0 ]
		rm -f /tmp/conc.*
	done
}
round=
writers ram tmpfs ext

if grep -q ' ext2_xattr_set$' /proc/kallsyms; then
	check "quota_hooks lists inode_add_bytes (ext2 has extended attributes)" grep -q '^inode_add_bytes ' $MP/quota_hooks
else
	check "quota_hooks leaves inode_add_bytes out (ext2 has no extended attributes)" sh -c "! grep -q '^inode_add_bytes ' $MP/quota_hooks"
	expect_errno "install inode_add_bytes quota_add_bytes, as on a kernel where ext2 has them" ok \
		$MP/install "inode_add_bytes quota_add_bytes"
fi
round=" (inode_add_bytes patched)"
writers tmpfs ext
grep -q '^inode_add_bytes ' $MP/quota_hooks || expect_errno "revert inode_add_bytes" ok $MP/revert inode_add_bytes

quota_patches revert
for fs in ram tmpfs ext; do
	expect_errno "remove the limit on $fs" ok $MP/quota "1000 0 $MNT/$fs"
done
quota_unmounts $MNT
finish
