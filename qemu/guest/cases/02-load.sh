# insmod creates /sys/kernel/markpatch/, root-only, and says so in dmesg.
. "${MPTESTS:-/tests}/lib.sh"
check "insmod markpatch.ko succeeds" insmod $MPMODULES/markpatch.ko
check "/sys/kernel/markpatch/ exists" [ -d $MP ]
check "decode is root-only (0600)" [ "$(stat -c %a $MP/decode)" = 600 ]
check "dmesg says the module loaded" sh -c 'dmesg | grep -q "markpatch: loaded"'
check "module is listed" grep -q '^markpatch ' /proc/modules
finish
