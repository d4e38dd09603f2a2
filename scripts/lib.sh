# Shared settings for markpatch's scripts. Source it; it defines no side effects.
# Everything built outside the work tree lives under $MARKPATCH_CACHE.

MARKPATCH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MARKPATCH_CACHE=${MARKPATCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/markpatch}
KERNEL_TARBALL=/usr/src/linux-source-6.12.tar.xz
KERNEL_FRAGMENT=$MARKPATCH_ROOT/kernel/test.config

# Debian's rustc matches the kernel's needs (the rustup one has no rust-src);
# bindgen-cli comes from cargo install into ~/.cargo/bin.
export PATH="$HOME/.cargo/bin:$PATH"
KMAKE_VARS=(LLVM=-19 RUSTC=/usr/bin/rustc HOSTRUSTC=/usr/bin/rustc BINDGEN=bindgen)

# variant_vars VARIANT: sets KMAKE_VARS to kernel/VARIANT.vars (one line of
# make variables: another compiler) when the variant has one.
variant_vars() {
	local f=$MARKPATCH_ROOT/kernel/${1:-test}.vars
	[ -f "$f" ] && read -r -a KMAKE_VARS < <(grep -v '^#' "$f")
	return 0
}

die() { echo "markpatch: error: $*" >&2; exit 1; }
note() { echo "markpatch: $*" >&2; }

kernel_version() {
	dpkg-query -W -f='${Version}' linux-source-6.12 2>/dev/null || echo unknown
}

# The kernel cache key: the packaged version and the fragment's hash
# (plus an optional variant name, e.g. "debug", with its own fragment).
kernel_dir() {
	local variant=${1:-test}
	local frag=$MARKPATCH_ROOT/kernel/$variant.config
	local hash
	hash=$( { cat "$MARKPATCH_ROOT/kernel/test.config"; [ "$variant" = test ] || cat "$frag"
		if [ -f "$MARKPATCH_ROOT/kernel/$variant.vars" ]; then cat "$MARKPATCH_ROOT/kernel/$variant.vars"; fi; } \
		| sha256sum | cut -c1-12)
	echo "$MARKPATCH_CACHE/linux-$(kernel_version)-$variant-$hash"
}

# expected_cases DIR...: the names of the in-guest cases the repository has
# in qemu/guest/DIR (as git tracks them, so that a case missing from the
# work tree or the guest image is noticed; the files present outside git).
expected_cases() {
	local dir
	for dir in "$@"; do
		if [ -f "$MARKPATCH_ROOT/qemu/guest/$dir" ]; then
			echo "$dir"
		elif git -C "$MARKPATCH_ROOT" rev-parse --git-dir >/dev/null 2>&1; then
			git -C "$MARKPATCH_ROOT" ls-files "qemu/guest/$dir/*.sh"
		else
			ls "$MARKPATCH_ROOT/qemu/guest/$dir"/*.sh
		fi
	done | xargs -r -n1 basename | sed 's/\.sh$//' | sort
}

# boot_result LABEL OUT RC: after one guest boot of qemu/run.sh (exit status
# RC, logs in OUT) that ran the cases of qemu/guest/LABEL: prints the KTAP
# summary of OUT/ktap.log (every case of that folder must report), counts the boot
# itself as one more test (failed when the guest did not finish, RC 2, or
# its console log has kernel errors, RC 3), prints "N passed, M failed" and
# returns 0 when nothing failed.
boot_result() {
	local label=$1 out=$2 rc=$3 p f
	expected_cases "$label" > "$out/expected.txt"
	"$MARKPATCH_ROOT/scripts/ktap-summary.sh" "$out/ktap.log" "$label" "$out/expected.txt" > "$out/summary.txt"
	sed '$d' "$out/summary.txt"
	read -r p _ f _ < <(tail -1 "$out/summary.txt")
	case $rc in
	0) p=$((p + 1)) ;;
	2) echo "FAILED: $label: the guest did not finish"; f=$((f + 1)) ;;
	*) echo "FAILED: $label: the console log has kernel errors"; f=$((f + 1)) ;;
	esac
	echo "$p passed, $f failed"
	[ "$f" = 0 ]
}
