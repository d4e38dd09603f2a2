# A filter hook calls its function's original through a function pointer:
# on a kCFI kernel (make matrix's hardened variant) that call checks the
# type hash in the 16 bytes before the pseudo-original markpatch wrote, and
# the call of the hook itself checks the hook's. With the patch installed
# and stress on every CPU, the filter hook targets_double (it returns twice
# what the original returned, so a right doubled result means the original
# ran) must run at least 10,000 times per target, no result may be wrong,
# and the console must hold no "CFI failure" (a failed check is a BUG, so
# the boot would also die). Says whether kCFI was active in this boot; on a
# kernel without it the results are still checked.
# timeout: 180
. "${MPTESTS:-/tests}/lib.sh"
load_targets || exit 1
need_engine
revert_all

if dmesg | grep -q 'SMP alternatives: Using kCFI'; then
	cfi="kCFI active"
elif dmesg | grep -q 'SMP alternatives: Using FineIBT'; then
	cfi="FineIBT active"
elif grep -q ' __cfi_' /proc/kallsyms; then
	cfi="kCFI compiled in (its boot line is no longer in the log)"
else
	cfi="no kCFI in this kernel: the type checks are not exercised"
fi
echo "indirect-call checks in this boot: $cfi"

for name in mpt_c_fentry mpt_straddle; do
	expect_errno "install $name targets_double" ok $MP/install "$name targets_double"
	echo "$name 8 double" > $MPT/stress
	check "$name: stress finished" stress_wait 60
	echo "$STRESS"
	hooked=$(field hooked "$STRESS")
	calls=$(patch_field $name 4)
	echo "$name: $hooked doubled results; the patch counted $calls hook calls"
	check "$name: the filter hook called its original at least 10,000 times (hooked=$hooked)" \
		[ "${hooked:-0}" -ge 10000 ]
	check "$name: no wrong result" [ "$(field wrong "$STRESS")" = 0 ]
	check "$name: every stress call went through the hook (patch calls $calls >= stress calls)" \
		[ "${calls:-0}" -ge "$(field calls "$STRESS")" ]
	expect_errno "revert $name" ok $MP/revert $name
done
failures=$(dmesg | grep -c 'CFI failure')
check "no CFI failure in the console ($failures)" [ "$failures" = 0 ]
unload_targets
finish
