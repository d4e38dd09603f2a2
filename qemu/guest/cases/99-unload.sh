# rmmod removes the directory and leaves no trace.
. "${MPTESTS:-/tests}/lib.sh"
load_markpatch
check "rmmod markpatch succeeds" rmmod markpatch
check "/sys/kernel/markpatch/ is gone" [ ! -e $MP ]
check "dmesg says the module unloaded" sh -c 'dmesg | grep -q "markpatch: unloaded"'
check "reload works" insmod $MPMODULES/markpatch.ko
check "second rmmod works" rmmod markpatch
finish
