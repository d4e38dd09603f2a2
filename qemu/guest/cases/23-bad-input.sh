# The bad-input matrix of plan, install and revert: each errno, one dmesg
# line each, and no oops; nothing is left patched.
. "${MPTESTS:-/tests}/lib.sh"
load_targets || exit 1
need_engine
revert_all
long=$(printf '%4096s' '' | tr ' ' a)

# bad WANT FILE DATA: errno WANT and exactly one new "markpatch: " dmesg line
bad() {
	n0=$(dmesg | grep -c 'markpatch: ')
	expect_errno "${2##*/} '$(echo "$3" | cut -c1-40)'" "$1" "$2" "$3"
	n1=$(dmesg | grep -c 'markpatch: ')
	dmesg | grep 'markpatch: ' | tail -n +$((n0 + 1)) | cut -c1-200
	check "${2##*/} '$(echo "$3" | cut -c1-40)': one dmesg line" [ $((n1 - n0)) = 1 ]
}

# Every writable file: empty, a page, embedded NUL, non-UTF-8.
for f in decode plan survey install revert quota scope; do
	check "$f is root-only ($(stat -c %a $MP/$f))" matches "$(stat -c %a $MP/$f)" '^[0-7]00$'
	bad EINVAL $MP/$f '\n'
	bad EINVAL $MP/$f "$long"
	bad EINVAL $MP/$f 'mpt\x00short'
	bad EINVAL $MP/$f '\xff\xfe'
done
# An address inside a function is not the name of one.
bad ENOENT $MP/plan 'mpt_short+0x4'
bad ENOENT $MP/install 'mpt_short+0x4 count'
bad ENOENT $MP/revert 'mpt_short+0x4'
# survey: at most 64 names per write.
bad EINVAL $MP/survey "$(seq 65 | sed 's/^/f/' | tr '\n' ' ')"

# A user other than root can neither write nor read any file.
check "asuser runs as uid 1000" [ "$(asuser 'id -u')" = 1000 ]
for f in decode plan survey install revert quota scope; do
	r=$(asuser "$MPTESTS/bin/mpwrite $MP/$f mpt_short" | sed -n 's/^errno [0-9]* \([A-Z0-9]*\).*/\1/p; s/^ok$/ok/p')
	check "$f: a write by uid 1000 is refused ($r)" [ "$r" = EACCES ]
done
for f in decode plan survey patches stats quota scope; do
	check "$f: a read by uid 1000 is refused" sh -c "! $MPTESTS/bin/asuid 1000 cat $MP/$f 2>/dev/null"
done
bad ENOENT $MP/plan no_such_function_xyz
# What plan reads after a refusal is that name's reason, never the report
# of a function planned before.
check "plan reads the unknown name's refusal ($(head -1 $MP/plan))" \
	matches "$(head -1 $MP/plan)" '^no_such_function_xyz refused: '
bad EOPNOTSUPP $MP/plan mpt_backedge_i1
check "plan reads mpt_backedge_i1's refusal" matches "$(head -1 $MP/plan)" '^mpt_backedge_i1 refused: '
r=$(mperrno $MP/plan jiffies)
echo "plan of a data symbol (jiffies): $r"
check "plan jiffies (not a function) is refused" matches "$r" '^(EINVAL|ENOENT|EOPNOTSUPP)$'
check "plan reads jiffies' refusal ($(head -1 $MP/plan))" matches "$(head -1 $MP/plan)" '^jiffies refused: '

# A function of each refusal reason the running kernel has: a survey of
# every 40th text symbol, then one example per reason through plan and
# install (EOPNOTSUPP, one dmesg line, nothing installed).
awk '($2 == "t" || $2 == "T") && NF == 3 && $3 !~ /^(__pfx_|__cfi_)/ { print $3 }' /proc/kallsyms \
	| sort -u | awk 'NR % 40 == 0' > /tmp/bad-sample
: > /tmp/bad-verdicts
# The refusals log at KERN_INFO naming kernel functions (panic_*, BUG_*):
# keep them off the serial console that the run's console scan reads.
read -r loglevel _ < /proc/sys/kernel/printk
echo 5 > /proc/sys/kernel/printk
xargs -n 16 < /tmp/bad-sample | while read -r names; do
	echo "$names" > $MP/survey && cat $MP/survey >> /tmp/bad-verdicts
done
for reason in $(grep -v ' ok M=' /tmp/bad-verdicts | awk '{ print $2 }' | sort -u); do
	ex=$(grep -m1 " $reason\$" /tmp/bad-verdicts | cut -d' ' -f1)
	echo "refusal $reason: e.g. $ex"
	if [ "$reason" = kprobes-error ]; then
		# kprobes' own errno, whatever it is
		r=$(mperrno $MP/install "$ex count")
		check "install $ex ($reason) is refused ($r)" [ "$r" != ok ]
		continue
	fi
	bad EOPNOTSUPP $MP/plan "$ex"
	bad EOPNOTSUPP $MP/install "$ex count"
