# What markpatch must refuse although the planner could rewrite it:
#  - its own dependencies: the functions its resolver, int3 handler, hook
#    trampolines and text writer call (patching one recursed until the
#    stack overflowed: `kernel_text_address count` oopsed at once), and its
#    own code; reason `markpatch-dependency`;
#  - a loading module's init text, which the kernel frees once the
#    module's init returns; reason `module-init-text`;
#  - a filter hook on a function the hook itself calls; reason
#    `hook-dependency`.
# timeout: 300
. "${MPTESTS:-/tests}/lib.sh"
load_markpatch
need_engine
revert_all
line=$(dmesg | grep -o "markpatch: [0-9]* kernel functions are markpatch's own dependencies.*" | tail -1)
echo "$line"
n=$(echo "$line" | sed -n 's/markpatch: \([0-9]*\) kernel.*/\1/p')
check "markpatch found its dependencies at load" [ "${n:-0}" -gt 10 ]

# The functions the resolver calls on every slow-path call, and what they
# call (among them every function `make sweep` crashed on before this rule:
# kernel_text_address and copy_from_kernel_nofault recursed until the stack
# overflowed, __rcu_read_lock/unlock hung the guest); the page-fault fixup
# a stack read past the top takes; markpatch's own resolver; the die
# chain's callbacks, which every int3 calls through a pointer (uprobes';
# kprobes' is refused by kprobes already: a sampled sweep froze reverting arch_uprobe_exception_notify,
# the int3 handler recursing through the int3 the revert had placed).
DEPS="kernel_text_address __module_text_address is_module_text_address copy_from_kernel_nofault
	copy_from_kernel_nofault_allowed __rcu_read_lock __rcu_read_unlock rcu_is_watching
	fixup_exception search_exception_tables markpatch_resolve
	arch_uprobe_exception_notify"
for f in $DEPS; do
	echo "$f" > $MP/survey
	got=$(cat $MP/survey)
	echo "survey: $got"
	check "$f is refused as markpatch-dependency" [ "$got" = "$f markpatch-dependency" ]
done
expect_errno "install kernel_text_address count" EOPNOTSUPP $MP/install "kernel_text_address count"
check "its dmesg line gives the reason" sh -c "dmesg | tail -5 | grep -q 'kernel_text_address.*markpatch-dependency'"
check "nothing is installed" [ -z "$(cat $MP/patches)" ]
# A function of the same file as kernel_text_address that the resolver
# never calls is still plannable: the set is what the paths reach, not a
# whole file.
echo "vfs_statfs" > $MP/survey
check "vfs_statfs (not a dependency) is still plannable" sh -c "grep -q '^vfs_statfs ok M=' $MP/survey"

# A loading module's init text: markpatch_targets' init waits in
# mpt_init_hold() (init_hold_ms) while we try to patch it.
rmmod markpatch_targets 2>/dev/null
insmod $MPMODULES/markpatch_targets.ko init_hold_ms=6000 &
ipid=$!
check "markpatch_targets is coming (its init running)" \
	poll 5 sh -c "[ \"\$(cat /sys/module/markpatch_targets/initstate 2>/dev/null)\" = coming ]"
echo mpt_init_hold > $MP/survey
echo "survey: $(cat $MP/survey)"
check "mpt_init_hold is refused as module-init-text" [ "$(cat $MP/survey)" = "mpt_init_hold module-init-text" ]
expect_errno "install mpt_init_hold count" EOPNOTSUPP $MP/install "mpt_init_hold count"
check "its dmesg line gives the reason" sh -c "dmesg | tail -5 | grep -q 'mpt_init_hold.*init text'"
wait $ipid
check "markpatch_targets loaded" [ "$(cat /sys/module/markpatch_targets/initstate)" = live ]
check "nothing is installed" [ -z "$(cat $MP/patches)" ]

# A die notifier registered after markpatch loaded (markpatch_targets'
# mpt_die_notify): the die chain is read again for every plan.
echo mpt_die_notify > $MP/survey
echo "survey: $(cat $MP/survey)"
check "mpt_die_notify (registered after markpatch) is refused as markpatch-dependency" \
	[ "$(cat $MP/survey)" = "mpt_die_notify markpatch-dependency" ]
expect_errno "install mpt_die_notify count" EOPNOTSUPP $MP/install "mpt_die_notify count"

# A filter hook on a function the hook itself calls would call itself
# through the patch for ever: targets_sleepy sleeps in msleep().
expect_errno "install msleep targets_sleepy" EOPNOTSUPP $MP/install "msleep targets_sleepy"
check "its dmesg line gives the reason" sh -c "dmesg | tail -3 | grep -q 'msleep.*hook-dependency'"
expect_errno "install msleep count (count calls nothing)" ok $MP/install "msleep count"
expect_errno "replacing its hook with targets_sleepy is refused too" EOPNOTSUPP $MP/install "msleep targets_sleepy"
expect_errno "revert msleep" ok $MP/revert msleep
check "nothing is installed" [ -z "$(cat $MP/patches)" ]
unload_targets
finish
