# Other writers of the same text, after an install:
#  - a kprobe (a tracefs kprobe event, as users place them with perf probe
#    or bpftrace; int3, or the jump kprobes optimizes it into) on a mark of
#    a patched vfs_statfs: revert must not put the original bytes back over
#    it (the probe would later restore our mark into the original code, and
#    every statfs after oopsed). It answers EBUSY and leaves the patch
#    installed; once the probe is gone it reverts, and the bytes are the
#    originals;
#  - a revert whose writes fail part-way (debug_fail_writes): the patch
#    stays listed as abandoned, keeps markpatch loaded, still works, and a
#    later revert puts the original bytes back and lets markpatch go;
#  - the second write for QEMU's translation cache (tcg_retouch) runs only
#    where asked or detected: with tcg_retouch=1 an install makes twice the
#    writes it makes with 0.
# timeout: 600
. "${MPTESTS:-/tests}/lib.sh"
load_targets || exit 1
need_engine
revert_all
P=/sys/module/markpatch/parameters
T=/sys/kernel/tracing
[ -d $T/events ] || mount -t tracefs nodev $T

statfs_ok() { # N statfs calls of /sys (constant) give the values they gave before patching
	for _i in $(seq "$1"); do
		[ "$(stat -f -c '%t %s %b %c' /sys)" = "$statfs_before" ] || return 1
	done
}
statfs_before=$(stat -f -c '%t %s %b %c' /sys)
echo "statfs of /sys before: $statfs_before"
echo vfs_statfs > $MP/decode
cat $MP/decode > /tmp/statfs.before
expect_errno "install vfs_statfs count" ok $MP/install "vfs_statfs count"
i2=$(sed -n 's/^I2 *+\(0x[0-9a-f]*\) .*/\1/p' $MP/patch/vfs_statfs/code)
echo "I2 (a mark) of vfs_statfs at +$i2"
check "vfs_statfs has an I2" [ -n "$i2" ]
check "a kprobe event on I2 (a mark) of the patched vfs_statfs" \
	sh -c "echo 'p:mpneigh vfs_statfs+$i2' >> $T/kprobe_events && echo 1 > $T/events/kprobes/mpneigh/enable"
check "statfs works with the probe on the mark" statfs_ok 20
grep mpneigh /sys/kernel/debug/kprobes/list 2>/dev/null
expect_errno "revert with the probe in the region" EBUSY $MP/revert vfs_statfs
check "its dmesg line names the instruction and why" \
	sh -c "dmesg | tail -3 | grep -q 'vfs_statfs: revert refused: I2 at +$i2 holds bytes markpatch did not write'"
check "the patch stays installed" [ "$(patch_field vfs_statfs 3)" = installed ]
before=$(patch_field vfs_statfs 4)
check "statfs still works" statfs_ok 20
check "and still goes through the patch" calls_over vfs_statfs "$before"
echo 0 > $T/events/kprobes/mpneigh/enable
echo '-:mpneigh' >> $T/kprobe_events
# kprobes puts the probed byte back after a grace period.
expect_errno "revert once the probe is gone" ok $MP/revert vfs_statfs
echo vfs_statfs > $MP/decode
check "vfs_statfs holds its original bytes" same_as_decode /tmp/statfs.before
check "statfs works after the revert" statfs_ok 50

# A revert whose writes fail part-way: mpt_short, its second write fails.
region mpt_short no
echo mpt_short > $MP/decode
cat $MP/decode > /tmp/short.before
expect_errno "install mpt_short count" ok $MP/install "mpt_short count"
refs() { awk '$1 == "markpatch" { print $3 }' /proc/modules; }
refs_before=$(refs)
# The abandon's dmesg line is an error the console scan would count: keep
# it (and only what this part logs) off the console.
read -r loglevel _ < /proc/sys/kernel/printk
echo 3 > /proc/sys/kernel/printk
echo 1 > $P/debug_fail_writes
expect_errno "revert mpt_short with its second write failing" EIO $MP/revert "mpt_short"
check "it is listed as abandoned" [ "$(patch_field mpt_short 3)" = abandoned ]
check "dmesg says why, in one line" sh -c "dmesg | tail -2 | grep -q 'mpt_short: cannot restore the original bytes (errno -5)'"
check "it pins markpatch (one more reference)" [ "$(refs)" = "$((refs_before + 1))" ]
tcall mpt_short 11
check "mpt_short still gives the right result" [ "$RESULT" = "$REF" ]
expect_errno "a second revert restores it" ok $MP/revert mpt_short
echo mpt_short > $MP/decode
check "mpt_short holds its original bytes" same_as_decode /tmp/short.before
check "markpatch is no longer pinned" [ "$(refs)" = "$refs_before" ]
echo "$loglevel" > /proc/sys/kernel/printk
tcall mpt_short 12
check "mpt_short right after the retry" [ "$RESULT" = "$REF" ]

# tcg_retouch: each write once when off, twice when on.
retouch_was=$(cat $P/tcg_retouch)
for r in 0 1; do
	echo $r > $P/tcg_retouch
	expect_errno "install mpt_short (tcg_retouch=$r)" ok $MP/install "mpt_short count"
	line=$(grep '^install ' $MP/timing)
	echo "$line"
	eval "writes_$r=$(field writes "$line")"
	expect_errno "revert mpt_short" ok $MP/revert mpt_short
done
check "tcg_retouch=1 writes twice what tcg_retouch=0 writes ($writes_0, $writes_1)" \
	[ "$writes_0" -gt 0 -a "$writes_1" = "$((2 * writes_0))" ]
echo "$retouch_was" > $P/tcg_retouch
echo "tcg_retouch is $retouch_was again"
grep -q 'QEMU TCG' /proc/cpuinfo && echo "this CPU is QEMU's TCG: the default (-1) retouches"
unload_targets
finish
