# A popped mark never passes for a live one (docs/design.md, "Zeroing
# popped marks"). With mpt_short (count) and mpt_stale_b (fail=7)
# installed, the targets' `stale` file (tests/targets/shapes.S,
# mpt_stale_probe) makes a new call of mpt_short, whose hook pops its
# marks, then, from the same stack depth, a caller part-way in mpt_stale_b
# that made room on the stack over those slots and pushed a text address.
# That caller must finish in the pseudo-original with mpt_stale_b's own
# result: taken for a new call, it would get fail's 7. Three rounds: the
# first new call of mpt_short goes through the full resolver, the later
# ones through the fast path.
. "${MPTESTS:-/tests}/lib.sh"
load_targets || exit 1
need_engine
revert_all
expect_errno "install count on mpt_short" ok $MP/install "mpt_short count"
expect_errno "install fail=7 on mpt_stale_b" ok $MP/install "mpt_stale_b fail=7"
calls0=$(patch_field mpt_stale_b 4)
short0=$(patch_field mpt_short 4)
r=$(cat $MPT/stale)
echo "stale: $r"
check "the callers part-way in mpt_stale_b finished in its pseudo-original (x + 0x7654321)" [ "$r" = ok ]
check "none of them was counted as a new call of mpt_stale_b" [ "$(patch_field mpt_stale_b 4)" = "$calls0" ]
check "the three new calls of mpt_short ran its hook" [ "$(patch_field mpt_short 4)" = $((short0 + 3)) ]
expect_errno "revert both" ok $MP/revert "mpt_short mpt_stale_b"
unload_targets
finish
