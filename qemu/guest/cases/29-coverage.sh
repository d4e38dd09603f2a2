# Coverage: a dry-run plan of every function of the running kernel (every
# text symbol of vmlinux in /proc/kallsyms, less the __pfx_/__cfi_ padding
# symbols), through /sys/kernel/markpatch/survey (up to 40 names per
# write, one RCU grace period per write). Prints how many can be patched, the refusals
# grouped by reason with one example each (the dmesg line of its `plan` write), and the
# share among the functions that exist and that kprobes allows (freed
# __init code and blacklisted/noinstr/entry code excluded). The goal,
# checked: at least 95% of the functions kprobes allows to be touched are
# plannable. MP_COVERAGE_STRIDE=N plans every Nth symbol only.
# timeout: 1500
. "${MPTESTS:-/tests}/lib.sh"
load_markpatch
need_engine
stride=${MP_COVERAGE_STRIDE:-1}
# A refused plan logs a markpatch: line at KERN_INFO naming the function
# (one is BUG_func): keep them off the serial console, which the run's
# console scan reads, and out of the kernel-error count below.
read -r loglevel _ < /proc/sys/kernel/printk
echo 5 > /proc/sys/kernel/printk
kerr='(^|[^A-Za-z])BUG([^A-Za-z_]|$)|WARNING|Oops|general protection'
kerrors() { dmesg | grep -v 'markpatch: plan: ' | grep -cE "$kerr"; }
dmesg_before=$(kerrors)
awk -v n="$stride" '($2 == "t" || $2 == "T") && NF == 3 && $3 !~ /^(__pfx_|__cfi_)/ { print $3 }' /proc/kallsyms \
	| sort -u | awk -v n="$stride" '(NR - 1) % n == 0' > /tmp/cov-syms
total=$(wc -l < /tmp/cov-syms)
echo "vmlinux functions to plan: $total (every ${stride}th text symbol)"

now_cs() { read -r _up _ < /proc/uptime; echo "${_up%.*}${_up#*.}"; }

: > /tmp/cov-results
bad_writes=0
t0=$(now_cs)
# Batches of at most 40 names and 1,500 bytes of names (Rust's mangled
# names are long): the verdicts must fit one page.
awk 'BEGIN { b = 0 } { if (n == 40 || bytes + length($0) > 1500) { b++; n = 0; bytes = 0 }
	f = sprintf("/tmp/cov-batch.%05d", b); if (f != last) { if (last) close(last); last = f }
	print > f; n++; bytes += length($0) + 1 }' /tmp/cov-syms
for b in /tmp/cov-batch.*; do
	if cat "$b" > $MP/survey; then
		cat $MP/survey >> /tmp/cov-results
	else
		bad_writes=$((bad_writes + 1))
	fi
	rm -f "$b"
done
t1=$(now_cs)
n=$(wc -l < /tmp/cov-results)
ok=$(grep -c ' ok M=' /tmp/cov-results)
pct() { echo "$(($1 * 1000 / ($2 > 0 ? $2 : 1) / 10)).$(($1 * 1000 / ($2 > 0 ? $2 : 1) % 10))%"; }
echo "planned $n functions in $(((t1 - t0) / 100)) s"
echo "plannable: $ok of $n ($(pct $ok $n))"
freed=$(grep -c ' not-live-text$' /tmp/cov-results)
echo "plannable among the $((n - freed)) functions whose code exists (not freed __init code): $ok ($(pct $ok $((n - freed))))"
gone=$(grep -cE ' (not-live-text|kprobes-forbidden)$' /tmp/cov-results)
echo "plannable among the $((n - gone)) of those that kprobes allows to be touched: $ok ($(pct $ok $((n - gone))))"
echo "M (instructions in the region) of the plannable ones:"
sed -n 's/.* ok M=//p' /tmp/cov-results | sort -n | uniq -c | awk '{ printf "  M=%s: %s\n", $2, $1 }'
echo "refusals by reason, with an example:"
grep -v ' ok M=' /tmp/cov-results | awk '{ print $2 }' | sort | uniq -c | sort -rn > /tmp/cov-reasons
while read -r count reason; do
	ex=$(grep -m1 " $reason\$" /tmp/cov-results | cut -d' ' -f1)
	# A refused plan write says why in one dmesg line.
	echo "$ex" > $MP/plan 2>/dev/null
	why=$(dmesg | grep "markpatch: plan: $ex: " | tail -n1 | sed 's/.*markpatch: plan: //')
	printf '%6d %-26s e.g. %s\n' "$count" "$reason" "${why:-$ex}"
done < /tmp/cov-reasons
echo $loglevel > /proc/sys/kernel/printk
dmesg | grep -v 'markpatch: plan: ' | grep -E "$kerr" | tail -5
check "no kernel error while planning" [ "$(kerrors)" -le "$dmesg_before" ]
check "every survey write was taken ($bad_writes refused)" [ "$bad_writes" = 0 ]
check "a verdict for every function ($n of $total)" [ "$n" = "$total" ]
check "at least 95% of the functions kprobes allows are plannable ($(pct $ok $((n - gone))))" \
	[ $((ok * 1000)) -ge $(((n - gone) * 950)) ]
finish
