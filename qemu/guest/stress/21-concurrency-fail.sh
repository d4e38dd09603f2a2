# Concurrency with hooks that change the result: fail=V (a caller gets the
# original's result or V, nothing else) and targets_double (the original's or
# twice it), installed and reverted over and over under stress on every CPU
# with the install delay on.
. "${MPTESTS:-/tests}/lib.sh"
load_targets || exit 1
need_engine
revert_all
DELAY=/sys/module/markpatch/parameters/install_delay_ms
echo 5 > $DELAY
total=0

for name in mpt_jcc mpt_call mpt_riprel; do
	churn $name fail=-3 4 allow=-3
	check "$name/fail: the hook ran (hooked > 0)" [ "$(field hooked "$STRESS")" -gt 0 ]
done
for name in mpt_c_fentry mpt_straddle; do
	churn $name targets_double 4 double
	check "$name/targets_double: the hook ran (hooked > 0)" [ "$(field hooked "$STRESS")" -gt 0 ]
done
echo "partial entries seen in this file: $total"
check "callers were caught part-way (partial > 0 summed over the run)" [ $total -gt 0 ]
revert_all
unload_targets
finish
