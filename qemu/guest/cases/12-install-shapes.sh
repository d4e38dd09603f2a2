# For every plannable shape: install `count` (results unchanged, calls
# counted, marks and the jump in place), replace the hook in place with
# fail=V (returns V) and targets_double (2x the original's result, through
# markpatch's exported filter API), then revert (the bytes are exactly the
# originals again).
. "${MPTESTS:-/tests}/lib.sh"
load_targets || exit 1
need_engine
revert_all
xs="0 1 7 8 12345 1048575"

for name in $(awk '$3 == "plannable" { print $1 }' $MPT/names); do
	fentry=$(awk -v n=$name '$1 == n { sub(/fentry=/, "", $5); print $5 }' $MPT/names)
	region $name $fentry
	m=$REGION_M
	cp $MP/decode /tmp/before
	echo "--- $name (M=$m)"
	expect_errno "install $name count" ok $MP/install "$name count"
	cat $MP/patches
	check "$name: patches lists it installed with hook count" \
		[ "$(patch_field $name 2) $(patch_field $name 3)" = "count installed" ]
	d=$MP/patch/$name
	check "$name: patch/$name/ has hook state calls partial code" \
		sh -c "for f in hook state calls partial code; do [ -r $d/\$f ] || exit 1; done"
	check "$name: hook file says count" [ "$(cat $d/hook 2>/dev/null)" = count ]
	check "$name: state file says installed" [ "$(cat $d/state 2>/dev/null)" = installed ]
	cat $d/code > /tmp/code 2>/dev/null
	cat /tmp/code
	check "$name: code shows the originals, the marks and jmp now there, and P" code_matches /tmp/code /tmp/before $m
	echo $name > $MP/decode
	cp $MP/decode /tmp/installed
	sed 1d /tmp/installed | head -$((2 * m))
	check "$name: push %rsp at I1..I$((m - 1)), jmp at I$m" marked_as_planned /tmp/installed

	c0=$(cat $d/calls 2>/dev/null || echo 0)
	ok=1; n=0
	for x in $xs; do
		tcall $name $x; n=$((n + 1))
		[ "$RESULT" = "$REF" ] || { echo "$name($x) = $RESULT, want $REF"; ok=0; }
	done
	check "count on $name: results unchanged" [ $ok = 1 ]
	c1=$(cat $d/calls 2>/dev/null || echo 0)
	echo "calls: $c0 -> $c1 after $n calls"
	check "count on $name: calls counted exactly ($n)" [ "$c1" = $((c0 + n)) ]

	for v in 12345 -7; do
		nlog=$(dmesg | grep -c 'replaced hook')
		expect_errno "replace hook of $name with fail=$v" ok $MP/install "$name fail=$v"
		check "$name: dmesg says replaced hook" [ "$(dmesg | grep -c 'replaced hook')" -gt "$nlog" ]
		check "$name: patches lists hook fail=$v" [ "$(patch_field $name 2)" = "fail=$v" ]
		echo $name > $MP/decode
		check "$name: replacing the hook rewrote no code" same_as_decode /tmp/installed
		ok=1
		for x in $xs; do
			tcall $name $x
			[ "$RESULT" = "$v" ] || { echo "$name($x) = $RESULT, want $v"; ok=0; }
		done
		check "fail=$v on $name: returns $v" [ $ok = 1 ]
	done

	expect_errno "replace hook of $name with targets_double" ok $MP/install "$name targets_double"
	ok=1
	for x in $xs; do
		tcall $name $x
		[ "$RESULT" = "$((2 * REF))" ] || { echo "$name($x) = $RESULT, want 2 x $REF"; ok=0; }
	done
	check "targets_double on $name: 2x the original's result" [ $ok = 1 ]

	expect_errno "revert $name" ok $MP/revert "$name"
	echo $name > $MP/decode
	if ! same_as_decode /tmp/before; then
		echo "before:"; cat /tmp/before; echo "after revert:"; cat $MP/decode
	fi
	check "revert $name: bytes exactly the originals" same_as_decode /tmp/before
	check "$name: no longer listed in patches" [ -z "$(patch_field $name 1)" ]
	check "$name: patch/$name/ is gone" [ ! -e $MP/patch/$name ]
	ok=1
	for x in $xs; do
		tcall $name $x
		[ "$RESULT" = "$REF" ] || ok=0
	done
	check "$name after revert: results are the original's" [ $ok = 1 ]
	expect_errno "second revert of $name" ENOENT $MP/revert "$name"
done
check "patches is empty" [ -z "$(cat $MP/patches)" ]
unload_targets
finish
