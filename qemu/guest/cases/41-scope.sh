# The patent's second scenario (a virtual private server host): one kernel
# function narrowed per context. With scope_meminfo on si_meminfo, the
# processes of a user namespace (unshare -U: a container) see at most the
# memory set in /sys/kernel/markpatch/scope, through sysinfo(2) (free, read here by the memtotal tool) and
# /proc/meminfo, while the host sees the machine as it is; the revert gives
# the container the whole view back.
. "${MPTESTS:-/tests}/lib.sh"
load_markpatch
need_engine
revert_all
mem_total() { memtotal; }           # KiB, sysinfo(2): what free shows as total
meminfo_total() { awk '$1 == "MemTotal:" { print $2 }' /proc/meminfo; }
in_ns() { unshare -U -r sh -c "$1"; }
check "si_meminfo can be patched" sh -c "echo si_meminfo > $MP/plan"
check "a user namespace can be made (unshare -U -r)" [ "$(in_ns 'id -u')" = 0 ]
host=$(mem_total)
ns=$(in_ns "$MPTESTS/bin/memtotal")
echo "before: host sees $host KiB, the container $ns KiB"
check "before: the container sees what the host sees" [ "$host" = "$ns" ]

expect_errno "scope: 64 MiB for containers" ok $MP/scope "$((64 * 1024 * 1024))"
expect_errno "scope: malformed" EINVAL $MP/scope "64M"
expect_errno "install si_meminfo scope_meminfo" ok $MP/install "si_meminfo scope_meminfo"
host2=$(mem_total)
ns2=$(in_ns "$MPTESTS/bin/memtotal")
ns2_meminfo=$(in_ns "awk '\$1 == \"MemTotal:\" { print \$2 }' /proc/meminfo")
echo "patched: host sees $host2 KiB, the container $ns2 KiB (free) and $ns2_meminfo kB (/proc/meminfo)"
check "patched: the host still sees the whole machine" [ "$host2" = "$host" ]
check "patched: the container sees 64 MiB through sysinfo (free)" [ "$ns2" = 65536 ]
check "patched: the container sees 64 MiB in /proc/meminfo" [ "$ns2_meminfo" = 65536 ]
check "patched: the host's /proc/meminfo is whole" [ "$(meminfo_total)" = "$host" ]
check "the hook counted its calls" [ "$(cat $MP/patch/si_meminfo/calls)" -gt 0 ]

expect_errno "revert si_meminfo" ok $MP/revert si_meminfo
ns3=$(in_ns "$MPTESTS/bin/memtotal")
check "after revert: the container sees the whole machine again ($ns3 KiB)" [ "$ns3" = "$host" ]
echo 0 > $MP/scope
finish
