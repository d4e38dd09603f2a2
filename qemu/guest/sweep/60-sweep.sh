# Sweep: `count` installed on every function the planner accepts (or a
# random sample of them), batch by batch, while mixload (a mixed load on
# every CPU that checks its own results: file I/O, fork and exec, pipes,
# timers, signals, page faults, /proc and sysfs reads, uid switches) runs
# through the installs, a hold of a few seconds and the reverts. After the
# hold every patch must still be `installed` and its call count is read
# (calls > 0: the load reached it); after each revert the function's first
# instructions (decode: the prefix and the M planned ones) must read as they
# did before the install. Fails on a wrong result of the load, a function of
# the control list below that was installed and not reached, bytes not
# restored, a failed revert, an install the survey accepted and the install
# refused, or anything left installed; a crash is caught outside (the
# console scan; make sweep bisects it over more boots).
#
# Progress goes to the kernel log (/dev/kmsg, so the console shows it even
# when the kernel dies right after): "sweep: batch ID start N",
# "sweep: install NAME", "sweep: load ID", "sweep: revert NAME",
# "sweep: batch ID done: FIGURES", "sweep: refused at install: NAME:
# WHY", and "sweep: alive" every 10 s. scripts/sweep.sh reads them to name what was installed when a crash
# came, and takes each batch's figures from them.
# timeout: 172800
#
# Parameters (kernel command line):
#   mp_sweep_sample  functions to sweep, drawn at random from the accepted
#                    ones (0, the default: every accepted function)
#   mp_sweep_seed    the random draw's seed (printed; default: random)
#   mp_sweep_batch   functions installed together (default 200; at most 500:
#                    the patch table holds 512)
#   mp_sweep_hold    seconds each batch stays installed under load after
#                    its last install (default 3)
#   mp_sweep_int3    1: every write by the int3 protocol (int3_writes=1, for
#                    multi-threaded TCG)
#   mp_sweep_shard   I/N: only every N-th accepted function from the I-th
#                    (default 1/1: all of them)
#   mp_sweep_stall   the host's limit on seconds without a step (default
#                    300); after half of it the guest dumps every task's
#                    stack and every CPU's backtrace to the console once, so
#                    that a hang the host then kills says where it was
# Files the host may add (scripts/sweep.sh, between boots):
#   /tests/data/sweep-names     names to sweep (those the planner accepts)
#                               instead of every function of the kernel
#   /tests/data/sweep-accepted  "NAME M" lines: the accepted list of an
#                               earlier boot (no survey then)
#   /tests/data/sweep-skip      names not to install (done, or crashed)
#   /tests/data/sweep-first     batches to run first, one per line
#                               (the suspects of a crash, being bisected)
. "${MPTESTS:-/tests}/lib.sh"
sample=${mp_sweep_sample:-0}
seed=${mp_sweep_seed:-$(od -An -N3 -tu4 /dev/urandom | tr -d ' ')}
batch=${mp_sweep_batch:-200}
hold=${mp_sweep_hold:-3}
D=$MPTESTS/data
W=/tmp/sweep
rm -rf $W; mkdir -p $W
if [ "${mp_sweep_int3:-0}" = 1 ]; then load_markpatch int3_writes=1; else load_markpatch; fi
need_engine
revert_all
[ "$batch" -ge 1 ] && [ "$batch" -le 500 ] || { echo "mp_sweep_batch=$batch: want 1 to 500"; exit 1; }

# Functions mixload certainly calls (reads, writes, opens, forks, pipes,
# sleeps, page faults, uid changes): each one installed must count calls.
# A name this kernel lacks or the planner refuses is only reported.
CONTROL="vfs_read vfs_write do_sys_openat2 kernel_clone pipe_read pipe_write hrtimer_nanosleep handle_mm_fault __sys_setresuid"

