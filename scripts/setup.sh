#!/usr/bin/env bash
# Installs what markpatch needs on a Debian bookworm machine. Idempotent: when
# everything is present it checks and returns in seconds.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

PACKAGES=(linux-source-6.12 rustc-web rust-web-src clang-19 lld-19 llvm-19
	libclang-19-dev qemu-system-x86 busybox-static flex bison bc libelf-dev
	libssl-dev cpio kmod binutils make gcc patch python3 python3-pip
	python3-matplotlib quota)
BINDGEN_VERSION=0.69.5

SUDO=
if [ "$(id -u)" != 0 ]; then
	command -v sudo >/dev/null || die "setup needs root (or sudo) to install Debian packages"
	SUDO=sudo
fi

missing=()
for p in "${PACKAGES[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	note "installing Debian packages: ${missing[*]}"
	$SUDO apt-get update -qq || die "apt-get update failed"
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null \
		|| die "apt-get install ${missing[*]} failed"
fi

if ! bindgen --version 2>/dev/null | grep -qx "bindgen $BINDGEN_VERSION"; then
	note "installing bindgen-cli $BINDGEN_VERSION with cargo (about 2 minutes)"
	log=$(mktemp)
	cargo install --locked bindgen-cli --version "$BINDGEN_VERSION" > "$log" 2>&1 \
		|| { tail -20 "$log" >&2; rm -f "$log"; die "cargo install bindgen-cli $BINDGEN_VERSION failed"; }
	rm -f "$log"
fi

[ -f "$KERNEL_TARBALL" ] || die "$KERNEL_TARBALL missing after installing linux-source-6.12"
/usr/bin/rustc --version | grep -q '^rustc 1\.' || die "/usr/bin/rustc (rustc-web) does not run"
[ -f /usr/lib/rustlib/src/rust/library/alloc/src/lib.rs ] || die "rust-web-src did not install the alloc sources"
note "setup: all tools present"
