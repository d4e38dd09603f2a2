# At load the module resolves vfs_statfs through kprobes and decodes its live
# first instructions with iced-x86: ENDBR (or its sealed NOP) then the fentry NOP.
. "${MPTESTS:-/tests}/lib.sh"
load_markpatch
cat $MP/decode > /tmp/decode
cat /tmp/decode
check "listing names vfs_statfs" grep -q '^vfs_statfs size 0x' /tmp/decode
check "first instruction is a 4-byte endbr64 or its sealed NOP" \
	grep -Eq '^\+0x0	4	(f3 0f 1e fa	endbr64|66 0f 1f 00	nopw)' /tmp/decode
check "then the 5-byte fentry NOP" grep -q '^+0x4	5	0f 1f 44 00 00	nopl' /tmp/decode
echo vfs_read > $MP/decode
check "decode of another function" grep -q '^vfs_read size' $MP/decode
finish
