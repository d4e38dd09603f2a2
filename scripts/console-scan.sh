#!/usr/bin/env bash
# Fails (exit 3) when a kernel console log has an Oops, BUG, WARNING, panic,
# general protection or KASAN line, printing them. Usage: console-scan.sh LOG
set -uo pipefail
bad=$(grep -nE '\bOops\b|\bBUG\b|WARNING|[Pp]anic|general protection|KASAN' "$1" \
	| grep -vE 'Command line:|Kernel command line:')
if [ -n "$bad" ]; then
	echo "markpatch: the console log has kernel errors ($1):" >&2
	echo "$bad" | head -20 >&2
	exit 3
fi