# markpatch logs one info line per install and revert (with the name, which
# may be `panic` or the like): keep them off the console, where the sweep's
# own lines (level 4) and any kernel error still go. /dev/kmsg writes are
# rate-limited unless printk_devkmsg is on.
read -r loglevel _ < /proc/sys/kernel/printk
echo 5 > /proc/sys/kernel/printk
echo on > /proc/sys/kernel/printk_devkmsg
kmsg() { echo "sweep: $*" > /dev/kmsg; : > $W/step; }
now() { read -r _up _ < /proc/uptime; echo "${_up%.*}"; }
# A heartbeat on the console: when it stops, the kernel is stuck (the host
# then need not wait for its longer limit on progress). When the sweep has
# made no step for half the host's limit, the heartbeat dumps every task
# (sysrq t: the blocked ones and what each runs) and every CPU's backtrace
# (sysrq l) at the console's full level, once. Its lines begin "sweep:
# alive", which the host does not count as a step.
dump_after=$(( ${mp_sweep_stall:-300} / 2 ))
: > $W/step
(
	dumped=0
	while :; do
		sleep 10
		echo "sweep: alive" > /dev/kmsg
		idle=$(( $(date +%s) - $(stat -c %Y $W/step) ))
		if [ "$dumped" = 0 ] && [ "$idle" -ge "$dump_after" ]; then
			dumped=1
			echo "sweep: alive, but no step for $idle s: every task and every CPU's backtrace follow" > /dev/kmsg
			echo 8 > /proc/sys/kernel/printk
			echo t > /proc/sysrq-trigger
			echo l > /proc/sysrq-trigger
		fi
	done
) &
heartbeat=$!

