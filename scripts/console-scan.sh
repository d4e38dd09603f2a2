#!/usr/bin/env bash
# Fails (exit 3) when a kernel console log shows a kernel error, printing
# the lines: an Oops, BUG, WARNING, panic, general protection fault, KASAN
# or lockdep report, an RCU stall, a hung task, a soft or hard lockup, or
# one of markpatch's own error lines (a stack that fits no mark count, a
# revert that could not restore or verify the original bytes, a failed
# rollback, iced-x86 tables that did not fit their block). Usage: console-scan.sh LOG
set -uo pipefail
kernel='\bOops\b|\bBUG\b|WARNING|[Pp]anic|general protection|KASAN|possible (recursive|circular) locking|'\
'rcu: INFO: .* detected stall|self-detected stall|blocked for more than [0-9]+ seconds|soft lockup|hard LOCKUP'
own='markpatch: .*(fits no mark count|revert incomplete|cannot restore the original bytes|rollback failed|could not poison|did not fit their block)'
# Only the kernel's messages count (printk's "[ seconds.micros]" stamp,
# anywhere in a line, since user output can share a line with them), and
# not the kernel's command line, which repeats parameters such as panic=-1.
# What a launcher prints of its own command line (virtme-ng shows QEMU's)
# carries no stamp. Nor do the sweep's progress lines count (qemu/guest/sweep,
# written to /dev/kmsg as "sweep: install NAME"), whose function names may
# be `panic` and the like: a line whose only stamp is a sweep line's.
stamp='\[ *[0-9]+\.[0-9]{6}\] '
bad=$(grep -nE "$stamp.*($kernel|$own)" "$1" | grep -vE "$stamp"'(Kernel )?[Cc]ommand line:' \
	| grep -vE "^[0-9]+:[^[]*${stamp}sweep: [^[]*\$")
if [ -n "$bad" ]; then
	echo "markpatch: the console log has kernel errors ($1):" >&2
	echo "$bad" | head -20 >&2
	exit 3
fi
