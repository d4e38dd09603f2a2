# Concurrency under multi-threaded TCG, where instruction fetch is not atomic
# against another vCPU's write (see qemu/guest/stress/, which runs the same
# churn with the atomic window writes in a single-threaded TCG boot): with
# int3_writes=1 every instruction goes through the int3 protocol. Install and
# revert over and over under stress on every CPU, with count, fail=V and
# targets_double: a caller gets the original's result or the hook's, nothing
# else, and callers are caught part-way.
. "${MPTESTS:-/tests}/lib.sh"
load_targets || exit 1
need_engine
revert_all
P=/sys/module/markpatch/parameters
check "int3_writes is writable" sh -c "echo 1 > $P/int3_writes"
echo 5 > $P/install_delay_ms

for name in mpt_short mpt_ambiguous mpt_loop_i2 mpt_realign; do
	churn $name count 3
done
for name in mpt_jcc mpt_call mpt_riprel; do
	churn $name fail=-3 3 allow=-3
	check "$name/fail: the hook ran (hooked > 0)" [ "$(field hooked "$STRESS")" -gt 0 ]
done
for name in mpt_c_fentry mpt_straddle; do
	churn $name targets_double 3 double
	check "$name/targets_double: the hook ran (hooked > 0)" [ "$(field hooked "$STRESS")" -gt 0 ]
done
echo "partial entries seen in this file: $total; trap redirects: $traps_total"
check "callers were caught part-way (partial > 0 summed over the run)" [ $total -gt 0 ]
check "callers that met an int3 went on in the pseudo-original (traps > 0 summed over the run)" [ $traps_total -gt 0 ]
echo 0 > $P/int3_writes
echo 0 > $P/install_delay_ms
revert_all
unload_targets
finish
