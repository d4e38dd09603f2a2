# insmod creates /sys/kernel/markpatch/, root-only, and says so in dmesg.
. "${MPTESTS:-/tests}/lib.sh"
check "insmod markpatch.ko succeeds" insmod $MPMODULES/markpatch.ko
check "/sys/kernel/markpatch/ exists" [ -d $MP ]
check "decode is root-only (0600)" [ "$(stat -c %a $MP/decode)" = 600 ]
check "dmesg says the module loaded" sh -c 'dmesg | grep -q "markpatch: loaded"'
check "module is listed" grep -q '^markpatch ' /proc/modules
check "allocator self-test passed: alignments 16..4096 honoured, with and without IRQs" \
	sh -c "dmesg | grep -q \"markpatch: allocator self-test: 27 aligned allocations in process context, 27 with interrupts off\""
finish
