# make bench, in the guest: what a patched call costs with markpatch and with
# the instruments a kernel engineer would use instead (a kprobe, an ftrace
# callback), what an install and a revert cost (against stop_machine), and
# whether the per-call cost grows with the number of patches. All from this
# one boot. Every figure is also printed as a "csv: " line, which
# scripts/bench.sh collects into results/.
# timeout: 3600
#
# Parameters (kernel command line, see qemu/run.sh MARKPATCH_APPEND):
#   mp_bench_rounds   timed rounds per figure (default 15; the median is kept)
#   mp_bench_patches  patches installed for the scaling run (default 100)
. "${MPTESTS:-/tests}/lib.sh"
ROUNDS=${mp_bench_rounds:-15}
NPATCH=${mp_bench_patches:-100}
MB=/sys/kernel/markpatch_bench
KPOPT=/proc/sys/debug/kprobes-optimization
KPLIST=/sys/kernel/debug/kprobes/list
load_targets || exit 1
need_engine
revert_all
[ -d $MB ] || insmod $MPMODULES/markpatch_bench.ko
check "markpatch_bench is loaded" [ -d $MB ]
[ -d $MB ] || finish

csv() { echo "csv: $*"; }
csv "section,target,method,x,value,unit,detail"

# median_ns TARGET CALLS: times ROUNDS rounds; prints the median in ns (3
# decimals). $MB/measure keeps the whole line (min_ps, max_ps...).
median_ns() {
	echo "$1 $ROUNDS $2" > $MB/measure || return 1
	awk -v p="$(field median_ps "$(cat $MB/measure)")" 'BEGIN { printf "%.3f\n", p / 1000 }'
}

# first_insn NAME: the offset of I1 (past ENDBR and the fentry NOP), from
# markpatch's plan; where the int3/optimized kprobes go.
first_insn() {
	echo "$1" > $MP/plan 2>/dev/null || return 1
	sed -n 's/^I1 +\(0x[0-9a-f]*\) .*/\1/p' $MP/plan
}

# kprobe_kind NAME: how the kernel placed our kprobe (debugfs list).
kprobe_kind() {
	_l=$(grep " $1+" $KPLIST 2>/dev/null | head -1)
	case "$_l" in
	*OPTIMIZED*) echo optimized ;;
	*FTRACE*) echo ftrace-based ;;
	"") echo unknown ;;
	*) echo int3 ;;
	esac
}

# setup METHOD TARGET: put METHOD on TARGET; teardown METHOD TARGET removes it.
setup() {
	case $1 in
	none) ;;
	markpatch-count) echo "$2 count" > $MP/install ;;
	markpatch-count-full)
		echo 0 > /sys/module/markpatch/parameters/fast_path
		echo "$2 count" > $MP/install ;;
	markpatch-filter) echo "$2 bench_pass" > $MP/install ;;
	kprobe-entry) echo "kprobe $2 0" > $MB/probe ;;
	kprobe-int3)
		echo 0 > $KPOPT
		echo "kprobe $2 $(first_insn "$2")" > $MB/probe ;;
	kprobe-opt)
		echo 1 > $KPOPT
		echo "kprobe $2 $(first_insn "$2")" > $MB/probe || return 1
		# the optimizer runs a few ticks after registration
		for _i in $(seq 50); do
			[ "$(kprobe_kind "$2")" = optimized ] && break
			sleep 0.1
		done ;;
	ftrace) echo "ftrace $2" > $MB/probe ;;
	esac
}
teardown() {
	case $1 in
	markpatch-*)
		echo "$2" > $MP/revert
		echo 1 > /sys/module/markpatch/parameters/fast_path ;;
	kprobe-*|ftrace) echo - > $MB/probe; echo 1 > $KPOPT ;;
	esac
}

# hits METHOD TARGET: how many calls the instrument saw so far.
hits() {
	case $1 in
	markpatch-*) cat $MP/patch/$2/calls ;;
	kprobe-*|ftrace) field hits "$(cat $MB/probe)" ;;
	*) echo 0 ;;
	esac
}

# markpatch-count-full: the same hook with the fast_path parameter off, so
# that every call goes through the full resolver (markpatch_resolve): what
# every call cost before the fast path.
METHODS="none markpatch-count markpatch-filter markpatch-count-full ftrace kprobe-entry kprobe-opt kprobe-int3"

