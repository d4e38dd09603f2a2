#!/usr/bin/env bash
# Prints the cache directory of the test kernel (built or not). Fails when
# linux-source-6.12 is not installed: the directory's name holds its version.
. "$(dirname "$0")/lib.sh"
[ "$(kernel_version)" != unknown ] || die "linux-source-6.12 is not installed: run 'make setup'"
kernel_dir "${1:-test}"
