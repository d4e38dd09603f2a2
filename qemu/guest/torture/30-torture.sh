# Torture: kthreads on every CPU call every test target and check each
# result (the stress driver, "all"), and user-space loops on every CPU drive
# two real kernel paths and check what they get (statfs of /tmp, reading a
# file), while the targets and the real functions are installed and
# reverted over and over: with and without the install delay, with hooks
# swapped in place, with the resolver's fast path on and off, and with
# rmmod/insmod of markpatch itself every
# mp_torture_reload cycles. Prints the cycles, calls, wrong results,
# partial entries and trap redirects; fails on any wrong result (the
# console scan outside fails on any oops or WARN). Its time limit is the
# boot's own (MARKPATCH_TIMEOUT): a full run takes hours.
# timeout: 172800
#
# Parameters (kernel command line, see qemu/run.sh MARKPATCH_APPEND):
#   mp_torture_cycles  install/revert cycles (default 120)
#   mp_torture_reload  cycles between module reloads (default 40)
#   mp_torture_method  marks (default) or naive: the direct method
#                      (naive_unsafe=1), for make torture-compare
. "${MPTESTS:-/tests}/lib.sh"
cycles=${mp_torture_cycles:-120}
reload=${mp_torture_reload:-40}
method=${mp_torture_method:-marks}
P=/sys/module/markpatch/parameters
load_targets || exit 1
need_engine
revert_all
cpus=$(grep -c '^processor' /proc/cpuinfo)

# The real kernel functions: the statfs and the read paths.
REAL="vfs_statfs vfs_read"
for f in $REAL; do
	check "$f can be patched" sh -c "echo $f > $MP/plan"
done
TARGETS="mpt_short mpt_riprel mpt_jcc mpt_loop_i2 mpt_straddle mpt_call mpt_ambiguous mpt_c_fentry mpt_realign"
set -- $TARGETS $REAL
ntargets=$#

# ---- user-space load: each loop checks its result and counts mismatches
# What the file holds, taken before anything is patched: every read
# through the patched vfs_read must give these bytes.
head -c 65536 /dev/urandom > /tmp/torture.dat
want_sum=$(md5sum < /tmp/torture.dat)
want_statfs=$(stat -f -c '%t %S %b %c' /tmp)
rm -f /tmp/torture.stop /tmp/torture.user.*
for c in $(seq $cpus); do
	(
		n=0 bad=0
		while [ ! -e /tmp/torture.stop ]; do
			[ "$(stat -f -c '%t %S %b %c' /tmp)" = "$want_statfs" ] || bad=$((bad + 1))
			[ "$(md5sum < /tmp/torture.dat)" = "$want_sum" ] || bad=$((bad + 1))
			[ "$(cat /tmp/torture.dat | md5sum)" = "$want_sum" ] || bad=$((bad + 1))
			n=$((n + 3))
			[ $((n % 300)) = 0 ] && echo "$n $bad" > /tmp/torture.user.$c
		done
		echo "$n $bad" > /tmp/torture.user.$c
	) &
done

# ---- kernel load: the stress driver, restarted when it ends
stress_calls=0 stress_wrong=0 stress_hooked=0
stress_collect() {
	STRESS=$(cat $MPT/stress)
	stress_calls=$((stress_calls + $(field calls "$STRESS")))
	stress_wrong=$((stress_wrong + $(field wrong "$STRESS")))
	stress_hooked=$((stress_hooked + $(field hooked "$STRESS")))
	case "$STRESS" in *first_wrong*) echo "stress: $STRESS" ;; esac
}
stress_start() { echo "all 600 allow=-3 double" > $MPT/stress; }
stress_stop() { echo stop > $MPT/stress; stress_collect; }

modules_reload() {
	stress_stop
	unload_targets
	rmmod markpatch || { echo "rmmod markpatch failed"; return 1; }
	insmod $MPMODULES/markpatch.ko || return 1
	insmod $MPMODULES/markpatch_targets.ko || return 1
	[ $method = naive ] && echo 1 > $P/naive_unsafe
	stress_start
}

