# Coverage: `plan` over the kernel's functions (every text symbol of vmlinux
# in /proc/kallsyms, less the __pfx_/__cfi_ padding symbols), counting the
# plannable ones and grouping the refusals by reason. A plan costs tens of
# milliseconds under TCG (symbol lookup through a kprobe), so the run gets a
# time budget (MP_COVERAGE_BUDGET seconds, default 120): it times a small
# calibration sample, then plans every Nth symbol to fit (N=1: all of them)
# and says which N it used. The goal is at least 95% plannable.
. "${MPTESTS:-/tests}/lib.sh"
load_markpatch
need_engine
budget=${MP_COVERAGE_BUDGET:-120}
# Every refusal logs a markpatch: line at KERN_INFO: keep them off the
# serial console (slow under TCG, and the console scan would read wording
# such as "BUG/WARN" in a reason as a kernel error); warnings and worse still
# reach it, and dmesg is checked below.
read -r loglevel _ < /proc/sys/kernel/printk
echo 5 > /proc/sys/kernel/printk
kerr='(^|[^A-Za-z])BUG([^A-Za-z]|$)|WARNING|Oops|general protection'
dmesg_before=$(dmesg | grep -v 'markpatch: plan: ' | grep -cE "$kerr")
awk '($2 == "t" || $2 == "T") && NF == 3 && $3 !~ /^(__pfx_|__cfi_)/ { print $3 }' /proc/kallsyms \
	| sort -u > /tmp/cov-syms
total=$(wc -l < /tmp/cov-syms)
echo "vmlinux text symbols: $total"

now_cs() { read -r _up _ < /proc/uptime; echo "${_up%.*}${_up#*.}"; }

# plan_all FILE: plans each symbol of FILE; appends "ok SYMBOL" or
# "refused REASON" or "error ERRNO-TEXT" lines to /tmp/cov-results.
plan_all() {
	while read -r s; do
		if echo "$s" > $MP/plan 2> /tmp/cov-err; then
			echo "ok $s"
		else
			read -r first < $MP/plan
			case "$first" in
			"$s refused: "*) echo "refused ${first#"$s refused: "}" ;;
			*) read -r e < /tmp/cov-err; echo "error ${e##*: }" ;;
			esac
		fi
	done < "$1" >> /tmp/cov-results
}

: > /tmp/cov-results
awk -v n=$((total / 40 + 1)) 'NR % n == 1' /tmp/cov-syms > /tmp/cov-calib
t0=$(now_cs)
plan_all /tmp/cov-calib
t1=$(now_cs)
ncal=$(wc -l < /tmp/cov-calib)
cs=$((t1 - t0))
echo "calibration: $ncal plans in $((cs / 100)).$((cs % 100 / 10)) s"
stride=$(( (total * cs / ncal + budget * 100 - 1) / (budget * 100) ))
[ $stride -ge 1 ] || stride=1
if [ $stride = 1 ]; then
	echo "planning all $total symbols"
else
	echo "planning every ${stride}th symbol ($((total / stride)) of $total) to stay within ${budget} s"
fi
: > /tmp/cov-results
awk -v n=$stride '(NR - 1) % n == 0' /tmp/cov-syms > /tmp/cov-sample
t0=$(now_cs)
plan_all /tmp/cov-sample
t1=$(now_cs)
n=$(wc -l < /tmp/cov-results)
ok=$(grep -c '^ok ' /tmp/cov-results)
echo "planned $n symbols in $(((t1 - t0) / 100)) s"
echo "plannable: $ok of $n ($((ok * 1000 / (n > 0 ? n : 1) / 10)).$((ok * 1000 / (n > 0 ? n : 1) % 10))%)"
echo "refusals by reason (offsets and addresses elided):"
grep -v '^ok ' /tmp/cov-results \
	| sed -E 's/[+]?0x[0-9a-f]+/N/g; s/[0-9]+ bytes/N bytes/g' \
	| sort | uniq -c | sort -rn | head -40
echo $loglevel > /proc/sys/kernel/printk
dmesg | grep -v 'markpatch: plan: ' | grep -E "$kerr" | tail -5
check "no kernel error while planning" \
	[ "$(dmesg | grep -v 'markpatch: plan: ' | grep -cE "$kerr")" -le "$dmesg_before" ]
check "planned a sample ($n symbols)" [ "$n" -ge 40 ]
check "some functions are plannable" [ "$ok" -gt 0 ]
finish
