#!/usr/bin/env bash
# make torture-compare: the same torture load against the direct method
# (naive_unsafe=1: a plain 5-byte jmp over the prologue, no marks, no
# resolver) and against markpatch, each trial in its own guest boot, and a
# table of the failure rates. A trial fails when the guest crashes or hangs,
# when its console shows an oops or WARN, or when a caller got a wrong
# result. COMPARE_TRIALS boots per method (default 5), COMPARE_CYCLES
# install/revert cycles per boot (default 60). The guests run under
# single-threaded TCG with one instruction per translated block
# (-singlestep), so that interrupts and vCPU switches land between any two
# instructions, as on hardware, for both methods alike. Logs in
# build/torture-compare/.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
cd "$MARKPATCH_ROOT"
out=build/torture-compare
rm -rf "$out"; mkdir -p "$out"
trials=${COMPARE_TRIALS:-5}
cycles=${COMPARE_CYCLES:-60}
make --no-print-directory module > "$out/build.log" 2>&1 \
	&& make --no-print-directory -C tests/targets modules >> "$out/build.log" 2>&1 \
	|| { tail -30 "$out/build.log"; die "build failed ($out/build.log)"; }
kdir=$(scripts/kernel-dir.sh)
MARKPATCH_CASES=torture qemu/mkinitramfs.sh "$kdir" "$out/initramfs.cpio.gz" markpatch.ko \
	tests/targets/markpatch_targets.ko > "$out/initramfs.log" 2>&1 || { cat "$out/initramfs.log"; exit 1; }

declare -A bad crash wrong
for method in naive marks; do
	bad[$method]=0 crash[$method]=0 wrong[$method]=0
	for t in $(seq "$trials"); do
		dir=$out/$method-$t
		MARKPATCH_TCG_THREAD=single MARKPATCH_QEMU_EXTRA=-singlestep MARKPATCH_TIMEOUT=$((300 + cycles * 20)) \
			MARKPATCH_APPEND="mp_torture_method=$method mp_torture_cycles=$cycles mp_torture_reload=100000" \
			qemu/run.sh "$kdir/arch/x86/boot/bzImage" "$out/initramfs.cpio.gz" "$dir" tests > "$dir.log" 2>&1
		rc=$?
		figures=$(tr -d '\r' < "$dir/ktap.log" 2>/dev/null | sed -n 's/^# torture ([a-z]*): //p' | tr '\n' ' ')
		if [ $rc = 2 ]; then
			verdict="crashed or hung"; crash[$method]=$((crash[$method] + 1))
		elif [ $rc != 0 ]; then
			verdict="kernel error in the console"; crash[$method]=$((crash[$method] + 1))
		elif tr -d '\r' < "$dir/ktap.log" | grep -q '^not ok'; then
			verdict="wrong result or failed operation"; wrong[$method]=$((wrong[$method] + 1))
		else
			verdict=ok
		fi
		[ "$verdict" = ok ] || bad[$method]=$((bad[$method] + 1))
		echo "$method trial $t: $verdict; $figures"
	done
done
echo
printf '%-28s %8s %10s %12s %14s\n' method trials crashed wrong-result failure-rate
for method in naive marks; do
	label=$([ $method = naive ] && echo "direct (plain 5-byte jmp)" || echo "markpatch (marks)")
	printf '%-28s %8d %10d %12d %13d%%\n' "$label" "$trials" "${crash[$method]}" "${wrong[$method]}" \
		$(( bad[$method] * 100 / trials ))
done
# The comparison itself passes when markpatch never failed.
[ "${bad[marks]}" = 0 ] && echo "1 passed, 0 failed" || echo "0 passed, 1 failed"
[ "${bad[marks]}" = 0 ]