if [ $method = naive ]; then
	echo 1 > $P/naive_unsafe
	# The direct method refuses what no detour can take (a branch into the
	# bytes its jmp covers): leave those out, once, before the load starts.
	kept=
	for t in $TARGETS $REAL; do
		if echo "$t count" > $MP/install 2>/dev/null; then
			echo "$t" > $MP/revert
			kept="$kept $t"
		else
			echo "the direct method refuses $t: left out"
		fi
	done
	set -- $kept
	ntargets=$#
	TARGETS=$kept REAL=
	# mpt_short's first instructions take a detour: a direct method that
	# refuses it is broken, not cautious.
	check "the direct method takes mpt_short (and $ntargets functions in all)" matches " $kept " " mpt_short "
fi
echo "method: $method; $cycles cycles over $ntargets functions; $cpus CPUs; module reload every $reload cycles"
stress_start
done_cycles=0 failed_ops=0 partial=0 traps=0 swaps=0 reloads=0
start=$(cut -d. -f1 /proc/uptime)
# The loop uses shell builtins only (no fork per cycle): under TCG a fork
# costs more than an install.
i=0
while [ $i -lt "$cycles" ]; do
	i=$((i + 1))
	set -- $TARGETS $REAL
	shift $(( (i - 1) % ntargets ))
	name=$1
	case $name in
	mpt_*) case $((i % 3)) in 0) hook=count ;; 1) hook=fail=-3 ;; 2) hook=targets_double ;; esac ;;
	*) hook=count ;;
	esac
	echo $(( i % 2 )) > $P/install_delay_ms
	# new calls through the fast path, or all through the full resolver
	echo $(( (i / 2 + 1) % 2 )) > $P/fast_path
	if ! echo "$name $hook" > $MP/install; then
		echo "cycle $i: install $name $hook failed"
		failed_ops=$((failed_ops + 1))
		continue
	fi
	if [ $((i % 4)) = 0 ] && [ "${name#mpt_}" != "$name" ]; then
		# hook swapped in place: no code rewritten
		if echo "$name count" > $MP/install; then
			swaps=$((swaps + 1))
		else
			echo "cycle $i: swap $name failed"; failed_ops=$((failed_ops + 1))
		fi
	fi
	read -r p < $MP/patch/$name/partial || p=0
	read -r t < $MP/patch/$name/traps || t=0
	partial=$((partial + p)) traps=$((traps + t))
	if ! echo "$name" > $MP/revert; then
		echo "cycle $i: revert $name failed"
		failed_ops=$((failed_ops + 1))
	fi
	done_cycles=$i
	read -r st _ < $MPT/stress
	[ "$st" = running ] || { stress_collect; stress_start; }
	if [ $((i % reload)) = 0 ] && [ $i -lt "$cycles" ]; then
		modules_reload && reloads=$((reloads + 1)) || { echo "cycle $i: module reload failed"; failed_ops=$((failed_ops + 1)); break; }
	fi
	[ $((i % 500)) = 0 ] && echo "... $i cycles, $(( $(cut -d. -f1 /proc/uptime) - start )) s"
done
secs=$(( $(cut -d. -f1 /proc/uptime) - start ))
stress_stop
touch /tmp/torture.stop
wait
user_calls=0 user_wrong=0
for f in /tmp/torture.user.*; do
	read -r n b < "$f"
	user_calls=$((user_calls + n)) user_wrong=$((user_wrong + b))
done
echo 0 > $P/install_delay_ms
echo 1 > $P/fast_path
echo 0 > $P/naive_unsafe 2>/dev/null

echo "torture ($method): cycles=$done_cycles seconds=$secs reloads=$reloads swaps=$swaps failed_ops=$failed_ops"
echo "torture ($method): kernel calls=$stress_calls wrong=$stress_wrong hooked=$stress_hooked"
echo "torture ($method): user calls=$user_calls wrong=$user_wrong"
echo "torture ($method): partial entries=$partial trap redirects=$traps"
check "all $cycles cycles done" [ "$done_cycles" = "$cycles" ]
check "every install, swap, revert and reload succeeded" [ "$failed_ops" = 0 ]
check "kernel callers: no wrong result ($stress_wrong of $stress_calls)" [ "$stress_wrong" = 0 ]
check "user-space callers: no wrong result ($user_wrong of $user_calls)" [ "$user_wrong" = 0 ]
check "calls were made" [ "$((stress_calls > 0 && user_calls > 0))" = 1 ]
if [ "$method" = marks ]; then
	check "callers were caught part-way and finished in the pseudo-original (partial > 0)" [ "$partial" -gt 0 ]
fi
check "nothing left installed" [ -z "$(cat $MP/patches)" ]
unload_targets
finish
