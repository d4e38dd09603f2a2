#!/usr/bin/env bash
# make matrix: markpatch on each kernel variant (kernel/<variant>.config over
# kernel/test.config, with kernel/<variant>.vars its make variables when it
# has them; MATRIX="test hardened gcc" by default). For each: the
# kernel is built once into the cache (like the test kernel), markpatch and
# its test modules are built against it from a copy of the tree
# (build/matrix/<variant>/src), then two boots: the in-guest cases (with the
# coverage survey, 29-coverage) and a short torture (stress cases and
# MATRIX_TORTURE_CYCLES install/revert cycles under load, default 200).
# kernel/<variant>.boot may name the emulated CPU (cpu=) and kernel command
# line (cmdline=) to boot with. Prints one table: kernel, compiler,
# hardening (configured, and what the boot reports active), cases passed and
# failed, coverage, torture calls, the calls that ran a hook (a third of the
# torture's patches have a filter hook that calls its original) and wrong
# results; then "N passed, M failed". Not part of make check (a fresh
# machine would build every kernel).
set -uo pipefail
. "$(dirname "$0")/lib.sh"
cd "$MARKPATCH_ROOT"
variants=${MATRIX:-test hardened gcc}
cycles=${MATRIX_TORTURE_CYCLES:-200}
top=build/matrix
mkdir -p "$top"
make --no-print-directory setup || exit 1
passed=0 failed=0
rows=()

# boot VARIANT NAME CASES THREAD APPEND: one guest boot; adds its results.
boot() {
	local v=$1 name=$2 cases=$3 thread=$4 append=$5 out=$top/$1/$2 rc p f
	local kdir src=$top/$1/src
	kdir=$(scripts/kernel-dir.sh "$v")
	mkdir -p "$out"
	MARKPATCH_CASES=$cases qemu/mkinitramfs.sh "$kdir" "$out.cpio.gz" "$src/markpatch.ko" \
		"$src/tests/targets/markpatch_targets.ko" > "$out-initramfs.log" 2>&1 \
		|| { cat "$out-initramfs.log"; failed=$((failed + 1)); return; }
	MARKPATCH_QEMU_CPU=$cpu MARKPATCH_TCG_THREAD=$thread MARKPATCH_TIMEOUT=5400 \
		MARKPATCH_APPEND="$cmdline $append" \
		qemu/run.sh "$kdir/arch/x86/boot/bzImage" "$out.cpio.gz" "$out" tests
	rc=$?
	expected_cases $cases > "$out-expected.txt"
	scripts/ktap-summary.sh "$out/ktap.log" "$v-$name" "$out-expected.txt" > "$out-summary.txt"
	grep -v '^ok: ' "$out-summary.txt" | sed '$d'
	read -r p _ f _ < <(tail -1 "$out-summary.txt")
	case $rc in
	0) p=$((p + 1)) ;;
	*) f=$((f + 1)); echo "FAILED: $v-$name: guest did not finish or its console has kernel errors ($out/console.log)"
	   grep -E 'BUG|WARNING|Oops|CFI failure|panic' "$out/console.log" | head -5 ;;
	esac
	passed=$((passed + p)) failed=$((failed + f))
	vp=$((vp + p)) vf=$((vf + f))
}

for v in $variants; do
	[ "$v" = test ] || [ -f "kernel/$v.config" ] || die "no kernel/$v.config"
	cpu=max cmdline=
	if [ -f "kernel/$v.boot" ]; then
		cpu=$(sed -n 's/^cpu=//p' "kernel/$v.boot"); cmdline=$(sed -n 's/^cmdline=//p' "kernel/$v.boot")
	fi
	echo "== $v: kernel"
	scripts/build-kernel.sh "$v" || { failed=$((failed + 1)); rows+=("$v|build failed"); continue; }
	kdir=$(scripts/kernel-dir.sh "$v")
	src=$top/$v/src
	rm -rf "$top/$v"; mkdir -p "$src"
	git ls-files -z | grep -zv '^build/' | xargs -0 cp --parents -t "$src"
	KMAKE_VARS=(LLVM=-19 RUSTC=/usr/bin/rustc HOSTRUSTC=/usr/bin/rustc BINDGEN=bindgen)
	variant_vars "$v"
	if ! { make --no-print-directory -C "$src" KDIR="$kdir" KBUILD_VARS="${KMAKE_VARS[*]}" module \
		&& make --no-print-directory -C "$src/tests/targets" KDIR="$kdir" KBUILD_VARS="${KMAKE_VARS[*]}" modules; } \
		> "$top/$v/build.log" 2>&1; then
		tail -20 "$top/$v/build.log"; failed=$((failed + 1)); rows+=("$v|module build failed"); continue
	fi
	vp=0 vf=0
	echo "== $v: in-guest cases (cpu $cpu${cmdline:+, $cmdline})"
	boot "$v" guest cases multi ""
	echo "== $v: stress and a torture of $cycles cycles"
	boot "$v" torture "stress torture" single "mp_torture_cycles=$cycles mp_torture_reload=50"
	cfg=$kdir/.config con=$top/$v/guest/console.log
	if grep -qx CONFIG_CC_IS_CLANG=y "$cfg"; then compiler=clang; else compiler=gcc; fi
	compiler="$compiler $(sed -n 's/^CONFIG_CC_VERSION_TEXT=".* \([0-9][0-9.]*\).*"$/\1/p' "$cfg")"
	hard=
	for o in CFI_CLANG MITIGATION_CALL_DEPTH_TRACKING MITIGATION_SLS STACKPROTECTOR_STRONG X86_KERNEL_IBT; do
		grep -qx "CONFIG_$o=y" "$cfg" && hard="$hard${hard:+ }${o#MITIGATION_}"
	done
	active=
	grep -q 'SMP alternatives: Using kCFI' "$con" 2>/dev/null && active="kCFI"
	grep -q 'SMP alternatives: Using FineIBT' "$con" 2>/dev/null && active="FineIBT"
	grep -q 'callthunks: Setting up call depth tracking' "$con" 2>/dev/null && active="$active${active:+ }depth-tracking"
	k=$(tr -d '\r' < "$top/$v/guest/ktap.log" 2>/dev/null)
	cov_live=$(sed -n 's/^# plannable among the .* whose code exists.*: [0-9]* (\(.*\))$/\1/p' <<< "$k")
	cov_kp=$(sed -n 's/^# plannable among the .* kprobes allows.*: [0-9]* (\(.*\))$/\1/p' <<< "$k")
	read -r tc tw th < <(tr -d '\r' < "$top/$v/torture/ktap.log" 2>/dev/null \
		| sed -n 's/^# torture (marks): kernel calls=\([0-9]*\) wrong=\([0-9]*\) hooked=\([0-9]*\).*/\1 \2 \3/p')
	rows+=("$v|${compiler:-?}|${hard:-none}|${active:-none}|$vp|$vf|${cov_live:-?}|${cov_kp:-?}|${tc:-?}|${th:-?}|${tw:-?}")
done

echo
echo "| kernel | compiler | hardening configured | active in the boot | passed | failed | plannable of live text | of what kprobes allows | torture calls | hooked | wrong |"
echo "| --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
for r in "${rows[@]}"; do echo "| ${r//|/ | } |"; done
echo
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
