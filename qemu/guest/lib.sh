# Helpers for the in-guest tests. Source it: `. /tests/lib.sh`.
MP=/sys/kernel/markpatch
MPTESTS=${MPTESTS:-/tests}
MPMODULES=${MPMODULES:-/modules}
fails=0

# asuser COMMAND / asuser2 COMMAND: runs the shell COMMAND as uid 1000 /
# 1001 (no account needed: virtme-ng's root file system has none).
asuser() { "$MPTESTS/bin/asuid" 1000 /bin/sh -c "$1"; }
asuser2() { "$MPTESTS/bin/asuid" 1001 /bin/sh -c "$1"; }

# check DESCRIPTION COMMAND...: run the command, report, remember a failure.
check() {
	desc=$1; shift
	if "$@"; then
		echo "pass: $desc"
	else
		echo "FAIL: $desc"
		fails=$((fails + 1))
	fi
}

# insmod, for markpatch.ko, adds the kernel command line's markpatch.NAME=VALUE
# words as parameters, as modprobe does (busybox insmod does not): a harness
# booting TCG with a CPU model other than "max" passes
# markpatch.tcg_retouch=1 so (qemu/run.sh).
markpatch_cmdline_params() {
	tr ' ' '\n' < /proc/cmdline | sed -n 's/^markpatch\.\([a-z_]*=\)/\1/p'
}
insmod() {
	case "$1" in
	*/markpatch.ko) command insmod "$@" $(markpatch_cmdline_params) ;;
	*) command insmod "$@" ;;
	esac
}

# load the module once per test that needs it
load_markpatch() {
	[ -d "$MP" ] || insmod $MPMODULES/markpatch.ko "$@"
}

# poll SECONDS COMMAND...: runs COMMAND every 0.1 s until it succeeds or
# SECONDS have passed; succeeds when it did.
poll() {
	_n=$(($1 * 10)); shift
	while [ "$_n" -gt 0 ]; do
		"$@" && return 0
		sleep 0.1
		_n=$((_n - 1))
	done
	"$@"
}

# loops_start NAME TEST: runs the shell TEST (it succeeds when the answer it
# checks is right) in a loop on every CPU until loops_stop NAME.
loops_start() {
	rm -f /tmp/loops-$1.*
	for _i in $(seq $(grep -c '^processor' /proc/cpuinfo)); do
		( _bad=0; while [ ! -e /tmp/loops-$1.stop ]; do eval "$2" || _bad=$((_bad + 1)); done
		  echo $_bad > /tmp/loops-$1.bad.$_i ) &
	done
}

# loops_reported NAME: every loop of NAME has written its count.
loops_reported() {
	[ "$(ls /tmp/loops-$1.bad.* 2>/dev/null | wc -l)" = "$(grep -c '^processor' /proc/cpuinfo)" ]
}

# loops_stop NAME: stops the loops; WRONG is how many answers were wrong
# (or "no-report" when a loop did not say).
loops_stop() {
	touch /tmp/loops-$1.stop
	poll 60 loops_reported $1 || { WRONG=no-report; return; }
	WRONG=$(cat /tmp/loops-$1.bad.* | awk '{ s += $1 } END { print s + 0 }')
}

# calls_over SYMBOL N: the patch on SYMBOL counted more than N calls.
calls_over() {
	[ "$(patch_field "$1" 4)" -gt "$2" ] 2>/dev/null
}

finish() {
	[ "$fails" = 0 ]
	exit $?
}

# ---- markpatch_targets (tests/targets): targets of known shapes, a call and
# stress driver, and the filter hooks targets_double and targets_sleepy.
MPT=/sys/kernel/markpatch_targets

# load_targets: markpatch.ko, then markpatch_targets.ko (it links against
# markpatch's exports). Exits 4 (skip) when the module was not built.
load_targets() {
	if [ ! -f $MPMODULES/markpatch_targets.ko ]; then
		echo "markpatch_targets.ko was not built (make -C tests/targets modules): skipping"
		exit 4
	fi
	load_markpatch
	[ -d $MPT ] || insmod $MPMODULES/markpatch_targets.ko
	[ -d $MPT ]
}

# need_engine: markpatch's patching interface is there (plan, install,
# revert, patches); otherwise one failure, clean up, and exit.
need_engine() {
	for _f in plan install revert patches; do
		if [ ! -e $MP/$_f ]; then
			check "markpatch has $MP/$_f (the patching engine)" false
			unload_targets
			finish
		fi
	done
}

