#!/usr/bin/env bash
# Builds the test kernel once into the cache, keyed by the packaged kernel
# version and the config fragment's hash. Usage: build-kernel.sh [variant]
# (variant "test" by default; "debug" merges kernel/debug.config on top;
# kernel/<variant>.vars, when present, replaces the make variables: gcc).
# A build that was cut off resumes where it stopped.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
variant=${1:-test}
kdir=$(kernel_dir "$variant")
variant_vars "$variant"

if [ -f "$kdir/.markpatch-built" ]; then
	note "kernel ($variant): cached at $kdir"
	exit 0
fi
[ -f "$KERNEL_TARBALL" ] || die "no $KERNEL_TARBALL: run 'make setup'"

start=$(date +%s)
if [ ! -f "$kdir/Makefile" ]; then
	note "kernel ($variant): unpacking $(basename "$KERNEL_TARBALL") into $kdir"
	rm -rf "$kdir"; mkdir -p "$kdir"
	tar -xf "$KERNEL_TARBALL" -C "$kdir" --strip-components=1
fi
cd "$kdir"

frags=("$MARKPATCH_ROOT/kernel/test.config")
[ "$variant" = test ] || frags+=("$MARKPATCH_ROOT/kernel/$variant.config")
make "${KMAKE_VARS[@]}" tinyconfig >/dev/null
scripts/kconfig/merge_config.sh -m .config "${frags[@]}" >/dev/null
make "${KMAKE_VARS[@]}" olddefconfig >/dev/null

# Every option the fragments ask for must have survived olddefconfig: an
# option silently dropped (a missing dependency, Rust not available) would
# give a kernel that does not test what we think it tests.
bad=0
for f in "${frags[@]}"; do
	while IFS= read -r line; do
		case "$line" in ''|'#'*) continue ;; esac
		if ! grep -qxF "$line" .config; then
			echo "markpatch: config: asked for '$line', got '$(grep -E "^(# )?${line%%=*}[= ]" .config || echo unset)'" >&2
			bad=1
		fi
	done < "$f"
done
[ $bad = 0 ] || die "kernel config fragment not honoured (see above; 'make rustavailable' in $kdir explains a missing CONFIG_RUST)"

note "kernel ($variant): building bzImage and modules with $(nproc) jobs (about 10 minutes on 2 cores)"
make "${KMAKE_VARS[@]}" -j"$(nproc)" bzImage modules > build.log 2>&1 \
	|| { tail -40 build.log >&2; die "kernel build failed; full log in $kdir/build.log"; }
touch .markpatch-built
# Older builds of this variant (another kernel version or fragment) are stale.
for old in "$MARKPATCH_CACHE"/linux-*-"$variant"-*; do
	[ "$old" = "$kdir" ] || rm -rf "$old"
done
note "kernel ($variant): built in $(( $(date +%s) - start ))s at $kdir"
