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
	hash=$( { cat "$MARKPATCH_ROOT/kernel/test.config"; [ "$variant" = test ] || cat "$frag"; } | sha256sum | cut -c1-12)
	echo "$MARKPATCH_CACHE/linux-$(kernel_version)-$variant-$hash"
}
