#!/usr/bin/env bash
# make demo: set up and build what is missing, boot the guest, and run the
# narrated demo (qemu/guest/demo/run) on its console.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$MARKPATCH_ROOT"
note "building (the first run sets up the toolchain and the test kernel: about 25 minutes)"
make --no-print-directory module > build-demo.log 2>&1 || { tail -30 build-demo.log; die "build failed (build-demo.log)"; }
mkdir -p build/demo; mv build-demo.log build/demo/build.log
kdir=$(scripts/kernel-dir.sh)
qemu/mkinitramfs.sh "$kdir" build/demo/initramfs.cpio.gz markpatch.ko
note "booting the guest ($(basename "$kdir"), ${MARKPATCH_SMP:-4} vCPUs, TCG)"
qemu/run.sh "$kdir/arch/x86/boot/bzImage" build/demo/initramfs.cpio.gz build/demo demo
