# A module whose function is patched can go away, as under livepatch: rmmod
# markpatch_targets while mpt_short is patched succeeds, and markpatch
# reverts the patch first (its module notifier), so nothing is left
# pointing into freed text and nothing oopses.
. "${MPTESTS:-/tests}/lib.sh"
load_targets || exit 1
need_engine
revert_all
expect_errno "install mpt_short count" ok $MP/install "mpt_short count"
gone() { dmesg | grep -c 'markpatch: reverted 1 patch(es) on a module that is going away'; }
gone0=$(gone)
check "rmmod markpatch_targets with mpt_short patched" rmmod markpatch_targets
cat $MP/patches
check "the patch on the unloaded module's function is gone" [ -z "$(patch_field mpt_short 1)" ]
check "its directory is gone" [ ! -e $MP/patch/mpt_short ]
check "dmesg says the patch was reverted with the module" [ "$(gone)" -gt "$gone0" ]
[ -d $MPT ] && { revert_all; unload_targets; }
finish