# ---- 1. per-call cost, one target after another
echo "== per-call cost: median of $ROUNDS rounds (ns per call)"
for spec in mpb_tiny:20000 mpb_medium:10000 vfs_statfs:3000; do
	t=${spec%%:*} calls=${spec#*:}
	for meth in $METHODS; do
		if ! setup $meth $t; then
			check "$meth on $t is set up" false
			teardown $meth $t 2>/dev/null
			continue
		fi
		kind=
		case $meth in kprobe-*) kind=$(kprobe_kind $t) ;; esac
		h0=$(hits $meth $t)
		ns=$(median_ns $t $calls)
		h1=$(hits $meth $t)
		teardown $meth $t
		if [ -z "$ns" ]; then
			check "$t is measured with $meth" false
			continue
		fi
		want=$((ROUNDS * calls))
		# every timed call went through the instrument (statfs: other
		# callers in the guest may add a few)
		if [ $meth != none ]; then
			check "$meth on $t saw each of the $want calls ($((h1 - h0)))" [ $((h1 - h0)) -ge $want ]
		fi
		# The kprobe measured is of the kind its row names.
		case $meth in
		kprobe-entry) check "kprobe-entry on $t is ftrace-based ($kind)" [ "$kind" = ftrace-based ] ;;
		kprobe-opt) check "kprobe-opt on $t is optimized ($kind)" [ "$kind" = optimized ] ;;
		kprobe-int3) check "kprobe-int3 on $t is an int3 ($kind)" [ "$kind" = int3 ] ;;
		esac
		eval "ns_${t}_$(echo $meth | tr - _)=$ns"
		echo "$t $meth ${ns} ns/call${kind:+ ($kind)}"
		csv "percall,$t,$meth,,$ns,ns,$kind"
	done
done

# the table: added cost over the bare call, and its ratio to ftrace's and
# to the kprobes'
echo "== added cost per call (ns) and ratios, this boot"
printf '%-11s %-20s %10s %10s %8s %8s %8s %8s\n' target method ns/call added /ftrace /kp-entry /kp-opt /kp-int3
for spec in mpb_tiny mpb_medium vfs_statfs; do
	eval "base=\$ns_${spec}_none"
	eval "ft=\$ns_${spec}_ftrace; ke=\$ns_${spec}_kprobe_entry; ko=\$ns_${spec}_kprobe_opt; ki=\$ns_${spec}_kprobe_int3"
	for meth in $METHODS; do
		eval "v=\$ns_${spec}_$(echo $meth | tr - _)"
		[ -n "$v" ] || continue
		awk -v t=$spec -v m=$meth -v v=$v -v b=$base -v ft=$ft -v ke=$ke -v ko=$ko -v ki=$ki '
			function r(a, c) { return (c - b > 0) ? sprintf("%.2f", a / (c - b)) : "-" }
			BEGIN { a = v - b; printf "%-11s %-20s %10.1f %10.1f %8s %8s %8s %8s\n", t, m, v, a, r(a, ft), r(a, ke), r(a, ko), r(a, ki) }'
		awk -v v=$v -v b=$base 'BEGIN { printf "csv: added,'$spec','$meth',,%.3f,ns,\n", v - b }'
	done
done

# the filter hook's added cost per call, for 51-quota-throughput's estimate
awk -v v="$ns_mpb_tiny_markpatch_filter" -v b="$ns_mpb_tiny_none" \
	'BEGIN { if (v != "" && b != "") printf "%.1f\n", v - b }' > /tmp/bench.filter_ns

# ---- 2. install and revert: as a function of M, against stop_machine
echo "== install and revert: median of 5 (total, waits for grace periods, writing in us; irqoff, IPI in ns)"
echo 20 > $MB/stop_machine
sm=$(cat $MB/stop_machine)
csv "stop_machine,,stop_machine,,$(field median_ns "$sm"),ns,median"
csv "stop_machine,,stop_machine,,$(field max_ns "$sm"),ns,max"
# timing_field OP NAME: NAME=value from the last OP line of $MP/timing
timing_field() {
	field "$2" "$(grep "^$1 " $MP/timing)"
}
printf '%-12s %-7s %2s %6s %9s %9s %9s %11s %11s %11s\n' target op M writes total waits writing irqoff_max ipi_max handler_max
: > /tmp/bench.all
for t in mpt_short mpt_riprel mpt_jcc mpt_straddle mpt_realign mpb_tiny mpb_medium vfs_statfs vfs_read; do
	: > /tmp/bench.inst
	for i in 1 2 3 4 5; do
		echo "$t count" > $MP/install || break
		grep '^install ' $MP/timing >> /tmp/bench.inst
		echo "$t" > $MP/revert || break
		grep '^revert ' $MP/timing >> /tmp/bench.inst
	done
	cat /tmp/bench.inst >> /tmp/bench.all
	check "$t installs and reverts 5 times" [ "$(grep -c . /tmp/bench.inst)" = 10 ]
	for op in install revert; do
		# med NAME: the median of NAME= over this target's OP lines
		med() { grep "^$op " /tmp/bench.inst | tr ' ' '\n' | sed -n "s/^$1=//p" | sort -n | sed -n 3p; }
		m=$(med m) w=$(med writes) tot=$(med total_ns) wai=$(med waits_ns) wr=$(med write_ns)
		irq=$(med irqoff_max_ns) ipi=$(med sync_max_ns) held=$(med held_max_ns)
		printf '%-12s %-7s %2s %6s %9s %9s %9s %11s %11s %11s\n' $t $op $m $w $((tot / 1000)) $((wai / 1000)) \
			$((wr / 1000)) $irq $ipi $held
		for f in total:$tot waits:$wai writing:$wr irqoff_max:$irq ipi_max:$ipi handler_max:$held; do
			csv "$op,$t,markpatch,$m,${f#*:},ns,${f%%:*}"
		done
	done
