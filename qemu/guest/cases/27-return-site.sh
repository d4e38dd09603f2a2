# A return site (`ret` + 4 int3s, which the kernel rewrites from
# `jmp __x86_return_thunk` at boot when the CPU needs no return thunk) can
# be IM: sched_post_fork (push %rbp; mov %rsp,%rbp; pop %rbp; ret site) is
# planned, patched with count, called by every fork, and reverted.
. "${MPTESTS:-/tests}/lib.sh"
load_markpatch
f=sched_post_fork
echo $f > $MP/decode
cp $MP/decode /tmp/before
sed -n 2,7p /tmp/before
if ! grep -q '	c3 cc cc cc cc	\|	c3	ret$' /tmp/before; then
	echo "$f has no return site in this kernel (return thunks in use?)"
	exit 4
fi
r=$(mperrno $MP/plan $f)
head -1 $MP/plan
check "$f is plannable" [ "$r" = ok ]
check "its IM is the 5-byte return site" sh -c "grep '^I[0-9]' $MP/plan | tail -n 1 | grep -q 'len 5 .* ret'"
check "install count on $f" sh -c "echo '$f count' > $MP/install"
for i in $(seq 20); do /bin/true; done
calls=$(cat $MP/patch/$f/calls 2>/dev/null || echo 0)
echo "calls after 20 forks: $calls"
check "every fork ran the patched $f" [ "$calls" -ge 20 ]
cat $MP/patch/$f/code
check "revert $f" sh -c "echo $f > $MP/revert"
echo $f > $MP/decode
check "$f bytes restored exactly" same_as_decode /tmp/before
finish
