#!/usr/bin/env bash
# Prints the cache directory of the test kernel (built or not).
. "$(dirname "$0")/lib.sh"
kernel_dir "${1:-test}"
