# Functions with a register contract of their own (assembly helpers that
# inline asm calls with a narrow clobber list, such as clear_page_erms and
# __get_user_8): a patched one must see exactly the registers its caller
# passed, and its caller must get back exactly what the original leaves.
# mpt_regs_keep (tests/targets/shapes.S) changes %rax only; the targets'
# `regs` file calls it with every other register holding a pattern and
# names those that changed. `count` on it must change none, through the
# fast path and the full resolver. fail and filter hooks, which are C
# functions, are refused on the kernel's assembly functions (count-only),
# and text that is not typed as a function is never patched (jump-entered).
# timeout: 300
. "${MPTESTS:-/tests}/lib.sh"
load_targets || exit 1
need_engine
revert_all
P=/sys/module/markpatch/parameters
want="rax=0x1101 changed: none"
got=$(cat $MPT/regs)
echo "unpatched: $got"
check "unpatched, mpt_regs_keep changes only %rax" [ "$got" = "$want" ]
expect_errno "install mpt_regs_keep count" ok $MP/install "mpt_regs_keep count"
for fast in 1 0; do
	echo $fast > $P/fast_path
	bad=0
	for i in $(seq 50); do
		got=$(cat $MPT/regs)
		[ "$got" = "$want" ] || { bad=$((bad + 1)); echo "fast_path=$fast call $i: $got"; }
	done
	check "fast_path=$fast: 50 calls through count left every register but %rax as it was" [ "$bad" = 0 ]
done
echo 1 > $P/fast_path
calls=$(patch_field mpt_regs_keep 4)
echo "mpt_regs_keep calls counted: $calls"
check "the calls went through the patch" [ "${calls:-0}" -ge 100 ]
expect_errno "revert mpt_regs_keep" ok $MP/revert mpt_regs_keep

# The kernel's own: found by rule from the build tree (assembly sources,
# paravirt callee-save thunks; untyped text symbols), not by a list.
for f in clear_page_erms __get_user_8 __sw_hweight32; do
	line=$(echo "$f" > $MP/plan && head -1 $MP/plan)
	echo "plan: $line"
	check "$f: plan says count-only" sh -c "echo '$line' | grep -q 'plannable M=.*count-only'"
done
# Functions that C files define in top-level asm (a `.type NAME, @function`
# written out, or DEFINE_ASM_FUNC): written in assembly too. Of those this
# kernel has, __static_call_return is the one kprobes does not refuse first
# (the others, nop_func, paravirt_ret0, arch_rethook_trampoline, are entry
# or blacklisted text); the planner refuses it for its `ret`, and the plan
# still says what it is.
for f in __static_call_return; do
	grep -q " $f\$" /proc/kallsyms || { echo "$f: not in this kernel"; continue; }
	# refused: the write fails, the report stays
	line=$(echo "$f" 2>/dev/null > $MP/plan; head -1 $MP/plan)
	echo "plan: $line"
	check "$f (top-level asm in a C file): plan says count-only" sh -c "echo '$line' | grep -q '^$f .*count-only (written in assembly)'"
done
# The install is tried on the one of them nothing calls here (the CPU has
# POPCNT, so the kernel's hweight calls were patched into it): were it
# wrongly accepted, the test would fail, not the kernel.
grep -qw popcnt /proc/cpuinfo && echo "this CPU has popcnt: nothing calls __sw_hweight32"
for hook in fail=0 targets_double; do
	expect_errno "install __sw_hweight32 $hook" EOPNOTSUPP $MP/install "__sw_hweight32 $hook"
	check "its dmesg line says why" sh -c "dmesg | tail -3 | grep -q '__sw_hweight32.*count-only'"
done
[ -n "$(cat $MP/patches)" ] && revert_all
# count on clear_page_erms: every page the kernel zeroes goes through it,
# with callers that keep values in registers the C ABI would let it clobber.
expect_errno "install clear_page_erms count" ok $MP/install "clear_page_erms count"
for i in 1 2 3 4; do
	dd if=/dev/zero of=/tmp/regs.$i bs=64k count=64 2>/dev/null &
done
wait
sum=$(cat /tmp/regs.* | md5sum | cut -d' ' -f1)
want_sum=$(dd if=/dev/zero bs=64k count=256 2>/dev/null | md5sum | cut -d' ' -f1)
check "16 MiB written through zeroed pages read back as zeros" [ "$sum" = "$want_sum" ]
rm -f /tmp/regs.*
calls=$(patch_field clear_page_erms 4)
echo "clear_page_erms calls: $calls"
check "clear_page_erms was called through the patch" [ "${calls:-0}" -gt 0 ]
expect_errno "revert clear_page_erms" ok $MP/revert clear_page_erms
# Text symbols not typed as functions (SYM_CODE, inner labels): entered by
# a jump, or with no frame of their own. None may be patched; these are
# ones the planner and kprobes would accept.
for f in ret_from_fork_asm __get_user_handle_exception __put_user_handle_exception return_to_handler; do
	echo "$f" > $MP/survey
	got=$(cat $MP/survey)
	echo "survey: $got"
	check "$f is not patched" sh -c "! echo '$got' | grep -q ' ok M='"
done
check "one of them is refused as jump-entered" sh -c \
	"for f in ret_from_fork_asm __get_user_handle_exception __put_user_handle_exception return_to_handler; do echo \$f > $MP/survey; cat $MP/survey; done | grep -q ' jump-entered$'"
unload_targets
finish