# revert_all: revert every patch markpatch lists (quietly).
revert_all() {
	[ -r $MP/patches ] || return 0
	for s in $(cut -d' ' -f1 $MP/patches); do
		echo "$s" > $MP/revert 2>/dev/null
	done
	echo 0 > /sys/module/markpatch/parameters/install_delay_ms 2>/dev/null
	return 0
}

# unload_targets: stop the stress driver, revert every patch, remove
# markpatch_targets (so later tests can unload markpatch).
unload_targets() {
	[ -d $MPT ] || return 0
	echo stop > $MPT/stress 2>/dev/null
	echo - > $MPT/kprobe 2>/dev/null
	revert_all
	rmmod markpatch_targets
}

# mperrno FILE DATA: one write; prints "ok" or the errno name (ENOENT...).
mperrno() {
	mpwrite "$1" "$2" | sed -n 's/^errno [0-9]* \([A-Z0-9]*\).*/\1/p; s/^ok$/ok/p'
}

# expect_errno DESC WANT FILE DATA: check that writing DATA to FILE gives
# errno WANT (ENOENT, EINVAL, ...; "ok" for success).
expect_errno() {
	_got=$(mperrno "$3" "$4")
	echo "write '$(echo "$4" | cut -c1-60)' to ${3##*/}: $_got"
	check "$1: $2" [ "$_got" = "$2" ]
}

# tcall NAME X: calls NAME(X) in the kernel; sets RESULT and REF (signed
# decimals). When the call cannot be made, RESULT and REF are two different
# words, so that no comparison of them passes, and it returns 1.
tcall() {
	RESULT=no-result REF=no-reference
	echo "$1 $2" > $MPT/call || return 1
	read -r RESULT REF < $MPT/call
	case "$RESULT:$REF" in *[!0-9:-]*|:*|*:) RESULT=no-result REF=no-reference; return 1 ;; esac
}

# stress_wait [SECONDS]: waits until the stress run is no longer running
# (at most SECONDS, default 60); leaves its status line in STRESS.
stress_wait() {
	_t=$(( ${1:-60} * 5 ))
	while :; do
		STRESS=$(cat $MPT/stress)
		case "$STRESS" in running*) ;; *) return 0 ;; esac
		_t=$((_t - 1))
		[ $_t -gt 0 ] || return 1
		sleep 0.2
	done
}

# field NAME LINE: the value of NAME=value in LINE.
field() {
	echo "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"
}

# patch_field SYMBOL COLUMN: a column of SYMBOL's line in $MP/patches
# (2 hook, 3 state, 4 calls, 5 partial).
patch_field() {
	awk -v s="$1" -v c="$2" '$1 == s { print $c }' $MP/patches 2>/dev/null
}

