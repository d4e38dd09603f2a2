# plan (a dry run) of every shape in markpatch_targets: mpt_backedge_i1 is
# refused (a loop back to I1 would look like a new call), as is
# mpt_cold_to_i1, whose .cold part jumps to I1; the others are
# plannable with the region their bytes give (M, computed here from the
# decode listing); nothing is written. Also a real function, vfs_statfs.
. "${MPTESTS:-/tests}/lib.sh"
load_targets || exit 1
need_engine
check "plan is root-only (0600)" [ "$(stat -c %a $MP/plan)" = 600 ]

plan_one() { # NAME FENTRY WANT(plannable|refused) [STRADDLE]
	name=$1
	region "$name" "$2"
	cp $MP/decode /tmp/plan-before
	nlog=$(dmesg | grep -c 'markpatch: ')
	got=$(mperrno $MP/plan "$name")
	echo "--- plan $name (write: $got; region from decode: M=$REGION_M straddling:${REGION_STRADDLE:-none})"
	cat $MP/plan
	first=$(head -1 $MP/plan)
	if [ "$3" = plannable ]; then
		check "plan $name: write succeeds" [ "$got" = ok ]
		check "plan $name: '$name plannable M=$REGION_M ...'" matches "$first" "^$name plannable M=$REGION_M( |\$)"
		check "plan $name: a line per Ik" [ "$(sed 1d $MP/plan | wc -l)" -ge "$REGION_M" ]
		for k in $REGION_STRADDLE; do
			line=$(sed -n "$((k + 1))p" $MP/plan)
			check "plan $name: I$k (straddles 16 bytes) is written with the int3 protocol" \
				matches "$line" '[Ii]nt3|[Tt]rap'
		done
	else
		check "plan $name: EOPNOTSUPP" [ "$got" = EOPNOTSUPP ]
		check "plan $name: '$name refused: <reason>'" matches "$first" "^$name refused: ."
		dmesg | grep 'markpatch: ' | tail -n +$((nlog + 1))
		check "plan $name: one dmesg line gives the reason" \
			[ "$(dmesg | grep -c 'markpatch: ')" = $((nlog + 1)) ]
	fi
	echo "$name" > $MP/decode
	check "plan $name wrote nothing (decode unchanged)" same_as_decode /tmp/plan-before
}

while read -r name m plan straddle fentry; do
	plan_one "$name" "${fentry#fentry=}" "$plan"
done < $MPT/names
echo mpt_backedge_i1 > $MP/plan 2>/dev/null
why=$(head -1 $MP/plan | sed -n 's/^mpt_backedge_i1 refused: //p')
echo "mpt_backedge_i1: $why"
check "the refusal of mpt_backedge_i1 names the back-edge" \
	sh -c "echo '$why' | grep -q 'jump at +0x[0-9a-f]* back to the entry'"
# A function's .cold part (GCC's unlikely blocks, a symbol of its own that
# jumps back into the function) is read with it: its jumps into the region
# are branches of the function's own (shapes.S).
r=$(mperrno $MP/plan mpt_cold)
cat $MP/plan
check "plan mpt_cold: plannable, M=5" matches "$(head -1 $MP/plan)" '^mpt_cold plannable M=5( |$)'
check "plan mpt_cold: its .cold part is read" grep -q '^mpt_cold\.cold size 0x[0-9a-f]*: ' $MP/plan
check "plan mpt_cold: the jump back from mpt_cold.cold lands on I4" grep -qx 'branches land on I4' $MP/plan
r=$(mperrno $MP/plan mpt_cold.cold)
echo "mpt_cold.cold: $r: $(head -1 $MP/plan)"
check "plan mpt_cold.cold: refused as code entered by a jump" \
	matches "$r $(head -1 $MP/plan)" '^EOPNOTSUPP mpt_cold\.cold refused: jump-entered: '
r=$(mperrno $MP/plan mpt_cold_to_i1)
why=$(head -1 $MP/plan | sed -n 's/^mpt_cold_to_i1 refused: //p')
echo "mpt_cold_to_i1: $r: $why"
check "plan mpt_cold_to_i1: EOPNOTSUPP" [ "$r" = EOPNOTSUPP ]
check "the refusal of mpt_cold_to_i1 names its .cold part's jump to I1" \
	matches "$why" '^branch at \.cold\+0x0 to \+0x4, '
plan_one vfs_statfs yes plannable
unload_targets
finish
