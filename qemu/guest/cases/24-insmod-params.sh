# insmod markpatch.ko symbol=NAME hook=HOOK installs at load (rmmod reverts);
# a failing install makes insmod fail with its errno and leaves no module.
# (insmod words the errno its own way: busybox says "unknown symbol in
# module, or unknown parameter" for ENOENT, kmod (virtme-ng runs the host's)
# "Unknown symbol in module" for ENOENT and "Invalid parameters" for EINVAL.)

. "${MPTESTS:-/tests}/lib.sh"
unload_targets
load_markpatch
revert_all
echo vfs_statfs > $MP/decode
cp $MP/decode /tmp/before
check "rmmod markpatch" rmmod markpatch

check "insmod symbol=vfs_statfs hook=count" insmod $MPMODULES/markpatch.ko symbol=vfs_statfs hook=count
cat $MP/patches
check "vfs_statfs installed with count at load" \
	[ "$(patch_field vfs_statfs 2) $(patch_field vfs_statfs 3)" = "count installed" ]
for i in 1 2 3 4 5; do stat -f / > /dev/null; done
check "vfs_statfs calls counted" [ "$(patch_field vfs_statfs 4)" -ge 5 ]
check "rmmod with the patch installed" rmmod markpatch
check "insmod without parameters" insmod $MPMODULES/markpatch.ko
check "no patch at plain load" [ -z "$(cat $MP/patches)" ]
echo vfs_statfs > $MP/decode
check "vfs_statfs bytes restored by rmmod" same_as_decode /tmp/before
rmmod markpatch

insmod_fails() { # DESC ERRNO-TEXT PARAMS...
	what=$1 want=$2; shift 2
	n0=$(dmesg | grep -c 'markpatch: ')
	out=$(insmod $MPMODULES/markpatch.ko "$@" 2>&1)
	rc=$?
	echo "insmod $*: exit $rc: $out"
	dmesg | grep 'markpatch: ' | tail -n +$((n0 + 1)) | cut -c1-200
	check "$what: insmod fails" [ $rc != 0 ]
	check "$what: with $want" matches "$out" "$want"
	check "$what: module not loaded" [ ! -d /sys/module/markpatch ]
	check "$what: a dmesg line says why" \
		sh -c "dmesg | grep 'markpatch: ' | tail -n +$((n0 + 1)) | grep -vq 'loaded'"
	[ -d /sys/module/markpatch ] && rmmod markpatch
}
insmod_fails "unknown symbol" "No such file|[Uu]nknown symbol" symbol=no_such_function_xyz hook=count
insmod_fails "unknown hook" "No such file|[Uu]nknown symbol" symbol=vfs_statfs hook=no_such_hook
insmod_fails "malformed hook" "Invalid argument|Invalid parameters" symbol=vfs_statfs hook=fail=abc
insmod_fails "data symbol" "Invalid argument|Invalid parameters|No such file|[Uu]nknown symbol|not supported" symbol=jiffies hook=count
check "reload for the next tests" insmod $MPMODULES/markpatch.ko
finish
