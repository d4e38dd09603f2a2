#!/usr/bin/env bash
# make mutants: do the tests notice a broken engine? Each patch in
# tests/mutants/ plants one deliberate bug (its "Mutant:" line says which)
# in a copy of this tree; the copy is built and booted with the in-guest
# cases its "Cases:" line names (folders or files of qemu/guest/), and the
# mutant is caught when that run fails: a failing case, a guest that does
# not finish, or a kernel error in the console. Prints one line per mutant
# and "N caught, M survived"; fails when a mutant survives or does not
# build. MUTANTS="01 05" runs the patches whose names start so.
# Not part of make check: each mutant is one guest boot (minutes).
set -uo pipefail
. "$(dirname "$0")/lib.sh"
cd "$MARKPATCH_ROOT"
make --no-print-directory kernel >/dev/null || die "no test kernel"
kdir=$(scripts/kernel-dir.sh)
out=$MARKPATCH_ROOT/build/mutants
mkdir -p "$out"
caught=0 survived=0 broken=0
report=$out/report.txt
: > "$report"
for patch in tests/mutants/*.patch; do
	name=$(basename "$patch" .patch)
	if [ -n "${MUTANTS:-}" ]; then
		want=0
		for m in $MUTANTS; do case "$name" in "$m"*) want=1 ;; esac; done
		[ $want = 1 ] || continue
	fi
	what=$(sed -n 's/^Mutant: //p' "$patch" | head -1)
	cases=$(sed -n 's/^Cases: //p' "$patch" | head -1)
	dir=$out/$name
	rm -rf "$dir"; mkdir -p "$dir/tree"
	# The work tree as it is (tracked and new files), without build output.
	git ls-files -co --exclude-standard -z | tar --null -T - -cf - | tar -xf - -C "$dir/tree"
	start=$(date +%s)
	if ! (cd "$dir/tree" && patch -p1 -s < "$MARKPATCH_ROOT/$patch") > "$dir/build.log" 2>&1 \
		|| ! make --no-print-directory -C "$dir/tree" KDIR="$kdir" module >> "$dir/build.log" 2>&1 \
		|| ! make --no-print-directory -C "$dir/tree/tests/targets" KDIR="$kdir" modules >> "$dir/build.log" 2>&1; then
		broken=$((broken + 1))
		echo "BROKEN: $name: it does not apply or build ($dir/build.log)" | tee -a "$report"
		continue
	fi
	# Stress and torture need single-threaded TCG (qemu/guest/stress/).
	thread=multi
	case " $cases " in *" stress "*|*" torture "*) thread=single ;; esac
	(cd "$dir/tree" && MARKPATCH_CASES=$cases qemu/mkinitramfs.sh "$kdir" "$dir/initramfs.cpio.gz" \
		markpatch.ko tests/targets/markpatch_targets.ko) > "$dir/initramfs.log" 2>&1 \
		|| { cat "$dir/initramfs.log"; die "$name: initramfs build failed"; }
	MARKPATCH_TIMEOUT=${MARKPATCH_TIMEOUT:-1800} MARKPATCH_TCG_THREAD=$thread \
		qemu/run.sh "$kdir/arch/x86/boot/bzImage" "$dir/initramfs.cpio.gz" "$dir/boot" tests > "$dir/run.log" 2>&1
	rc=$?
	(cd "$dir/tree" && expected_cases $cases) > "$dir/expected.txt"
	secs=$(( $(date +%s) - start ))
	if [ "$rc" != 0 ] || ! scripts/ktap-summary.sh "$dir/boot/ktap.log" "$name" "$dir/expected.txt" > "$dir/summary.txt"; then
		caught=$((caught + 1))
		how=$(grep -m1 '^FAILED' "$dir/summary.txt" | sed 's/^FAILED: [^:]*: //')
		[ "$rc" = 2 ] && how="the guest did not finish"
		[ "$rc" = 3 ] && how="kernel error in the console${how:+; $how}"
		echo "caught: $name ($what) in ${secs}s: ${how:-a case failed}" | tee -a "$report"
	else
		survived=$((survived + 1))
		echo "SURVIVED: $name ($what): $cases all passed in ${secs}s" | tee -a "$report"
	fi
done
echo "$caught caught, $survived survived, $broken did not build (report: $report)"
[ "$survived" = 0 ] && [ "$broken" = 0 ]
