# Out of memory: the kernel's fault injection fails the Nth allocation one
# write makes (/proc/thread-self/fail-nth, every slab and page allocation,
# GFP_KERNEL included), for N = 1, 2, ... until the write makes fewer than
# N. An install, a hook swap, a revert, a batch revert and a plan each
# answer ok or ENOMEM,
# never an oops: after an ENOMEM nothing is installed (for a swap, the old
# hook still runs; for a revert, the patch is still installed and works),
# the function's bytes are what they were, and the module's executable
# arena and Rust heap are back where they were. Some of the failed
# allocations are iced-x86's, which cannot fail: the allocation reserve
# turned them into ENOMEM (stats: reserve_used).
. "${MPTESTS:-/tests}/lib.sh"
load_targets || exit 1
need_engine
revert_all
stat_of() { awk -v k="$1" -v m="missing-$1-$RANDOM" '$1 == k { v = $2 } END { print (v == "" ? m : v) }' $MP/stats; }

D=/sys/kernel/debug
[ -d $D/failslab ] || mount -t debugfs none $D 2>/dev/null
if [ ! -d $D/failslab ] || [ ! -e /proc/thread-self/fail-nth ]; then
	check "the kernel has fault injection (CONFIG_FAILSLAB, CONFIG_FAIL_PAGE_ALLOC, debugfs)" false
	unload_targets
	finish
fi
# Every allocation counts (GFP_KERNEL ones too, pages of any order), and
# quietly: the page allocator's warnings are not errors here.
for a in failslab fail_page_alloc; do
	echo N > $D/$a/ignore-gfp-wait
	echo 0 > $D/$a/verbose
done
echo N > $D/fail_page_alloc/ignore-gfp-highmem
echo 0 > $D/fail_page_alloc/min-order
printk0=$(cut -f1 /proc/sys/kernel/printk)
echo 3 > /proc/sys/kernel/printk

F=mpt_short
# A first install, revert and plan: lazily made caches and tables are in
# place, and `plan` keeps its last report.
mperrno $MP/install "$F count" > /dev/null
mperrno $MP/revert $F > /dev/null
mperrno $MP/plan $F > /dev/null
echo $F > $MP/decode
cp $MP/decode /tmp/original
arena0=$(stat_of arena_bytes) heap0=$(stat_of heap_bytes) used0=$(stat_of reserve_used)
echo "before: arena_bytes $arena0 heap_bytes $heap0 reserve_used $used0"

# same_state: the arena and heap are where they were before the writes.
same_state() { [ "$(stat_of arena_bytes) $(stat_of heap_bytes)" = "$arena0 $heap0" ]; }
# bytes_are FILE: F's decode listing reads as FILE.
bytes_are() { echo $F > $MP/decode; same_as_decode "$1"; }
# works_with HOOK: F is installed with HOOK and a call goes through it.
works_with() {
	[ "$(patch_field $F 2) $(patch_field $F 3)" = "$HOOK_WANT installed" ] || return 1
	tcall $F 5 || return 1
	case $HOOK_WANT in fail=-5) [ "$RESULT" = -5 ] ;; *) [ "$RESULT" = "$REF" ] ;; esac
}

# wrong WHAT: says what is there after a wrong answer.
wrong() {
	echo "$1: patches '$(cat $MP/patches)', stats $(tr '\n' ' ' < $MP/stats)"
	dmesg | tail -4 | sed 's/^/  dmesg: /'
}

