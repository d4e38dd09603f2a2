# A hard limit holds under concurrency: 8 writers of user 1000 at once, each
# trying to fill the whole 1 MiB limit in its own file (dd, 16 KiB at a
# time), on ramfs, tmpfs and ext2. What the user's files hold at the end is
# within the limit: exactly the limit on ramfs (charged by size) and tmpfs
# (by pages), within one block per writer of it on ext2 (whose allocations
# may need an indirect block that the last block cannot hold).
. "${MPTESTS:-/tests}/lib.sh"
load_markpatch
need_engine
revert_all
K=1024 M=1048576
used() { awk -v d=$1 '$1 == 1000 && $3 == d { print $4 }' $MP/quota; }
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
mkdir -p $MNT/ram $MNT/tmpfs $MNT/ext
mount -t ramfs ramfs $MNT/ram
mount -t tmpfs -o size=64m tmpfs $MNT/tmpfs
dd if=/dev/zero of=$MNT/ext.img bs=1M count=16 2>/dev/null
LOOP=$(losetup -f)
losetup $LOOP $MNT/ext.img && mke2fs -q -b 4096 $LOOP && mount -t ext2 $LOOP $MNT/ext
check "ext2 mounted on $LOOP" grep -q " $MNT/ext ext2 " /proc/mounts
chmod 1777 $MNT/ram $MNT/tmpfs $MNT/ext
for fs in ram tmpfs ext; do
	expect_errno "limit 1 MiB for uid 1000 on $fs" ok $MP/quota "1000 $M $MNT/$fs"
done
while read -r fn hook; do
	expect_errno "install $fn $hook" ok $MP/install "$fn $hook"
done < $MP/quota_hooks

for fs in ram tmpfs ext; do
	d=$MNT/$fs
	for i in 1 2 3 4 5 6 7 8; do
		asuser "$MPTESTS/bin/fileops fill $d/w$i 0 $((16 * K))" > /tmp/conc.$i &
	done
	wait
	cat /tmp/conc.* | sort | uniq -c
	refused=$(cat /tmp/conc.* | grep -c 'EDQUOT$')
	h=$(held $d)
	echo "$fs: 8 writers: $refused ended with EDQUOT, the files hold $h, quota says $(used $d)"
	check "$fs: every writer ended with EDQUOT ($refused of 8)" [ "$refused" = 8 ]
	check "$fs: the files hold at most the limit ($h <= $M)" [ "$h" -le $M ]
	if [ $fs = ext ]; then
		check "$fs: and all but at most a block per writer of it ($h)" [ "$h" -ge $((M - 8 * 4 * K)) ]
	else
		check "$fs: and exactly the limit ($h)" [ "$h" = $M ]
	fi
	check "$fs: quota shows what the files hold ($(used $d) = $h)" [ "$(used $d)" = "$h" ]
	asuser "rm -f $d/w*"
	check "$fs: nothing used after rm ($(used $d))" [ "$(used $d)" = 0 ]
	rm -f /tmp/conc.*
done

while read -r fn hook; do
	expect_errno "revert $fn" ok $MP/revert "$fn"
done < $MP/quota_hooks
for fs in ram tmpfs ext; do
	expect_errno "remove the limit on $fs" ok $MP/quota "1000 0 $MNT/$fs"
done
umount $MNT/ext && losetup -d $LOOP && umount $MNT/ram && umount $MNT/tmpfs
check "the file systems unmount once the limits are gone" [ $? = 0 ]
rm -rf $MNT
finish