done
echo $loglevel > /proc/sys/kernel/printk
check "refusals of several kinds were tried" [ "$(grep -v ' ok M=' /tmp/bad-verdicts | awk '{ print $2 }' | sort -u | wc -l)" -ge 3 ]
check "nothing installed by the refused installs" [ -z "$(cat $MP/patches)" ]

# install
bad EINVAL $MP/install 'mpt_short'
bad EINVAL $MP/install 'mpt_short count extra'
bad EINVAL $MP/install 'mpt_short fail='
bad EINVAL $MP/install 'mpt_short fail=abc'
bad EINVAL $MP/install 'mpt_short fail=99999999999999999999999'
bad EINVAL $MP/install 'mpt_short count\x00'
bad ENOENT $MP/install 'no_such_function_xyz count'
bad ENOENT $MP/install 'mpt_short no_such_hook'
bad EOPNOTSUPP $MP/install 'mpt_backedge_i1 count'
r=$(mperrno $MP/install 'jiffies count')
echo "install on a data symbol (jiffies): $r"
check "install jiffies (not a function) is refused" matches "$r" '^(EINVAL|ENOENT|EOPNOTSUPP)$'
check "nothing installed by the bad writes" [ -z "$(cat $MP/patches)" ]

# revert
bad ENOENT $MP/revert mpt_short
bad ENOENT $MP/revert no_such_function_xyz
# several names are a batch: each must be a patched function
bad ENOENT $MP/revert 'mpt_short extra'
bad EINVAL $MP/revert "mpt_short $(printf 'x%.0s' $(seq 600))"

# twice
region mpt_short no
cp $MP/decode /tmp/before
expect_errno "install mpt_short count" ok $MP/install 'mpt_short count'
expect_errno "install mpt_short count again (replaces the hook)" ok $MP/install 'mpt_short count'
check "dmesg says replaced hook" sh -c "dmesg | tail -5 | grep -q 'replaced hook'"
check "one patch listed" [ "$(wc -l < $MP/patches)" = 1 ]
expect_errno "revert mpt_short" ok $MP/revert mpt_short
bad ENOENT $MP/revert mpt_short
echo mpt_short > $MP/decode
check "mpt_short bytes restored" same_as_decode /tmp/before

# EBUSY: the code changes under an install. A slow install (1 s between the
# instruction writes, IM first, I1 last) and a kprobe put on I1 meanwhile:
# the write of I1 finds int3 where the original was.
echo 1000 > /sys/module/markpatch/parameters/install_delay_ms
( mperrno $MP/install 'mpt_short count' > /tmp/ebusy ) &
ipid=$!
# The install is under way once its patch is staged: state `installing`.
for _i in $(seq 200); do
	[ "$(cat $MP/patch/mpt_short/state 2>/dev/null)" = installing ] && break
	sleep 0.02
done
check "the install is under way (state installing)" [ "$(cat $MP/patch/mpt_short/state 2>/dev/null)" = installing ]
check "kprobe on I1 of mpt_short during the install" sh -c "echo 'mpt_short 4 int3' > $MPT/kprobe"
wait $ipid
r=$(cat /tmp/ebusy)
echo "install with the code changed under it: $r"
check "install with the code changed under it: EBUSY" [ "$r" = EBUSY ]
dmesg | grep 'markpatch: ' | tail -2
cat $MPT/kprobe
check "nothing left installed" [ -z "$(cat $MP/patches)" ]
echo 0 > /sys/module/markpatch/parameters/install_delay_ms
echo - > $MPT/kprobe
restored() { # the bytes are the originals again (kprobes restores asynchronously, after an RCU-tasks grace period: up to a minute under a loaded TCG host)
	for _i in $(seq 120); do
		echo mpt_short > $MP/decode
		same_as_decode /tmp/before && return 0
		sleep 0.5
	done
	cat $MP/decode
	return 1
}
check "mpt_short bytes are the originals after the rollback and the kprobe" restored

# A kprobe in the region: its int3 (a kprobe with a post handler is never
# optimized), or the 5-byte jmp kprobes optimizes it into, must make the
# planner refuse.
for kind in int3 opt; do
	echo "mpt_short 4 $kind" > $MPT/kprobe
	sleep 1
	echo mpt_short > $MP/decode
	sed -n 2,3p $MP/decode
	r=$(mperrno $MP/plan mpt_short)
	echo "plan with a kprobe ($kind) on I1: $r; $(head -1 $MP/plan)"
	check "plan with a kprobe ($kind) on I1: EOPNOTSUPP" [ "$r" = EOPNOTSUPP ]
	r=$(mperrno $MP/install "mpt_short count")
	check "install with a kprobe ($kind) on I1: EOPNOTSUPP" [ "$r" = EOPNOTSUPP ]
	[ "$r" = ok ] && echo mpt_short > $MP/revert
	echo - > $MPT/kprobe
	check "mpt_short bytes are the originals after the kprobe ($kind) goes" restored
done
tcall mpt_short 9
check "mpt_short still right" [ "$RESULT" = "$REF" ]

unload_targets
finish