# nth_loop WHAT FILE DATA ON_OK ON_ENOMEM: the write with its Nth allocation
# failed, N = 1, 2, ...; after each, ON_OK or ON_ENOMEM (shell commands)
# must hold. Sets N_ENOMEM, N_OK, N_BAD and N_REACHED (the allocations the
# write made).
nth_loop() {
	N_ENOMEM=0 N_OK=0 N_BAD=0 N_REACHED=0 n=1
	while [ $n -le 400 ]; do
		out=$(MPWRITE_FAIL_NTH=$n "$MPTESTS/bin/mpwrite" "$2" "$3")
		r=$(echo "$out" | sed -n '1{s/^errno [0-9]* \([A-Z0-9]*\).*/\1/p; s/^ok$/ok/p}')
		inj=$(echo "$out" | sed -n 2p)
		case $r in
		ok) eval "$4" && N_OK=$((N_OK + 1)) || { wrong "$1: N=$n: ok, but"; N_BAD=$((N_BAD + 1)); } ;;
		ENOMEM) eval "$5" && N_ENOMEM=$((N_ENOMEM + 1)) || { wrong "$1: N=$n: ENOMEM, but"; N_BAD=$((N_BAD + 1)); } ;;
		*) echo "$1: N=$n: answered '$out'"; N_BAD=$((N_BAD + 1)) ;;
		esac
		[ "$inj" = injected ] || break
		n=$((n + 1))
	done
	N_REACHED=$((n - 1))
	echo "$1: $N_REACHED allocations failed one at a time: $N_ENOMEM ENOMEM, $N_OK ok, $N_BAD wrong"
	check "$1: every failed allocation gives ENOMEM or success, and leaves things as they should be" [ $N_BAD = 0 ]
	check "$1: the write was tried to its end (an Nth it did not reach)" [ -n "$inj" ] && [ "$inj" = "not reached" ]
	check "$1: some allocations failed with ENOMEM" [ $N_ENOMEM -gt 0 ]
}

# Install: ENOMEM leaves nothing; ok leaves a working patch, reverted for
# the next round.
HOOK_WANT=count
nth_loop install $MP/install "$F count" \
	'works_with && [ "$(mperrno $MP/revert $F)" = ok ] && bytes_are /tmp/original && same_state' \
	'[ -z "$(patch_field $F 3)" ] && [ ! -e $MP/patch/$F ] && bytes_are /tmp/original && same_state'

# Plan: an answer, and nothing kept but its report.
nth_loop plan $MP/plan "$F" 'same_state' 'same_state'

# Hook swap: installed with count; ENOMEM keeps count, ok gives fail=-5
# (swapped back for the next round).
mperrno $MP/install "$F count" > /dev/null
echo $F > $MP/decode
cp $MP/decode /tmp/installed
HOOK_WANT=count
nth_loop "hook swap" $MP/install "$F fail=-5" \
	'HOOK_WANT=fail=-5 works_with && [ "$(mperrno $MP/install "$F count")" = ok ] && bytes_are /tmp/installed' \
	'works_with && bytes_are /tmp/installed'

reinstall() {
	_r=$(mperrno $MP/install "$F count")
	[ "$_r" = ok ] || { echo "install again: $_r"; return 1; }
}

# Revert: ENOMEM keeps the patch installed and working; ok restores the
# original bytes (installed again for the next round).
nth_loop revert $MP/revert "$F" \
	'[ -z "$(patch_field $F 3)" ] && bytes_are /tmp/original && reinstall' \
	'works_with && bytes_are /tmp/installed'

# Batch revert: two names in one write. Each of the two is either still
# installed and working or gone with its original bytes (both gone on ok);
# both are installed again for the next round.
G=mpt_jcc
echo $G > $MP/decode
cp $MP/decode /tmp/original-g
each_sound() {
	for _p in "$F /tmp/original" "$G /tmp/original-g"; do
		set -- $_p
		if [ -n "$(patch_field $1 3)" ]; then
			[ "$(patch_field $1 3)" = installed ] && tcall $1 5 && [ "$RESULT" = "$REF" ] || { echo "$1: not working"; return 1; }
		else
			echo $1 > $MP/decode
			same_as_decode $2 || { echo "$1: bytes not restored"; return 1; }
		fi
	done
}
both_again() {
	for _f in $F $G; do
		[ -n "$(patch_field $_f 3)" ] || [ "$(mperrno $MP/install "$_f count")" = ok ] || { echo "$_f: install again failed"; return 1; }
	done
}
both_again
nth_loop "batch revert" $MP/revert "$F $G" \
	'[ -z "$(patch_field $F 3)$(patch_field $G 3)" ] && each_sound && both_again' \
	'each_sound && both_again'
mperrno $MP/revert "$F $G" > /dev/null

echo $printk0 > /proc/sys/kernel/printk
used=$(( $(stat_of reserve_used) - used0 ))
echo "stats after: $(tr '\n' ' ' < $MP/stats)"
check "iced-x86's allocations were among those failed, and the reserve answered ENOMEM for them ($used times)" [ "$used" -gt 0 ]
check "nothing left installed, the bytes are the original ones" [ -z "$(cat $MP/patches)" ] && bytes_are /tmp/original
check "executable arena and Rust heap are back where they were" same_state
unload_targets
finish
