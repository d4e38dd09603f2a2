# On a kernel that refuses unsigned modules (make install-check's signed
# kernel): the module `make install` signed loads and patches; the same
# module unsigned is refused, with the kernel's reason in dmesg.
. "${MPTESTS:-/tests}/lib.sh"
enforce=$(cat /sys/module/module/parameters/sig_enforce 2>/dev/null)
check "this kernel enforces module signatures (sig_enforce=${enforce:-absent})" [ "$enforce" = Y ]
[ "$enforce" = Y ] || finish
out=$(insmod $MPMODULES/markpatch-unsigned.ko 2>&1)
rc=$?
echo "insmod markpatch-unsigned.ko: exit $rc: $out"
check "the unsigned module is refused" [ $rc != 0 ]
check "and not loaded" [ ! -d $MP ]
check "dmesg says why" sh -c "dmesg | grep -q 'Loading of unsigned module is rejected'"
check "the installed (signed) module loads" insmod $MPMODULES/markpatch.ko
check "$MP exists" [ -d $MP ]
tainted=$(cat /proc/sys/kernel/tainted)
check "the kernel is not tainted by an unsigned module (tainted=$tainted, bit 13 clear)" [ $(( (tainted >> 13) & 1 )) = 0 ]
expect_errno "install vfs_statfs count" ok $MP/install "vfs_statfs count"
stat -f / > /dev/null
calls=$(patch_field vfs_statfs 4)
check "vfs_statfs counted calls ($calls)" [ "${calls:-0}" -gt 0 ]
expect_errno "revert vfs_statfs" ok $MP/revert vfs_statfs
check "rmmod markpatch" rmmod markpatch
finish
