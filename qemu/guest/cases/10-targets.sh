# markpatch_targets loads after markpatch, passes its own self-check (every
# target's result equals its C reference, layouts as the shapes need),
# registers its two filter hooks through markpatch's API, and its call and
# stress drivers work on the unpatched targets. Needs no engine but decode.
. "${MPTESTS:-/tests}/lib.sh"
check "markpatch_targets.ko loads after markpatch.ko" load_targets
cat $MPT/selftest
check "self-check passed" grep -q '^ok: ' $MPT/selftest
check "hook targets_double registered" grep -q '^hook targets_double: registered' $MPT/selftest
check "hook targets_sleepy registered" grep -q '^hook targets_sleepy: registered' $MPT/selftest
check "a hook without an owner module is refused (EINVAL)" grep -q '^hook without an owner: errno -22$' $MPT/selftest
cat $MPT/names
check "11 targets listed" [ "$(wc -l < $MPT/names)" = 11 ]
check "hook targets_args registered" grep -q '^hook targets_args: registered' $MPT/selftest
check "names, call and stress are root-only" \
	[ "$(stat -c %a $MPT/names $MPT/call $MPT/stress | tr '\n' ' ')" = "400 600 600 " ]

# Each target's listed region matches markpatch's decode of its live bytes.
while read -r name m plan straddle fentry; do
	m=${m#m=} straddle=${straddle#straddle=} fentry=${fentry#fentry=}
	region "$name" "$fentry"
	echo "$name: decode gives M=$REGION_M straddling:${REGION_STRADDLE:-none}; listed m=$m straddle=$straddle"
	if [ "$m" != "?" ]; then
		check "$name: region has M=$m" [ "$REGION_M" = "$m" ]
		[ "$straddle" = - ] && straddle=
		check "$name: straddling instructions: ${straddle:-none}" [ "$REGION_STRADDLE" = "$straddle" ]
	else
		check "$name: region found (M=$REGION_M)" [ "$REGION_M" -ge 1 ]
	fi
done < $MPT/names
check "mpt_c_fentry opens with ENDBR and the fentry NOP" \
	sh -c "echo mpt_c_fentry > $MP/decode && sed -n 2,3p $MP/decode | cut -f3 | tr '\n' '|' | grep -Eq '^(f3 0f 1e fa|66 0f 1f 00)\|0f 1f 44 00 00\|$'"

# call: result and reference agree.
for name in $(cut -d' ' -f1 $MPT/names); do
	ok=1
	for x in 0 1 6 7 8 1000 65535 1048575; do
		tcall $name $x || ok=0
		[ "$RESULT" = "$REF" ] || { echo "$name($x) = $RESULT, reference $REF"; ok=0; }
	done
	check "call $name: results equal the reference" [ $ok = 1 ]
done
expect_errno "call of an unknown target" ENOENT $MPT/call "no_such_target 1"
expect_errno "call without an argument" EINVAL $MPT/call "mpt_short"

# stress on every CPU, unpatched: every result right.
cpus=$(grep -c '^processor' /proc/cpuinfo)
for name in mpt_short mpt_straddle mpt_ambiguous mpt_c_fentry mpt_realign; do
	echo "$name 2" > $MPT/stress
	check "stress $name: running" grep -q '^running' $MPT/stress
	check "stress $name: finishes" stress_wait 30
	echo "$STRESS"
	check "stress $name: one thread per CPU" [ "$(field cpus "$STRESS")" = "$cpus" ]
	check "stress $name: calls made" [ "$(field calls "$STRESS")" -gt 1000 ]
	check "stress $name: no wrong result" [ "$(field wrong "$STRESS")" = 0 ]
done
expect_errno "stress of an unknown target" ENOENT $MPT/stress "no_such_target 1"
expect_errno "stress: malformed" EINVAL $MPT/stress "mpt_short x"
echo "mpt_short 30" > $MPT/stress
expect_errno "stress while one runs" EBUSY $MPT/stress "mpt_short 1"
check "stress stops on request" sh -c "echo stop > $MPT/stress && grep -q '^done' $MPT/stress"
echo "mpt_short 30" > $MPT/stress
check "rmmod while stress runs stops it cleanly" unload_targets
check "markpatch_targets is gone" [ ! -d $MPT ]
check "reload" load_targets
unload_targets
finish
