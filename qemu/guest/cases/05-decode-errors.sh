# Bad writes to decode fail with the right errno and leave the selection alone.
. "${MPTESTS:-/tests}/lib.sh"
load_markpatch
echo vfs_statfs > $MP/decode
check "unknown symbol: ENOENT" sh -c "mpwrite $MP/decode no_such_function_xyz | grep -q 'errno 2 ENOENT'"
check "empty write: EINVAL" sh -c "mpwrite $MP/decode '\n' | grep -q 'errno 22 EINVAL'"
check "embedded NUL: EINVAL" sh -c "mpwrite $MP/decode 'vfs\x00statfs' | grep -q 'errno 22 EINVAL'"
check "non-UTF-8: EINVAL" sh -c "mpwrite $MP/decode '\xff\xfe' | grep -q 'errno 22 EINVAL'"
check "selection unchanged after bad writes" sh -c "head -1 $MP/decode | grep -q '^vfs_statfs '"
check "dmesg gives a reason" sh -c "dmesg | grep -q 'markpatch: decode: '"
finish
