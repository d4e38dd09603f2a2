# CPU hotplug during churn: CPUs taken offline and back online while
# vfs_statfs and vfs_read are installed and reverted over and over (with a
# delay between the instruction writes, so callers are caught part-way) and
# loops on every CPU check what statfs and a file read return. Every
# serialising IPI, every grace period and every int3 must cope with CPUs
# coming and going: 0 wrong answers, every install and revert succeeds,
# nothing hangs (the case's time limit), the bytes are the originals after.
# The churn lasts 60 s, or mp_hotplug_seconds on the kernel command line
# (MARKPATCH_APPEND) for a longer run.
# timeout: 900
. "${MPTESTS:-/tests}/lib.sh"
load_markpatch
need_engine
revert_all
cpus=$(grep -c '^processor' /proc/cpuinfo)
hot=$(ls -d /sys/devices/system/cpu/cpu[1-9]* 2>/dev/null | while read -r c; do [ -w "$c/online" ] && echo "$c"; done)
if [ -z "$hot" ]; then
	echo "no CPU can be taken offline here ($cpus CPUs)"
	check "a CPU that can go offline" false
	finish
fi
echo "CPUs that go offline and online: $(echo $hot | tr ' ' '\n' | sed 's|.*/cpu||' | tr '\n' ' ')"
head -c 65536 /dev/urandom > /tmp/hp.file
sum=$(md5sum < /tmp/hp.file)
want=$(stat -f -c '%t %S %b %c' /)
for f in vfs_statfs vfs_read; do
	echo $f > $MP/decode
	cp $MP/decode /tmp/hp.before.$f
done
loops_start hpstat '[ "$(stat -f -c "%t %S %b %c" /)" = "$want" ]'
loops_start hpread '[ "$(md5sum < /tmp/hp.file)" = "$sum" ]'
echo 2 > /sys/module/markpatch/parameters/install_delay_ms
# The hotplug loop: each hot CPU offline, then online, over and over.
(
	while [ ! -e /tmp/hp.stop ]; do
		for c in $hot; do
			echo 0 > $c/online || echo "offline $c failed" >> /tmp/hp.errors
			sleep 0.2
			echo 1 > $c/online || echo "online $c failed" >> /tmp/hp.errors
		done
		echo x >> /tmp/hp.rounds
	done
) &
hpid=$!
cycles=0 bad=0
end=$(( $(cut -d. -f1 /proc/uptime) + ${mp_hotplug_seconds:-60} ))
while [ "$(cut -d. -f1 /proc/uptime)" -lt $end ]; do
	for f in vfs_statfs vfs_read; do
		r=$(mperrno $MP/install "$f count")
		[ "$r" = ok ] || { echo "install $f: $r"; bad=$((bad + 1)); }
	done
	sleep 0.2
	for f in vfs_statfs vfs_read; do
		r=$(mperrno $MP/revert "$f")
		[ "$r" = ok ] || { echo "revert $f: $r"; bad=$((bad + 1)); }
	done
	cycles=$((cycles + 1))
done
touch /tmp/hp.stop
wait $hpid
echo 0 > /sys/module/markpatch/parameters/install_delay_ms
loops_stop hpstat
wrong_stat=$WRONG
loops_stop hpread
wrong_read=$WRONG
rounds=$(wc -l < /tmp/hp.rounds 2>/dev/null || echo 0)
echo "$cycles install/revert cycles of both; $rounds hotplug rounds; wrong statfs $wrong_stat, wrong reads $wrong_read"
[ -e /tmp/hp.errors ] && cat /tmp/hp.errors
# Which reverts relied on A1 (markpatch says so when it frees a patch), to
# lay beside a wrong answer.
for f in vfs_statfs vfs_read; do
	echo "$f: $(dmesg | grep -c "markpatch: $f: .*(A1 relied on)") of its patches had decisions a rival mark count also explained"
	echo "$f: $(dmesg | sed -n "s/.*markpatch: $f: \([0-9]*\) decision(s) the bound on marks changed.*/\1/p" | awk '{ n += $1 } END { print n + 0 }') decisions the bound on marks changed"
done
check "every install and revert succeeded ($cycles cycles)" [ "$bad" = 0 -a "$cycles" -gt 0 ]
check "CPUs went offline and online ($rounds rounds)" [ "$rounds" -gt 0 -a ! -e /tmp/hp.errors ]
check "no wrong statfs answer" [ "$wrong_stat" = 0 ]
check "no wrong read" [ "$wrong_read" = 0 ]
for f in vfs_statfs vfs_read; do
	echo $f > $MP/decode
	check "$f holds its original bytes" same_as_decode /tmp/hp.before.$f
done
for c in $hot; do echo 1 > $c/online; done
check "every CPU is online again" [ "$(grep -c '^processor' /proc/cpuinfo)" = "$cpus" ]
finish
