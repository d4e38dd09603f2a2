# make bench, in the guest: what the quota hooks cost a writer. Four
# processes of uid 1000 write 24 MiB each at once in 64 KiB writes, on
# ramfs, tmpfs and ext2 (on a loop device), three ways: no hooks; the quota
# hooks installed with a limit for another user on that file system (so that
# uid 1000 is a user without a limit on a file system with limits); and with
# uid 1000's own limit (1 GiB, never reached). Each round measures the three
# in turn (in the reverse order every other round), each after an untimed
# run; the median of the rounds is kept, and the ratios to no hooks are the
# figures (goal: at most 5% slower without a limit, 15% with one).
#
# Under TCG one run differs from the next by much more than that (the
# spread of the no-hooks runs is printed), so the table also gives what the
# hooks must cost: the patched calls one run makes (counted) times the
# added cost of a filter hook's call (50-bench's figure for mpb_tiny, this
# boot), against the run's time without hooks.
# timeout: 1800
#
# Parameters (kernel command line): mp_bench_quota_rounds (default 9)
. "${MPTESTS:-/tests}/lib.sh"
ROUNDS=${mp_bench_quota_rounds:-9}
load_markpatch
need_engine
revert_all
MNT=/tmp/quotabench
mkdir -p $MNT/ram $MNT/tmpfs $MNT/ext
mount -t ramfs ramfs $MNT/ram
mount -t tmpfs -o size=256m tmpfs $MNT/tmpfs
dd if=/dev/zero of=$MNT/ext.img bs=1M count=128 2>/dev/null
LOOP=$(losetup -f)
losetup $LOOP $MNT/ext.img && mke2fs -q -b 4096 $LOOP && mount -t ext2 $LOOP $MNT/ext
chmod 1777 $MNT/ram $MNT/tmpfs $MNT/ext
WRITERS=4 EACH=$((24 << 20))
# No writeback while the writers run (the 96 MiB stay below the dirty
# limits): what is timed is the writers' own work, where the hooks are, not
# the flusher's, whose share of a run varies with when it wakes.
dirty=$(cat /proc/sys/vm/dirty_background_ratio /proc/sys/vm/dirty_ratio)
echo 50 > /proc/sys/vm/dirty_background_ratio; echo 80 > /proc/sys/vm/dirty_ratio
MIB=$((WRITERS * EACH >> 20))
FILTER_NS=$(cat /tmp/bench.filter_ns 2>/dev/null)

# timed DIR: ns for the writers as uid 1000 (the word "short" when one of
# them wrote less, which the checks below count as a failure)
timed() { asuser "$MPTESTS/bin/writers $1 $WRITERS $EACH"; sync; }
# run FILE: one untimed run (the emulator translates the code that an
# install or revert changed), then one timed, appended to FILE
run() { timed $d > /dev/null; timed $d >> $1; }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
calls() { awk '{ n += $4 } END { print n + 0 }' $MP/patches; }

echo "== quota: write throughput, $WRITERS writers x $((EACH >> 20)) MiB in 64 KiB writes, median of $ROUNDS rounds"
printf '%-6s %22s %22s %22s %14s %10s\n' fs "no hooks (spread)" "without a limit" "with a limit" "calls/MiB" estimate
for fs in ram tmpfs ext; do
	d=$MNT/$fs
	: > /tmp/qb.none; : > /tmp/qb.free; : > /tmp/qb.limited
	for r in $(seq $ROUNDS); do
		# odd rounds: none, no limit, limit; even rounds the other way
		[ $((r % 2)) = 1 ] && run /tmp/qb.none
		quota_patches install > /dev/null
		echo "1001 1073741824 $d" > $MP/quota
		[ $((r % 2)) = 1 ] && run /tmp/qb.free
		echo "1000 1073741824 $d" > $MP/quota
		c0=$(calls)
		run /tmp/qb.limited
		percall=$(( ($(calls) - c0) / 2 ))	# the untimed run and the timed one
		echo "1000 0 $d" > $MP/quota
		[ $((r % 2)) = 0 ] && run /tmp/qb.free
		echo "1001 0 $d" > $MP/quota
		quota_patches revert > /dev/null
		[ $((r % 2)) = 0 ] && run /tmp/qb.none
	done
	short=$(cat /tmp/qb.none /tmp/qb.free /tmp/qb.limited | grep -c short)
	check "$fs: every writer wrote all it was given" [ "$short" = 0 ]
	lo=$(sort -n /tmp/qb.none | head -1) hi=$(sort -n /tmp/qb.none | tail -1)
	none=$(median < /tmp/qb.none) free=$(median < /tmp/qb.free) limited=$(median < /tmp/qb.limited)
	awk -v fs=$fs -v a=$none -v b=$free -v c=$limited -v lo=$lo -v hi=$hi -v mib=$MIB \
		-v calls=$percall -v fns="$FILTER_NS" 'BEGIN {
		est = (fns != "") ? sprintf("%.3f", 1 + calls * fns / a) : "-"
		printf "%-6s %7.1f MiB/s (%3.0f%%) %9.1f MiB/s (%.3f) %9.1f MiB/s (%.3f) %14.0f %10s\n", fs,
			mib / (a / 1e9), 100 * (hi - lo) / a, mib / (b / 1e9), b / a, mib / (c / 1e9), c / a,
			calls / mib, est
		printf "csv: quota,%s,no-hooks,,%.1f,MiB/s,spread %.3f\n", fs, mib / (a / 1e9), (hi - lo) / a
		printf "csv: quota,%s,no-limit,,%.1f,MiB/s,%.3f\n", fs, mib / (b / 1e9), b / a
		printf "csv: quota,%s,limit,,%.1f,MiB/s,%.3f\n", fs, mib / (c / 1e9), c / a
		printf "csv: quota,%s,estimate,,%s,ratio,%d calls\n", fs, est, calls
	}'
done
echo "(estimate: 1 + calls per run x the filter hook's added ns per call ($FILTER_NS) / the run's ns without hooks)"
check "no limit is left" sh -c "! grep -q ' $MNT/' $MP/quota"
set -- $dirty; echo $1 > /proc/sys/vm/dirty_background_ratio; echo $2 > /proc/sys/vm/dirty_ratio
umount $MNT/ext && losetup -d $LOOP && umount $MNT/ram $MNT/tmpfs
check "the file systems unmount" [ $? = 0 ]
finish
