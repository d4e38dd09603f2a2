# The patent's first scenario: a disk quota added to a running kernel whose
# file systems have none (ramfs; tmpfs mounted without quota options), by
# patching the functions quota_hooks names with markpatch's quota hooks. For
# user 1000 with a 1 MiB limit on each: every write path (write, pwrite,
# writev, a shared mapping, fallocate, copy_file_range, truncate) stops at
# the limit (short writes up to it, then EDQUOT); df shows the limit and
# what is left; unlink, truncate and overwrite behave as with a real quota
# (tmpfs is charged its allocated pages, so a truncate that makes a hole is
# free; ramfs is charged sizes); user 1001, root and other file systems are
# untouched; reverting brings the original behaviour back at once.
. "${MPTESTS:-/tests}/lib.sh"
load_markpatch
need_engine
revert_all
K=1024 M=1048576
size() { stat -c %s "$1"; }
# dfu DIR: statfs of DIR as user 1000: sets b (blocks), f (free), s (bsize)
dfu() { set -- $(asuser "stat -f -c '%b %f %S' $1"); b=$1 f=$2 s=$3; }

# Mount points under /tmp: writable in the QEMU guest and under virtme-ng
# (whose root is the host's, read-only).
MNT=/tmp/quota.$$
mkdir -p $MNT && chmod 755 $MNT
mkdir -p $MNT/ram $MNT/tmpfs
mount -t ramfs ramfs $MNT/ram
mount -t tmpfs -o size=64m tmpfs $MNT/tmpfs
chmod 1777 $MNT/ram $MNT/tmpfs
HOOKS=$(awk '{ print $1 ":" $2 }' $MP/quota_hooks)
check "quota_hooks names the quota's patches ($(echo $HOOKS))" [ "$(echo $HOOKS | wc -w)" -ge 8 ]
for h in $HOOKS; do
	check "${h%%:*} can be patched" sh -c "echo ${h%%:*} > $MP/plan"
done

# Before: nothing limits user 1000.
op write $MNT/ram/before 0 $((2 * M))
check "before: user 1000 writes 2 MiB to ramfs ($OP_OUT)" [ "$OP_OUT" = "ok $((2 * M))" ]
rm -f $MNT/ram/before

expect_errno "limit 1 MiB for uid 1000 on $MNT/ram" ok $MP/quota "1000 $M $MNT/ram"
expect_errno "limit 1 MiB for uid 1000 on $MNT/tmpfs" ok $MP/quota "1000 $M $MNT/tmpfs"
expect_errno "a limit on a path that does not exist" ENOENT $MP/quota "1000 $M /no/such/dir"
expect_errno "a malformed limit" EINVAL $MP/quota "1000 1M $MNT/ram"
cat $MP/quota
for h in $HOOKS; do
	expect_errno "install ${h%%:*} ${h#*:}" ok $MP/install "${h%%:*} ${h#*:}"
done
cat $MP/patches

