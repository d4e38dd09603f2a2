# The module that holds a patched function cannot go away under the patch:
# rmmod markpatch_targets while mpt_short is patched is refused (the module
# is pinned) or the patch goes with it (unlisted). Either way no oops, and
# nothing is left pointing into freed text.
. "${MPTESTS:-/tests}/lib.sh"
load_targets || exit 1
need_engine
revert_all
expect_errno "install mpt_short count" ok $MP/install "mpt_short count"
if rmmod markpatch_targets 2>/dev/null; then
	echo "rmmod markpatch_targets succeeded with mpt_short patched"
	cat $MP/patches
	check "the patch on the unloaded module's function is gone" [ -z "$(patch_field mpt_short 1)" ]
else
	echo "rmmod markpatch_targets refused while mpt_short is patched"
	check "module still loaded" [ -d $MPT ]
	check "patch intact" [ "$(patch_field mpt_short 3)" = installed ]
	tcall mpt_short 4
	check "mpt_short still right" [ "$RESULT" = "$REF" ]
	unload_targets
	check "unloads after the revert" [ ! -d $MPT ]
fi
finish