# region SYMBOL FENTRY(yes|no): the region the planner should find, from
# markpatch's decode listing and the symbol's address in /proc/kallsyms:
# skips the ENDBR (or its sealed NOP) and, with FENTRY=yes, the fentry NOP;
# ends at the first instruction of 5 bytes or more. Sets REGION_M (0 when
# none within 16) and REGION_STRADDLE (the k of each Ik crossing an aligned
# 16-byte boundary, space-separated; empty when none) and REGION_OFFS
# (the decode listing's offset column of I1..IM).
region() {
	REGION_M=0 REGION_STRADDLE=
	echo "$1" > $MP/decode || return 1
	_addr=$(awk -v s="$1" '$3 == s { print $1; exit }' /proc/kallsyms)
	# the address's last hex digit is all the alignment needs
	_low=$(printf '%d' "0x$(echo "$_addr" | tail -c 2)")
	_r=$(sed 1d $MP/decode | awk -F'\t' -v fentry="$2" -v low="$_low" '
		function hex(s,   i, c, n) { n = 0; s = tolower(s); sub(/^\+?0x/, "", s)
			for (i = 1; i <= length(s); i++) { c = index("0123456789abcdef", substr(s, i, 1)) - 1; n = n * 16 + c }
			return n }
		{ off = hex($1); len = $2 + 0; bytes = $3 }
		NR == 1 && off == 0 && len == 4 && (bytes == "f3 0f 1e fa" || bytes == "66 0f 1f 00") { next }
		fentry == "yes" && !seen_fentry && bytes == "0f 1f 44 00 00" { seen_fentry = 1; next }
		{ k++; offs = offs " " $1; if (int((low + off) / 16) != int((low + off + len - 1) / 16)) st = st " " k
		  if (len >= 5) { print k "|" substr(st, 2) "|" substr(offs, 2); done = 1; exit }
		  if (k >= 16) exit }
		END { if (!done) print "0||" }')
	REGION_M=${_r%%|*}
	_r=${_r#*|}
	REGION_STRADDLE=${_r%%|*}
	REGION_OFFS=${_r#*|}
}

# marked_as_planned LISTING: the decode LISTING (a file) shows the region of
# the last `region` call as installed: `push %rsp` (54) at each Ik, k < M,
# and a 5-byte jmp (e9) at IM.
marked_as_planned() {
	_k=0
	for _o in $REGION_OFFS; do
		_k=$((_k + 1))
		if [ $_k -lt $REGION_M ]; then
			grep -q "^$_o	1	54	" "$1" || { echo "no mark at I$_k ($_o)"; return 1; }
		else
			grep -q "^$_o	5	e9 " "$1" || { echo "no jmp at IM ($_o)"; return 1; }
		fi
	done
}

# matches STRING REGEX: STRING matches the extended REGEX.
matches() {
	echo "$1" | grep -Eq "$2"
}

# churn NAME HOOK SECONDS [STRESS-ALLOW]: the stress driver calls NAME on
# every CPU (allowing the original's result and STRESS-ALLOW: "allow=V" or
# "double") while NAME is installed with HOOK and reverted over and over for
# SECONDS; checks every install and revert, no wrong result, and the bytes
# restored. Adds the partial entries seen to $total; leaves the stress
# status in STRESS.
churn() {
	name=$1 hook=$2 secs=$3
	region $name $(awk -v n=$name '$1 == n { sub(/fentry=/, "", $5); print $5 }' $MPT/names)
	cp $MP/decode /tmp/before
	echo "$name $((secs + 2)) $4" > $MPT/stress
	end=$(( $(cut -d. -f1 /proc/uptime) + secs ))
	cycles=0 bad=0 partials= sum=0 trap_sum=0 amb_sum=0 bnd_sum=0
	while [ "$(cut -d. -f1 /proc/uptime)" -lt $end ]; do
		r=$(mperrno $MP/install "$name $hook")
		[ "$r" = ok ] || { echo "install: $r"; bad=$((bad + 1)); break; }
		sleep 0.1
		p=$(cat $MP/patch/$name/partial 2>/dev/null || echo 0)
		t=$(cat $MP/patch/$name/traps 2>/dev/null || echo 0)
		a=$(cat $MP/patch/$name/ambiguous 2>/dev/null) b=$(cat $MP/patch/$name/bounded 2>/dev/null)
		case "$a.$b" in [0-9]*.[0-9]*) ;; *) echo "ambiguous '$a', bounded '$b': not counts"; bad=$((bad + 1)) ;; esac
		partials="$partials $p"; sum=$((sum + p)); trap_sum=$((trap_sum + t))
		amb_sum=$((amb_sum + ${a:-0})) bnd_sum=$((bnd_sum + ${b:-0}))
		r=$(mperrno $MP/revert "$name")
		[ "$r" = ok ] || { echo "revert: $r"; bad=$((bad + 1)); break; }
		cycles=$((cycles + 1))
	done
	stress_wait 60
	echo "$name with $hook: $cycles install/revert cycles; partial entries per install:$partials (sum $sum); trap redirects $trap_sum; decisions while installed that a rival also explained $amb_sum, that the install's bound changed $bnd_sum"
	echo "$STRESS"
	check "$name/$hook: every install and revert succeeded ($cycles cycles)" [ "$bad $((cycles > 0))" = "0 1" ]
	check "$name/$hook: stress made calls" [ "$(field calls "$STRESS")" -gt 0 ]
	check "$name/$hook: no wrong result" [ "$(field wrong "$STRESS")" = 0 ]
	echo $name > $MP/decode
	check "$name/$hook: bytes restored exactly" same_as_decode /tmp/before
	total=$((total + sum)) traps_total=$((traps_total + trap_sum))
}

# code_matches CODE DECODE M: a patch's `code` file (CODE) against the
# decode listing taken before the install (DECODE): for each Ik, the first
# column is the original instruction as decode showed it, the second is
# what is there now (`push %rsp` and its filler for k < M, a `jmp` at IM),
# and the third, the pseudo-original's copy, is the original itself when
# nothing in it is relative to its address.
code_matches() {
	awk -v m="$3" '
		function hex(s,   i, c, n) { n = 0; s = tolower(s); sub(/^\+?0x/, "", s)
			for (i = 1; i <= length(s); i++) { c = index("0123456789abcdef", substr(s, i, 1)) - 1; n = n * 16 + c }
			return n }
		FNR == NR { if (FNR > 1) { split($0, f, "\t"); text[hex(f[1])] = f[4] } next }
		/^I[0-9]+ / {
			k++
			n = split($0, col, "  \\|  ")
			head = col[1]; sub(/^I[0-9]+ +/, "", head)
			off = head; sub(/ .*/, "", off); orig = head; sub(/^[^ ]+ +/, "", orig)
			now = col[2]; p = col[3]; sub(/^P\+0x[0-9a-f]+ /, "", p)
			if (n != 3) { print "I" k ": not three columns: " $0; bad++ }
			if (orig != text[hex(off)]) { print "I" k ": original \"" orig "\", decode said \"" text[hex(off)] "\""; bad++ }
			if (k < m && now !~ /^push %rsp/) { print "I" k ": now \"" now "\", want a mark"; bad++ }
			if (k == m && now !~ /^jmp /) { print "I" k ": now \"" now "\", want a jmp"; bad++ }
			if (orig !~ /%rip|^j|^call/ && p != orig) { print "I" k ": P has \"" p "\", want \"" orig "\""; bad++ }
		}
		END { if (k != m) { print "code lists " k " instructions, want " m; bad++ } exit bad > 0 }
	' "$2" "$1"
}

# (churn adds to $total the partial entries and to $traps_total the trap
# redirects it saw.)
total=0 traps_total=0

# same_as_decode FILE: whether /sys/kernel/markpatch/decode reads exactly as
# FILE. Through a copy: GNU cmp (virtme-ng runs the host's) takes a sysfs
# file's 4096-byte st_size at its word and calls files of other sizes
# different without reading them.
same_as_decode() {
	cat $MP/decode > /tmp/.decode-now
	cmp -s "$1" /tmp/.decode-now
}

# ---- the quota cases (40-45)

# quota_mounts DIR: ramfs on DIR/ram, tmpfs (64 MiB) on DIR/tmpfs and ext2
# (a 16 MiB loop device, 4 KiB blocks) on DIR/ext, all writable by anyone;
# sets LOOP.
quota_mounts() {
	mkdir -p $1/ram $1/tmpfs $1/ext
	mount -t ramfs ramfs $1/ram
	mount -t tmpfs -o size=64m tmpfs $1/tmpfs
	dd if=/dev/zero of=$1/ext.img bs=1M count=16 2>/dev/null
	LOOP=$(losetup -f)
	losetup $LOOP $1/ext.img && mke2fs -q -b 4096 $LOOP && mount -t ext2 $LOOP $1/ext
	check "ext2 on $LOOP mounted at $1/ext" grep -q " $1/ext ext2 " /proc/mounts
	chmod 1777 $1/ram $1/tmpfs $1/ext
}

# quota_unmounts DIR: undoes quota_mounts (once the limits are gone).
quota_unmounts() {
	umount $1/ext && losetup -d $LOOP && umount $1/ram && umount $1/tmpfs
	check "the file systems unmount once the limits are gone" [ $? = 0 ]
	rm -rf $1
}

# quota_patches install|revert: every patch quota_hooks names.
quota_patches() {
	while read -r _fn _hook; do
		if [ "$1" = install ]; then
			expect_errno "install $_fn $_hook" ok $MP/install "$_fn $_hook"
		else
			expect_errno "revert $_fn" ok $MP/revert "$_fn"
		fi
	done < $MP/quota_hooks
}

# quota_used DIR [UID]: the USED column of UID's (default 1000) limit on DIR.
quota_used() {
	awk -v d=$1 -v u=${2:-1000} '$1 == u && $3 == d { print $4 }' $MP/quota
}

# op OP FILE OFFSET LEN [SRC]: one fileops operation as uid 1000; its
# answer ("ok N", "errno N NAME", "full N errno ...") in OP_OUT.
op() { OP_OUT=$(asuser "$MPTESTS/bin/fileops $*"); }