for fs in ram tmpfs; do
	d=$MNT/$fs
	echo "--- $d"
	# write: a short write up to the limit, then EDQUOT
	op write $d/a 0 $((600 * K)); check "$fs write 600 KiB ($OP_OUT)" [ "$OP_OUT" = "ok $((600 * K))" ]
	op write $d/a 0 $((600 * K)); check "$fs write 600 KiB more: short, up to the limit ($OP_OUT)" [ "$OP_OUT" = "ok $((424 * K))" ]
	check "$fs: the file holds exactly 1 MiB" [ "$(size $d/a)" = $M ]
	used=$(quota_used $d)
	check "$fs: quota shows uid 1000 using 1 MiB there ($used)" [ "$used" = $M ]
	op write $d/a 0 1; check "$fs write 1 byte when full: EDQUOT ($OP_OUT)" [ "$OP_OUT" = "errno 122 EDQUOT" ]
	# df as the user: the limit as the size, nothing left
	dfu $d
	echo "df as uid 1000: blocks=$b free=$f bsize=$s"
	check "$fs: df as uid 1000 shows the limit as the size" [ $((b * s)) = $M ]
	check "$fs: df as uid 1000 shows nothing free" [ "$f" = 0 ]
	check "$fs: df as root is not the quota" [ "$(stat -f -c '%b' $d)" != "$b" ]
	# overwrite inside the file is free
	op pwrite $d/a 1000 $((100 * K)); check "$fs pwrite inside the file when full ($OP_OUT)" [ "$OP_OUT" = "ok $((100 * K))" ]
	op mmap $d/a 4096 $((64 * K)); check "$fs store through a shared mapping inside the file ($OP_OUT)" [ "$OP_OUT" = "ok $((64 * K))" ]
	# other paths, each refused past the limit
	op pwrite $d/a $M 10; check "$fs pwrite past the end when full: EDQUOT ($OP_OUT)" [ "$OP_OUT" = "errno 122 EDQUOT" ]
	op writev $d/a $M 100; check "$fs writev past the end when full: EDQUOT ($OP_OUT)" [ "$OP_OUT" = "errno 122 EDQUOT" ]
	if [ $fs = tmpfs ]; then
		op fallocate $d/b 0 4096; check "$fs fallocate when full: EDQUOT ($OP_OUT)" [ "$OP_OUT" = "errno 122 EDQUOT" ]
	fi
	if [ $fs = ram ]; then
		op truncate $d/b $((2 * M)) 0; check "$fs truncate up when full: EDQUOT ($OP_OUT)" [ "$OP_OUT" = "errno 122 EDQUOT" ]
	else
		op truncate $d/b $((2 * M)) 0; check "$fs truncate up when full: a hole, free ($OP_OUT)" [ "$OP_OUT" = "ok $((2 * M))" ]
		check "$fs: the hole costs nothing ($(quota_used $d))" [ "$(quota_used $d)" = $M ]
	fi
	# ramfs: b is empty, a store past its end faults; tmpfs: b is a 2 MiB
	# hole, a store into it needs a page the quota refuses
	op mmap $d/b 0 4096; check "$fs store through a mapping past the end or into a hole when full: SIGBUS ($OP_OUT)" [ "$OP_OUT" = "errno 0 SIGBUS" ]
	# truncate down frees quota
	op truncate $d/a $((512 * K)) 0; check "$fs truncate down to 512 KiB ($OP_OUT)" [ "$OP_OUT" = "ok $((512 * K))" ]
	op writev $d/a $((512 * K)) $((300 * K)); check "$fs writev 300 KiB after the truncate ($OP_OUT)" [ "$OP_OUT" = "ok $((300 * K))" ]
	if [ $fs = ram ]; then
		# ramfs has no fallocate at all (EOPNOTSUPP, with or without the
		# patch): grow b with pwrite instead.
		op fallocate $d/b 0 4096; check "$fs has no fallocate ($OP_OUT)" [ "$OP_OUT" = "errno 95 EOPNOTSUPP" ]
		op pwrite $d/b 0 $((200 * K)); check "$fs pwrite 200 KiB to a new file ($OP_OUT)" [ "$OP_OUT" = "ok $((200 * K))" ]
	else
		op fallocate $d/b 0 $((200 * K)); check "$fs fallocate 200 KiB ($OP_OUT)" [ "$OP_OUT" = "ok $((200 * K))" ]
	fi
	if [ $fs = tmpfs ]; then
		op fallocate-keep $d/b $((200 * K)) $((100 * K)); check "$fs fallocate --keep-size past the limit: EDQUOT ($OP_OUT)" [ "$OP_OUT" = "errno 122 EDQUOT" ]
	fi
	op copy $d/c 0 $((100 * K)) $d/a; check "$fs copy_file_range 100 KiB: short, up to the limit ($OP_OUT)" [ "$OP_OUT" = "ok $((12 * K))" ]
	op copy $d/c $((12 * K)) 10 $d/a; check "$fs copy_file_range when full: EDQUOT ($OP_OUT)" [ "$OP_OUT" = "errno 122 EDQUOT" ]
	dfu $d
	check "$fs: df as uid 1000 still shows nothing free" [ "$f" = 0 ]
	# unlink frees quota
	asuser "rm $d/a $d/b $d/c"
	dfu $d
	check "$fs: after rm, df shows the whole limit free" [ $((f * s)) = $M ]
	op write $d/a 0 $((1000 * K)); check "$fs write 1000 KiB after rm ($OP_OUT)" [ "$OP_OUT" = "ok $((1000 * K))" ]
	# other users and root are untouched
	out=$(asuser2 "$MPTESTS/bin/fileops write $d/u2 0 $((2 * M))")
	check "$fs: user 1001 writes 2 MiB ($out)" [ "$out" = "ok $((2 * M))" ]
	out=$($MPTESTS/bin/fileops write $d/root 0 $((2 * M)))
	check "$fs: root writes 2 MiB ($out)" [ "$out" = "ok $((2 * M))" ]
	rm -f $d/u2 $d/root
done
# Another file system (the guest's /tmp) is untouched.
op write /tmp/q-other 0 $((2 * M)); check "uid 1000 writes 2 MiB to /tmp, which has no limit ($OP_OUT)" [ "$OP_OUT" = "ok $((2 * M))" ]
rm -f /tmp/q-other
cat $MP/quota

# Revert: the original behaviour at once.
for h in $HOOKS; do
	expect_errno "revert ${h%%:*}" ok $MP/revert "${h%%:*}"
done
op write $MNT/ram/a 0 $((2 * M)); check "after revert: uid 1000 writes past the old limit ($OP_OUT)" [ "$OP_OUT" = "ok $((2 * M))" ]
check "after revert: df as uid 1000 shows the file system again" [ "$(asuser "stat -f -c '%b' $MNT/tmpfs")" = "$(stat -f -c '%b' $MNT/tmpfs)" ]
expect_errno "remove the limit on $MNT/ram" ok $MP/quota "1000 0 $MNT/ram"
expect_errno "remove the limit on $MNT/tmpfs" ok $MP/quota "1000 0 $MNT/tmpfs"
expect_errno "remove a limit that is not there" ENOENT $MP/quota "1000 0 $MNT/tmpfs"
rm -rf $MNT/ram/* $MNT/tmpfs/*
umount $MNT/ram && umount $MNT/tmpfs
check "the file systems unmount once the limits are gone" [ $? = 0 ]
rmdir $MNT/ram $MNT/tmpfs $MNT
finish
