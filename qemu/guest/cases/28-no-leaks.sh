# No leaks: after many install/revert cycles (several shapes, each hook
# kind, hooks replaced in place, refused installs among them) the module's
# executable arena and its Rust heap are back exactly where they started,
# and the kernel's unreclaimable slab has not grown with the cycles; and
# markpatch unloaded gives back what it took when it loaded.
. "${MPTESTS:-/tests}/lib.sh"
load_targets || exit 1
need_engine
revert_all
# stat_of KEY: the value of KEY in stats; a missing key gives a word that
# equals no other.
stat_of() { awk -v k="$1" -v m="missing-$1-$RANDOM" '$1 == k { v = $2 } END { print (v == "" ? m : v) }' $MP/stats; }
sunreclaim() { awk '$1 == "SUnreclaim:" { print $2 }' /proc/meminfo; }

# cycles N: N rounds over the shapes; every write's errno is checked.
cycles() {
	errors=0
	for _i in $(seq "$1"); do
		for t in mpt_short:count mpt_jcc:fail=-3 mpt_straddle:targets_double mpt_realign:count mpt_c_fentry:count; do
			n=${t%%:*} h=${t#*:}
			[ "$(mperrno $MP/install "$n $h")" = ok ] || errors=$((errors + 1))
		done
		[ "$(mperrno $MP/install 'mpt_short fail=7')" = ok ] || errors=$((errors + 1))
		[ "$(mperrno $MP/install 'mpt_backedge_i1 count')" = EOPNOTSUPP ] || errors=$((errors + 1))
		echo mpt_riprel > $MP/plan
		echo "mpt_short mpt_jcc no_such_function_xyz" > $MP/survey
		for n in mpt_short mpt_jcc mpt_straddle mpt_realign mpt_c_fentry; do
			[ "$(mperrno $MP/revert $n)" = ok ] || errors=$((errors + 1))
		done
	done
}

cycles 3 # warm-up: iced-x86's tables, slab caches
arena0=$(stat_of arena_bytes) heap0=$(stat_of heap_bytes) slab0=$(sunreclaim)
echo "before: arena_bytes=$arena0 heap_bytes=$heap0 SUnreclaim=${slab0} kB"
cycles 40
e1=$errors
arena1=$(stat_of arena_bytes) heap1=$(stat_of heap_bytes) slab1=$(sunreclaim)
echo "after 40 rounds (200 installs): arena_bytes=$arena1 heap_bytes=$heap1 SUnreclaim=${slab1} kB"
cycles 40
arena2=$(stat_of arena_bytes) heap2=$(stat_of heap_bytes) slab2=$(sunreclaim)
echo "after 80 rounds (400 installs): arena_bytes=$arena2 heap_bytes=$heap2 SUnreclaim=${slab2} kB"
check "every write answered as expected ($((e1 + errors)) unexpected)" [ $((e1 + errors)) = 0 ]
check "nothing left installed" [ -z "$(cat $MP/patches)" ]
check "executable arena back to where it started" [ "$arena1 $arena2" = "$arena0 $arena0" ]
check "Rust heap back to where it started" [ "$heap1 $heap2" = "$heap0 $heap0" ]
# A Patch, its Live and its hook config are about 2 KiB: 200 leaked
# installs would add 400 kB. Allow noise from the rest of the kernel.
check "unreclaimable slab did not grow with the cycles (+$((slab2 - slab1)) kB over 200 installs)" \
	[ $((slab2 - slab1)) -lt 128 ]
unload_targets

# Unloading markpatch gives back what loading it took, iced-x86's tables
# (about 1.9 MB, built at load) included: five reloads must not leave the
# kernel's unreclaimable slab and vmalloc memory larger by more than noise.
# Task stacks are vmalloc'd (VMAP_STACK) and come and go with every process
# the guest runs meanwhile (KernelStack counts them): they are left out.
kmem() { awk '$1 == "SUnreclaim:" || $1 == "VmallocUsed:" { s += $2 } $1 == "KernelStack:" { k = $2 } END { print s - k }' /proc/meminfo; }
# A load frees some of what it took later (the module image's copy, init
# text, through RCU and workqueues): the least of six readings over 3 s.
kmem_settled() {
	_min=
	for _r in 1 2 3 4 5 6; do
		_v=$(kmem)
		[ -z "$_min" ] || [ "$_v" -lt "$_min" ] && _min=$_v
		sleep 0.5
	done
	echo "$_min"
}
reload() { rmmod markpatch && insmod $MPMODULES/markpatch.ko; }
reload
mem0=$(kmem_settled)
parts0=$(grep -E '^(SUnreclaim|VmallocUsed|KernelStack):' /proc/meminfo | tr -s ' ' | tr '\n' ' ')
reloads=0
for _i in 1 2 3 4 5; do reload && reloads=$((reloads + 1)); done
mem1=$(kmem_settled)
echo "before: $parts0"
echo "after:  $(grep -E '^(SUnreclaim|VmallocUsed|KernelStack):' /proc/meminfo | tr -s ' ' | tr '\n' ' ')"
echo "five reloads: SUnreclaim + VmallocUsed - KernelStack ${mem0} kB -> ${mem1} kB"
check "markpatch reloaded five times ($reloads)" [ "$reloads" = 5 ]
check "five reloads left no more than 512 kB behind (+$((mem1 - mem0)) kB)" [ $((mem1 - mem0)) -lt 512 ]
finish