# restored_check LIST [patched]: for each "NAME M J" of LIST, the decode
# listings taken before its install ($W/b/J) and after its revert ($W/a/J)
# must agree on the header, the prefix (ENDBR or its sealed NOP,
# the fentry NOP) and the M planned instructions (what follows may hold code
# the kernel changes at run time). With "patched", the listing taken while
# installed ($W/i/J) must differ from the one before instead. Prints the
# functions that fail, last their number. One awk for a whole batch: a fork
# per function costs under TCG.
restored_check() {
	awk -v W=$W -v mode="${2:-restored}" '
		function region(f, m,   line, a, n, k, fe, out) {
			out = ""; n = 0; k = 0; fe = 0
			while ((getline line < f) > 0) {
				n++; split(line, a, "\t")
				if (n == 1) { out = line; continue }
				if (n == 2 && (a[3] == "f3 0f 1e fa" || a[3] == "66 0f 1f 00")) { out = out "\n" line; continue }
				if (k == 0 && !fe && a[3] == "0f 1f 44 00 00") { fe = 1; out = out "\n" line; continue }
				if (k < m) { out = out "\n" line; k++ }
			}
			close(f)
			return n ? out : "(no listing)"
		}
		mode == "patched" { b = region(W "/b/" $3, $2); i = region(W "/i/" $3, $2)
		  if (i == b || i ~ /^\(no listing/) { bad++; print $1 ": the installed patch did not change the first instructions" > "/dev/stderr" }
		  next }
		{ b = region(W "/b/" $3, $2); a = region(W "/a/" $3, $2)
		  if (a != b || a ~ /^\(no listing/) { bad++; print $1 ": first instructions not restored:" > "/dev/stderr"
			print "before: " b > "/dev/stderr"; print "after: " a > "/dev/stderr" } }
		END { print bad + 0 }' "$1"
}

# ---- the accepted functions, in sweep order: "NAME M" lines in $W/accepted
# survey FILE: one survey write of FILE's names; appends the verdicts to
# $W/verdicts.
survey() {
	if cat "$1" > $MP/survey; then cat $MP/survey >> $W/verdicts; else echo "survey write refused: $(head -1 "$1") ..."; return 1; fi
}
: > $W/verdicts
t0=$(now)
if [ -s $D/sweep-accepted ]; then
	cp $D/sweep-accepted $W/accepted
	echo "accepted list from an earlier boot: $(wc -l < $W/accepted) functions"
else
	# The text symbols of vmlinux as 29-coverage lists them (or the names
	# the host gave), one name per address: names of one address (identical
	# code folded, e.g. Rust's many equal Default::default) are one function
	# to the engine, which takes the second install as a hook swap on the
	# first.
	awk '($2 == "t" || $2 == "T") && NF == 3 && $3 !~ /^(__pfx_|__cfi_)/ { print $1, $3 }' /proc/kallsyms \
		| sort -u -k2,2 > $W/addrs
	if [ -s $D/sweep-names ]; then
		tr ' ' '\n' < $D/sweep-names | grep . | sort -u > $W/names
		awk 'FILENAME == ARGV[1] { n[$1] = 1; next } $2 in n' $W/names $W/addrs > $W/addrs.given
		echo "$(wc -l < $W/names) names given, $(wc -l < $W/addrs.given) of them vmlinux text symbols"
		mv $W/addrs.given $W/addrs
		sample=0
	fi
	sort -s -k1,1 $W/addrs | awk '$1 != last { print $2 } { last = $1 }' | sort -u > $W/syms
	echo "$(wc -l < $W/syms) text symbols at distinct addresses"
	# A sample: the control functions, then the rest in an order drawn from
	# the seed (busybox awk's rand is the same for the same seed and
	# binary, so a later boot draws the same order).
	if [ "$sample" -gt 0 ]; then
		echo "$CONTROL" | tr ' ' '\n' > $W/control
		awk -v seed="$seed" 'BEGIN { srand(seed) } { printf "%.9f %s\n", rand(), $1 }' $W/syms \
			| sort -n | cut -d' ' -f2 | grep -vxF -f $W/control > $W/order
		cat $W/control $W/order > $W/syms
	fi
	total=$(wc -l < $W/syms)
	echo "seed $seed; $total text symbols; surveying"
	# Batches of at most 40 names and 1,500 bytes (the verdicts fit a page),
	# until the sample is complete.
	: > $W/chunk; n=0 bytes=0 surveyed=0
	while read -r s; do
		echo "$s" >> $W/chunk; n=$((n + 1)); bytes=$((bytes + ${#s} + 1))
		[ $n -lt 40 ] && [ $bytes -lt 1500 ] && continue
		survey $W/chunk; surveyed=$((surveyed + n)); : > $W/chunk; n=0 bytes=0
		[ $((surveyed % 4000)) -lt 40 ] && kmsg "surveyed $surveyed of $total"
		if [ "$sample" -gt 0 ] && [ "$(grep -c ' ok M=' $W/verdicts)" -ge $((sample + $(echo $CONTROL | wc -w))) ]; then break; fi
	done < $W/syms
	[ -s $W/chunk ] && { survey $W/chunk; surveyed=$((surveyed + n)); }
	sed -n 's/^\([^ ]*\) ok M=\([0-9]*\)$/\1 \2/p' $W/verdicts > $W/ok
	if [ "$sample" -gt 0 ]; then
		# the control functions the planner accepts, then the sample
		awk -v s="$sample" 'NR == FNR { c[$1] = 1; next } c[$1] { print; next } n < s { print; n++ }' \
			$W/control $W/ok > $W/accepted
	else
		cp $W/ok $W/accepted
	fi
	shard=${mp_sweep_shard:-1/1}
	if [ "$shard" != 1/1 ]; then
		awk -v i="${shard%/*}" -v n="${shard#*/}" '(NR - 1) % n == i - 1' $W/accepted > $W/shard
		echo "shard $shard: $(wc -l < $W/shard) of the $(wc -l < $W/accepted) accepted functions"
		mv $W/shard $W/accepted
	fi
	echo "surveyed $surveyed, $(wc -l < $W/ok) accepted, in $(( $(now) - t0 )) s"
	# The host keeps the list for later boots (make sweep).
	sed 's/^/sweep-accepted: /' $W/accepted
	kmsg "accepted $(wc -l < $W/accepted)"
fi
accepted=$(wc -l < $W/accepted)
for c in $CONTROL; do
	grep -q "^$c " $W/accepted || echo "control function $c: not in the accepted list (absent, refused or not drawn)"
done

# ---- batches: the host's first ones, then the rest of the list
: > $W/skip
[ -f $D/sweep-skip ] && cat $D/sweep-skip >> $W/skip
[ -f $D/sweep-first ] && tr ' ' '\n' < $D/sweep-first >> $W/skip
awk 'FILENAME == ARGV[1] { s[$1] = 1; next } !s[$1]' $W/skip $W/accepted > $W/todo
skipped=$((accepted - $(wc -l < $W/todo)))
rm -f $W/batch.*
i=0
if [ -f $D/sweep-first ]; then
	while read -r line; do
		[ -n "$line" ] || continue
		i=$((i + 1)); echo "$line" | tr ' ' '\n' | awk 'NR == FNR { m[$1] = $2; next } $1 in m { print $1, m[$1] }' $W/accepted - > $W/batch.$(printf %05d $i)
	done < $D/sweep-first
fi
first=$i
awk -v b="$batch" -v i="$i" -v W="$W" '{ f = sprintf("%s/batch.%05d", W, i + 1 + int((NR - 1) / b)); print > f }' $W/todo
nb=$(ls $W/batch.* 2>/dev/null | wc -l)
echo "sweep: seed $seed sample $sample accepted $accepted; $skipped done before or set aside, $first batch(es) to bisect first; $nb batches of up to $batch; hold $hold s; $(grep -c '^processor' /proc/cpuinfo) CPUs"

tot_unpatched=0 tot_inst=0 tot_reach=0 tot_wrong=0 tot_refused=0 tot_unrestored=0 tot_revfail=0 tot_ctl_miss=0 tot_notinst=0 tot_ops=0
for bf in $(ls $W/batch.* 2>/dev/null); do
	id=${bf##*.}; id=${id#0}; id=${id#0}; id=${id#0}; id=${id#0}
	n=$(wc -l < $bf)
	kmsg "batch $id start $n"
	rm -f $W/stop $W/mix
	mixload -s $W/stop -t 86400 > $W/mix 2>&1 &
	mixpid=$!
	tb0=$(now)
	# install, each after a snapshot of its first instructions
	: > $W/installed; : > $W/reverted
	mkdir -p $W/a $W/b $W/i
	refused=0
	j=0
	while read -r name m; do
		j=$((j + 1))
		echo "$name" > $MP/decode && cat $MP/decode > "$W/b/$j"
		kmsg "install $name"
		if echo "$name count" > $MP/install 2> $W/err; then
			echo "$name $m $j" >> $W/installed
		else
			refused=$((refused + 1))
			why=$(dmesg | grep "markpatch: install: $name: " | tail -1 | sed 's/.*markpatch: install: //')
			why="refused at install: $name: ${why:-$(cat $W/err)}"
			echo "$why"; kmsg "$why"
		fi
	done < $bf
	tb1=$(now)
	kmsg "load $id"
	sleep "$hold"
	# what each patch counted, and its state
	reached=0 notinst=0
	: > $W/unreached
	while read -r name m j; do
		read -r st < "$MP/patch/$name/state" || st=missing
		[ "$st" = installed ] || { notinst=$((notinst + 1)); echo "$name: state $st after the hold, want installed"; }
		read -r calls < "$MP/patch/$name/calls" || calls=0
		echo "$name" > $MP/decode && cat $MP/decode > "$W/i/$j"
		if [ "${calls:-0}" -gt 0 ] 2>/dev/null; then reached=$((reached + 1)); else echo "$name" >> $W/unreached; fi
	done < $W/installed
	unpatched=$(restored_check $W/installed patched)
	ctl_miss=0
	for c in $CONTROL; do
		if grep -q "^$c " $W/installed && grep -qx "$c" $W/unreached; then
			ctl_miss=$((ctl_miss + 1)); echo "control function $c was installed and counted no call"
		fi
	done
	tb2=$(now)
	# revert them, several names per write (reverted together, sharing
	# their grace periods: a write holds at most 3,000 bytes of names), each
	# alone when its group's write fails, and check their bytes
	unrestored=0 revfail=0
	awk '{ if (n && bytes + length($1) > 3000) { print ""; n = 0; bytes = 0 }
		printf "%s%s", (n ? " " : ""), $1; n++; bytes += length($1) + 1 } END { if (n) print "" }' \
		$W/installed > $W/groups
	while read -r group; do
		for name in $group; do kmsg "revert $name"; done
		echo "$group" > $MP/revert 2> $W/err && continue
		for name in $group; do
			[ -d "$MP/patch/$name" ] || continue
			echo "$name" > $MP/revert 2> $W/err || { revfail=$((revfail + 1)); echo "revert $name failed: $(cat $W/err)"; }
		done
	done < $W/groups
	while read -r name m j; do
		[ -d "$MP/patch/$name" ] && continue
		echo "$name" > $MP/decode && cat $MP/decode > "$W/a/$j"
		echo "$name $m $j" >> $W/reverted
	done < $W/installed
	unrestored=$(restored_check $W/reverted)
	rm -rf $W/a $W/b $W/i
	tb3=$(now)
	touch $W/stop
	wait $mixpid
	mixrc=$?
	# No report, or a failed run that reports nothing wrong, counts as one
	# wrong result.
	res=$(sed -n 's/^mixload: ops \([0-9]*\) wrong \([0-9]*\)$/\1 \2/p' $W/mix)
	ops=${res% *} wrong=${res#* }
	[ -n "$res" ] || ops=0 wrong=1
	[ "$mixrc" = 0 ] || [ "$wrong" -gt 0 ] || wrong=1
	[ "$wrong" = 0 ] || { echo "mixload (exit $mixrc):"; head -20 $W/mix; }
	inst=$(wc -l < $W/installed)
	figures="names $n installed $inst refused $refused reached $reached wrong $wrong unpatched $unpatched not-restored $unrestored revert-failed $revfail not-installed $notinst control-missed $ctl_miss; install $((tb1 - tb0)) s, hold+read $((tb2 - tb1)) s, revert $((tb3 - tb2)) s; load ops $ops"
	# on the console too: the test output's last lines may be lost in a
	# crash, the kernel log's are not
	kmsg "batch $id done: $figures"
	echo "sweep: batch $id: $figures"
	tot_inst=$((tot_inst + inst)) tot_reach=$((tot_reach + reached)) tot_wrong=$((tot_wrong + wrong))
	tot_refused=$((tot_refused + refused)) tot_unrestored=$((tot_unrestored + unrestored)) tot_unpatched=$((tot_unpatched + unpatched))
	tot_revfail=$((tot_revfail + revfail)) tot_ctl_miss=$((tot_ctl_miss + ctl_miss)) tot_notinst=$((tot_notinst + notinst))
	tot_ops=$((tot_ops + ops))
done
kill $heartbeat
echo $loglevel > /proc/sys/kernel/printk
echo "sweep: accepted $accepted installed $tot_inst reached $tot_reach wrong $tot_wrong crashed 0"
echo "sweep: refused at install $tot_refused, not rewritten $tot_unpatched, not restored $tot_unrestored, revert failed $tot_revfail, control functions not reached $tot_ctl_miss, load ops $tot_ops"
check "the load saw no wrong result ($tot_wrong)" [ "$tot_wrong" = 0 ]
check "the load ran ($tot_ops checked operations)" [ "$tot_ops" -gt 0 ]
check "every function the survey accepted was installed ($tot_refused refused)" [ "$tot_refused" = 0 ]
check "every patch was still installed after the hold ($tot_notinst not)" [ "$tot_notinst" = 0 ]
check "every installed control function counted calls ($tot_ctl_miss did not)" [ "$tot_ctl_miss" = 0 ]
check "every installed function's first instructions were rewritten ($tot_unpatched were not)" [ "$tot_unpatched" = 0 ]
check "every revert succeeded ($tot_revfail failed)" [ "$tot_revfail" = 0 ]
check "every reverted function's first instructions read as before ($tot_unrestored did not)" [ "$tot_unrestored" = 0 ]
check "nothing left installed" [ -z "$(cat $MP/patches)" ]
finish
