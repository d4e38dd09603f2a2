#!/usr/bin/env bash
# kbuild-vars.sh KDIR: the make variables that build a module against the
# kernel build tree KDIR with the toolchain that built it, read from its
# .config: clang N gives LLVM=-N when clang-N is installed (LLVM=1
# otherwise), gcc N gives CC=gcc-N when installed (CC=gcc otherwise); rustc
# from /usr/bin when present (Debian's, with rust-src). The Makefile uses it
# when KDIR is given and KBUILD_VARS is not; dkms.conf through it.
cfg=${1:?usage: kbuild-vars.sh KDIR}/.config
[ -f "$cfg" ] || { echo "kbuild-vars: no $cfg" >&2; exit 1; }
vars=()
if grep -q '^CONFIG_CC_IS_CLANG=y' "$cfg"; then
	major=$(( $(sed -n 's/^CONFIG_CLANG_VERSION=\([0-9]*\)$/\1/p' "$cfg") / 10000 ))
	if command -v "clang-$major" > /dev/null; then vars+=("LLVM=-$major"); else vars+=(LLVM=1); fi
else
	major=$(( $(sed -n 's/^CONFIG_GCC_VERSION=\([0-9]*\)$/\1/p' "$cfg") / 10000 ))
	if command -v "gcc-$major" > /dev/null; then vars+=("CC=gcc-$major" "HOSTCC=gcc-$major"); else vars+=(CC=gcc); fi
fi
[ -x /usr/bin/rustc ] && vars+=(RUSTC=/usr/bin/rustc HOSTRUSTC=/usr/bin/rustc)
echo "${vars[*]}"
