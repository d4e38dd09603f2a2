#!/usr/bin/env bash
# Boots the test kernel under QEMU with an initramfs and waits for it to power
# off. TCG (thread=multi; MARKPATCH_TCG_THREAD=single for one host thread) by
# default; MARKPATCH_KVM=1 asks for KVM. MARKPATCH_APPEND adds to the kernel
# command line: key=value words there reach the guest scripts as variables
# (e.g. mp_torture_cycles=10000).
#
# Usage: run.sh KERNEL INITRD OUTDIR [MODE]   (MODE: tests | demo | shell)
# Writes OUTDIR/console.log (the kernel console, kept whole) and
# OUTDIR/ktap.log (what the guest's tests print on the second serial port;
# OUTDIR/demo.log in demo mode, shown live).
# Exit status: 0 when the guest finished and the console log is clean;
# 2 when it did not finish in MARKPATCH_TIMEOUT seconds (default 900);
# 3 when the console log has an Oops, BUG, WARNING, panic, general
# protection or KASAN line.
set -uo pipefail
. "$(dirname "$0")/../scripts/lib.sh"
kernel=$1 initrd=$2 outdir=$3 mode=${4:-tests}
smp=${MARKPATCH_SMP:-4}
timeout_s=${MARKPATCH_TIMEOUT:-900}
mkdir -p "$outdir"
# The second serial port carries the guest's own output: KTAP in tests
# mode, the narration in demo mode.
console=$outdir/console.log
[ "$mode" = demo ] && output=$outdir/demo.log || output=$outdir/ktap.log
rm -f "$console" "$output"

if [ "${MARKPATCH_KVM:-0}" = 1 ]; then
	accel=(-accel kvm -cpu host,-arch-capabilities)
else
	# MARKPATCH_QEMU_CPU: the emulated CPU model (e.g. Skylake-Client, an
	# Intel model, for retbleed=stuff's call-depth tracking).
	accel=(-accel "tcg,thread=${MARKPATCH_TCG_THREAD:-multi}" -cpu "${MARKPATCH_QEMU_CPU:-max}")
	# markpatch writes each text write twice only where the CPU model
	# says it is TCG ("QEMU TCG CPU", the max model): with another model
	# the guest must be told (without the second write, a CPU can keep
	# running a block translated from the bytes before a write: seen as
	# threads meeting an int3 that is no longer there, for ever). The
	# guest's lib.sh hands markpatch.* words to insmod, as modprobe does.
	[ "${MARKPATCH_QEMU_CPU:-max}" = max ] || MARKPATCH_APPEND="markpatch.tcg_retouch=1 ${MARKPATCH_APPEND:-}"
fi

# MARKPATCH_QEMU_EXTRA: more QEMU options, e.g. -singlestep (one guest
# instruction per translated block, so that interrupts and vCPU switches can
# land between any two instructions, as on hardware).
qemu=(qemu-system-x86_64 "${accel[@]}" ${MARKPATCH_QEMU_EXTRA:-} -smp "$smp" -m 1024
	-display none -monitor none -no-reboot
	-serial stdio -serial "file:$output"
	-kernel "$kernel" -initrd "$initrd"
	-append "console=ttyS0 oops=panic panic=-1 mpguest=$mode ${MARKPATCH_APPEND:-}")

if [ "$mode" = shell ]; then
	exec "${qemu[@]}"
fi
if [ "$mode" = demo ]; then
	timeout "$timeout_s" "${qemu[@]}" < /dev/null > "$console" 2>&1 &
	qpid=$!
	while [ ! -e "$output" ] && kill -0 $qpid 2>/dev/null; do sleep 0.2; done
	tail -n +1 -f --pid=$qpid "$output" 2>/dev/null | tr -d '\r'
	wait $qpid
	rc=$?
else
	timeout "$timeout_s" "${qemu[@]}" < /dev/null > "$console" 2>&1
	rc=$?
fi

if ! grep -q '^markpatch-guest: finished' "$console"; then
	[ "$rc" = 124 ] && note "guest did not finish within ${timeout_s}s" || note "guest died (qemu exit $rc)"
	tail -30 "$console" >&2
	exit 2
fi
exec "$MARKPATCH_ROOT/scripts/console-scan.sh" "$console"