done
# maxof NAME: the largest NAME= over every install and revert above
maxof() { tr ' ' '\n' < /tmp/bench.all | sed -n "s/^$1=//p" | sort -n | tail -1; }
echo "every CPU held by one empty stop_machine(): median $(field median_ns "$sm") ns, max $(field max_ns "$sm") ns (20 runs)"
echo "markpatch, over the $(grep -c . /tmp/bench.all) installs and reverts above:"
# medof NAME: the median of NAME= over every install and revert above
medof() { tr ' ' '\n' < /tmp/bench.all | sed -n "s/^$1=//p" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
echo "  interrupts masked on the patching CPU, longest interval of each operation: median $(medof irqoff_max_ns) ns, max $(maxof irqoff_max_ns) ns"
echo "  serialising IPI, sent to all returned, longest of each operation: median $(medof sync_max_ns) ns, max $(maxof sync_max_ns) ns"
echo "  another CPU in markpatch's IPI handler, longest of each operation: median $(medof held_max_ns) ns, max $(maxof held_max_ns) ns"
for f in irqoff_max_ns sync_max_ns held_max_ns; do
	csv "summary,,markpatch,,$(medof $f),ns,${f%_ns} median"
	csv "summary,,markpatch,,$(maxof $f),ns,${f%_ns} max"
done

# ---- 3. per-call cost with many patches installed on other functions
echo "== per-call cost of mpb_tiny (markpatch-count) with N other patches"
fns=$(sed -n 's/^[0-9a-f]* t \(mpb_fn_[0-9]*\)\t.*/\1/p; s/^[0-9a-f]* t \(mpb_fn_[0-9]*\) .*/\1/p' /proc/kallsyms | head -$NPATCH)
echo "mpb_tiny count" > $MP/install
: > /tmp/bench.many
n=0
for f in "" $fns; do
	if [ -n "$f" ]; then
		echo "$f count" > $MP/install || { check "$f installs" false; break; }
		n=$((n + 1))
		tot=$(timing_field install total_ns) wr=$(timing_field install write_ns)
		echo "$n $tot $wr" >> /tmp/bench.many
		csv "install-many,$f,markpatch,$n,$tot,ns,total"
		csv "install-many,$f,markpatch,$n,$wr,ns,writing"
	fi
	case $n in 0|10|25|50|75|100|$NPATCH)
		ns=$(median_ns mpb_tiny 20000)
		min=$(awk -v p="$(field min_ps "$(cat $MB/measure)")" 'BEGIN { printf "%.3f\n", p / 1000 }')
		echo "$n other patches: mpb_tiny $ns ns/call (fastest round $min)"
		csv "scaling,mpb_tiny,markpatch-count,$n,$ns,ns,median"
		csv "scaling,mpb_tiny,markpatch-count,$n,$min,ns,min"
		eval "scale_$n=$min" ;;
	esac
done
check "$NPATCH other patches are installed" [ "$n" = "$NPATCH" ]
# many_median FROM TO COLUMN: the median (us) of installs FROM..TO
many_median() {
	awk -v a=$1 -v b=$2 -v c=$3 '$1 >= a && $1 <= b { print $c }' /tmp/bench.many | sort -n \
		| awk '{ v[NR] = $1 } END { printf "%d", v[int((NR + 1) / 2)] / 1000 }'
}
echo "installing the 1st-10th of them (1-10 patches already there): total $(many_median 1 10 2) us," \
	"writing $(many_median 1 10 3) us; the $((n - 9))th-${n}th: total $(many_median $((n - 9)) $n 2) us," \
	"writing $(many_median $((n - 9)) $n 3) us (medians)"
eval "s0=\$scale_0 sn=\$scale_$n"
awk -v a="$s0" -v b="$sn" -v n=$n 'BEGIN { if (a > 0) printf "fastest round with %d other patches / with none: %.3f\n", n, b / a }'
# Not growing: the fastest rounds (the least disturbed by the host) within
# 15%; the medians are printed above.
check "per-call cost does not grow with $n patches ($s0 -> $sn ns)" \
	awk -v a="$s0" -v b="$sn" 'BEGIN { exit !(a > 0 && b > 0 && b <= a * 1.15) }'
revert_all
echo "patches left: $(grep -c . $MP/patches)"
rmmod markpatch_bench
unload_targets
finish
