# Concurrency with `count`: kthreads on every CPU call the target in a tight
# loop and check every result (only the original's is right) while the patch
# is installed and reverted over and over with a delay between the
# instruction writes, so callers are caught part-way (`partial`).
. "${MPTESTS:-/tests}/lib.sh"
load_targets || exit 1
need_engine
revert_all
DELAY=/sys/module/markpatch/parameters/install_delay_ms
check "install_delay_ms is writable" sh -c "echo 5 > $DELAY"
echo "install_delay_ms=$(cat $DELAY 2>/dev/null)"
total=0

for name in mpt_short mpt_loop_i2 mpt_straddle mpt_ambiguous mpt_realign; do
	churn $name count 5
done
echo "partial entries seen in this file: $total"
check "callers were caught part-way (partial > 0 summed over the run)" [ $total -gt 0 ]
revert_all
unload_targets
finish
