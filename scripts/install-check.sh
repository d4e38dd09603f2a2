#!/usr/bin/env bash
# make install-check: the README's `make install` on a kernel that demands
# signed modules (kernel/signed.config: MODULE_SIG_FORCE, with the build's
# own key and MODULE_SIG_ALL), as a user of such a kernel would run it: from
# a copy of the tree, `make install KDIR=<its build tree>`, with
# INSTALL_MOD_PATH so that nothing lands in this machine's /lib/modules.
# Checks on the host that the module was installed under the kernel's
# release, signed with the tree's key, and listed by depmod; then boots the
# kernel: the unsigned module the build left is refused, the installed one
# loads and patches (qemu/guest/install/). Not part of make check (it builds
# a kernel). Ends with "N passed, M failed".
set -uo pipefail
. "$(dirname "$0")/lib.sh"
cd "$MARKPATCH_ROOT"
make --no-print-directory setup || exit 1
scripts/build-kernel.sh signed || die "the signed kernel did not build"
kdir=$(scripts/kernel-dir.sh signed)
top=$MARKPATCH_ROOT/build/install-check
src=$top/src stage=$top/stage
rm -rf "$top"; mkdir -p "$src"
git ls-files -z | grep -zv '^build/' | xargs -0 cp --parents -t "$src"
passed=0 failed=0
check() { # DESCRIPTION COMMAND...
	if "${@:2}"; then echo "ok: $1"; passed=$((passed + 1)); else echo "FAILED: $1"; failed=$((failed + 1)); fi
}

echo "== make install KDIR=$kdir INSTALL_MOD_PATH=$stage"
make --no-print-directory -C "$src" KDIR="$kdir" INSTALL_MOD_PATH="$stage" install > "$top/install.log" 2>&1
rc=$?
check "make install succeeds (log: $top/install.log)" [ $rc = 0 ]
[ $rc = 0 ] || tail -20 "$top/install.log"
release=$(cat "$kdir/include/config/kernel.release")
ko=$(find "$stage/lib/modules/$release" -name markpatch.ko 2>/dev/null | head -1)
check "markpatch.ko is installed under lib/modules/$release (${ko#"$stage"/})" [ -n "$ko" ]
[ -n "$ko" ] || ko=/nonexistent
check "depmod lists it in modules.dep" grep -q 'markpatch\.ko:' "$stage/lib/modules/$release/modules.dep"
signed() { tail -c 28 "$1" 2>/dev/null | grep -aqx '~Module signature appended~'; }
check "the installed module carries a signature" signed "$ko"
signer=$(modinfo -F signer "$ko" 2>/dev/null)
check "modinfo names its signer ($signer)" [ -n "$signer" ]
check "the build's own markpatch.ko is unsigned (the negative case below)" eval '! signed "$src/markpatch.ko"'

echo "== boot the signed kernel: the unsigned module is refused, the installed one loads"
out=$top/guest
mkdir -p "$out"
cp "$src/markpatch.ko" "$top/markpatch-unsigned.ko"
if MARKPATCH_CASES=install qemu/mkinitramfs.sh "$kdir" "$top/guest.cpio.gz" "$ko" "$top/markpatch-unsigned.ko" \
	> "$top/initramfs.log" 2>&1; then
	MARKPATCH_TIMEOUT=900 qemu/run.sh "$kdir/arch/x86/boot/bzImage" "$top/guest.cpio.gz" "$out" tests
	rc=$?
	res=$(boot_result install "$out" $rc)
	echo "$res" | sed '$d'
	read -r p _ f _ < <(echo "$res" | tail -1)
	passed=$((passed + p)) failed=$((failed + f))
else
	cat "$top/initramfs.log"; failed=$((failed + 1))
fi
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
