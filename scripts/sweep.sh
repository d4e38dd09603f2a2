#!/usr/bin/env bash
# make sweep: `count` installed and reverted under load on every function
# the planner accepts on the test kernel (or a random sample), batch by
# batch, by qemu/guest/sweep/60-sweep.sh, over as many guest boots as
# crashes need. When a boot dies (an oops or panic on the console, or no
# progress for MARKPATCH_SWEEP_STALL seconds), the guest's progress lines
# ("sweep: install NAME", ...) name the functions that were installed at
# that moment; the next boot runs those first, in halves (alone first: the
# one being installed when the crash came during the installs, and those
# the oops's call trace names), and skips what earlier boots finished,
# until one function alone crashes: that is the crash's function. Stops after MARKPATCH_SWEEP_CRASHES crashes.
#
# Settings (environment):
#   MARKPATCH_SWEEP_SAMPLE   0 (default): every accepted function; N: N drawn
#                            at random (plus the case's control functions)
#   MARKPATCH_SWEEP_SEED     the draw's seed (default: random; printed)
#   MARKPATCH_SWEEP_NAMES    sweep these functions only (space-separated), e.g.
#                            to check that former crashes are refused now
#   MARKPATCH_SWEEP_SHARD    I/N: sweep only the I-th of N parts of the
#                            accepted list (every N-th function from the
#                            I-th), so that N clones sweep at once on N cores
#   MARKPATCH_SWEEP_BATCH    functions installed together (default 200)
#   MARKPATCH_SWEEP_HOLD     seconds each batch is held under load (default 3)
#   MARKPATCH_SWEEP_CRASHES  crashes before giving up (default 20)
#   MARKPATCH_SWEEP_STALL    seconds without a step of the sweep that count
#                            as a hang (default 300; a minute without any
#                            console output, heartbeat included, once it began)
#   MARKPATCH_SWEEP_RESUME=1 continue the sweep in build/sweep/state
# To stop a long sweep and continue it later: `touch build/sweep/stop`; the
# boot is ended once the batch under way is done (what it finished is kept,
# the batch after it is run again), and MARKPATCH_SWEEP_RESUME=1 continues.
#   MARKPATCH_TCG_THREAD     single (default: atomic window writes are atomic
#                            against instruction fetch there) or multi (then
#                            every write by the int3 protocol, int3_writes=1)
# Prints the figures (accepted, installed, reached, wrong, crashed), one line
# per crash (function, the oops's first line and RIP), the batch timings;
# writes them to build/sweep/report.txt. Fails on a crash, a wrong result or
# a failed check of the case.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
cd "$MARKPATCH_ROOT"
out=build/sweep
state=$out/state
sample=${MARKPATCH_SWEEP_SAMPLE:-0}
seed=${MARKPATCH_SWEEP_SEED:-$(od -An -N3 -tu4 /dev/urandom | tr -d ' ')}
batch=${MARKPATCH_SWEEP_BATCH:-200}
hold=${MARKPATCH_SWEEP_HOLD:-3}
max_crashes=${MARKPATCH_SWEEP_CRASHES:-20}
stall=${MARKPATCH_SWEEP_STALL:-300}
thread=${MARKPATCH_TCG_THREAD:-single}
int3=; [ "$thread" = multi ] && int3=mp_sweep_int3=1
names=${MARKPATCH_SWEEP_NAMES:-}
shard=${MARKPATCH_SWEEP_SHARD:-1/1}
[[ $shard =~ ^([0-9]+)/([0-9]+)$ ]] && [ "${BASH_REMATCH[1]}" -ge 1 ] && [ "${BASH_REMATCH[1]}" -le "${BASH_REMATCH[2]}" ] \
	|| die "MARKPATCH_SWEEP_SHARD=$shard: want I/N with 1 <= I <= N"

if [ "${MARKPATCH_SWEEP_RESUME:-0}" = 1 ] && [ -f "$state/params" ]; then
	. "$state/params"
	note "sweep: resuming in $state (seed $seed sample $sample)"
else
	rm -rf "$out"
	mkdir -p "$state"
	echo "seed=$seed sample=$sample batch=$batch hold=$hold shard=$shard" > "$state/params"
	echo $names | tr ' ' '\n' | grep . > "$state/names"
	: > "$state/done"; : > "$state/culprits"; : > "$state/first"; : > "$state/batches"
	: > "$state/crashes"; : > "$state/refused"
fi
mkdir -p "$out"
echo "sweep: seed $seed, sample $sample (0: all), batch $batch, hold $hold s, shard $shard, TCG $thread"

make --no-print-directory module > "$out/build.log" 2>&1 \
	|| { tail -30 "$out/build.log"; die "build failed ($out/build.log)"; }
kdir=$(scripts/kernel-dir.sh)
MARKPATCH_CASES=sweep qemu/mkinitramfs.sh "$kdir" "$out/initramfs.cpio.gz" markpatch.ko \
	> "$out/initramfs.log" 2>&1 || { cat "$out/initramfs.log"; exit 1; }

# boot N: one guest boot in $out/bootN with the state's lists added to the
# initramfs (a second cpio archive after the first: the kernel unpacks
# both). Kills the guest when its console is silent for $stall seconds.
# Sets RC (run.sh's status, or "hang").
boot() {
	local dir=$out/boot$1 data pid size last_size last_change c batches stop_after
	mkdir -p "$dir"
	data=$(mktemp -d)
	mkdir -p "$data/tests/data"
	[ -s "$state/accepted" ] && cp "$state/accepted" "$data/tests/data/sweep-accepted"
	cat "$state/done" "$state/culprits" > "$data/tests/data/sweep-skip"
	cp "$state/first" "$data/tests/data/sweep-first"
	[ -s "$state/names" ] && cp "$state/names" "$data/tests/data/sweep-names"
	(cd "$data" && find tests/data -type f | cpio -o -H newc --quiet | gzip -1) > "$dir/data.cpio.gz"
	rm -rf "$data"
	cat "$out/initramfs.cpio.gz" "$dir/data.cpio.gz" > "$dir/initramfs.cpio.gz"
	MARKPATCH_TCG_THREAD=$thread MARKPATCH_TIMEOUT=$((86400 * 3)) \
		MARKPATCH_APPEND="mp_sweep_sample=$sample mp_sweep_seed=$seed mp_sweep_batch=$batch mp_sweep_hold=$hold mp_sweep_shard=$shard mp_sweep_stall=$stall $int3" \
		qemu/run.sh "$kdir/arch/x86/boot/bzImage" "$dir/initramfs.cpio.gz" "$dir" tests > "$dir/run.log" 2>&1 &
	pid=$!
	last_size=-1 last_change=$(date +%s) last_steps=-1 last_step=$(date +%s) stop_after=
	RC=
	while kill -0 "$pid" 2>/dev/null; do
		sleep 10
		size=$(stat -c %s "$dir/console.log" 2>/dev/null || echo 0)
		steps=$(grep -c '\] sweep: [^a]' "$dir/console.log" 2>/dev/null)
		# Asked to stop: once one more batch is done.
		if [ -e "$out/stop" ]; then
			batches=$(grep -c '\] sweep: batch [0-9]* done' "$dir/console.log" 2>/dev/null)
			[ -n "$stop_after" ] || stop_after=$batches
			if [ "$batches" -gt "$stop_after" ]; then
				for c in $(pgrep -P "$pid"); do kill "$c" 2>/dev/null; done
				RC=stopped
				break
			fi
		fi
		[ "$size" != "$last_size" ] && last_size=$size last_change=$(date +%s)
		[ "$steps" != "$last_steps" ] && last_steps=$steps last_step=$(date +%s)
		# Stuck: no step of the sweep for $stall s; or, once the sweep
		# has begun (its heartbeat comes every 10 s), no console output
		# for a minute (a dead kernel: a hang, or an oops in the oops
		# path that did not end the boot).
		if [ $(( $(date +%s) - last_step )) -ge "$stall" ] \
			|| { [ "$steps" -gt 0 ] && [ $(( $(date +%s) - last_change )) -ge 60 ]; }; then
			# run.sh's children (timeout, which runs QEMU in its own
			# process group and passes the signal on), by their ids
			local c
			for c in $(pgrep -P "$pid"); do kill "$c" 2>/dev/null; done
			RC=killed
			break
		fi
	done
	wait "$pid"
	local rc=$?
	[ -n "$RC" ] || RC=$rc
	tr -d '\r' < "$dir/console.log" > "$dir/console.txt"
	tr -d '\r' < "$dir/ktap.log" > "$dir/ktap.txt" 2>/dev/null || : > "$dir/ktap.txt"
}

# progress DIR: from the console, what each batch did. Writes DIR/done
# (names of finished batches), DIR/suspects (installed when the boot died,
# in install order), DIR/phase (install, load, revert or none) and
# DIR/last (the name last installed or reverted).
progress() {
	awk -v dir="$1" '
		function reset() { delete inst; delete gone; ni = 0; phase = "install"; last = "" }
		{ sub(/^.*\] sweep: /, "sweep: ") }
		$1 != "sweep:" { next }
		$2 == "batch" && $4 == "start" { reset(); inbatch = 1; next }
		$2 == "install" && inbatch { order[++ni] = $3; inst[$3] = 1; last = $3; next }
		$2 == "load" && inbatch { phase = "load"; next }
		$2 == "revert" && inbatch {
			# the name reverted before this one is back to its original
			if (phase == "revert" && last != "") gone[last] = 1
			phase = "revert"; last = $3; next }
		$2 == "batch" && $4 ~ /^done/ {
			for (i = 1; i <= ni; i++) print order[i] > (dir "/done")
			inbatch = 0; reset(); next }
		END {
			printf "" > (dir "/suspects"); printf "" > (dir "/done.touch")
			if (inbatch) {
				for (i = 1; i <= ni; i++) if (!(order[i] in gone)) print order[i] > (dir "/suspects")
				print phase > (dir "/phase"); print last > (dir "/last")
			} else { print "none" > (dir "/phase"); print "" > (dir "/last") }
		}' "$1/console.txt"
	touch "$1/done"
}

# oops_summary DIR: the first kernel error line and the RIP line of the
# console, or what a hang looks like.
oops_summary() {
	local err rip
	err=$(grep -m1 -E '\] (BUG:|Oops|general protection|Kernel panic|kernel BUG|WARNING:|watchdog: |rcu: INFO: |INFO: task )' "$1/console.txt" | sed 's/^.*\] //')
	rip=$(grep -m1 -E '\] RIP: ' "$1/console.txt" | sed 's/^.*\] //')
	if [ -n "$err" ]; then echo "$err${rip:+ | $rip}"; else echo "no kernel error printed: the guest hung (no heartbeat, or no step for $stall s) or died silently; for a hang with a heartbeat, the guest's dump of every task and CPU after $((stall / 2)) s is in console.txt"; fi
}

crashes=$(wc -l < "$state/crashes") n=0 start=$(date +%s) finished=0
while :; do
	n=$((n + 1))
	while [ -d "$out/boot$n" ]; do n=$((n + 1)); done # resumed: keep the older boots
	note "sweep: boot $n ($(wc -l < "$state/done") done, $(wc -l < "$state/culprits") crashed functions set aside, $(wc -w < "$state/first") suspects to bisect)"
	bstart=$(date +%s)
	boot $n
	dir=$out/boot$n
	echo "boot $n: ${RC} after $(( $(date +%s) - bstart )) s"
	# The accepted list of the first boot, for the later ones, when it is
	# whole (the guest's output port may lose its last lines in a crash;
	# the console says how many there are).
	if [ ! -s "$state/accepted" ]; then
		want=$(sed -n 's/^.*\] sweep: accepted \([0-9]*\)$/\1/p' "$dir/console.txt" | head -1)
		sed -n 's/^# sweep-accepted: //p' "$dir/ktap.txt" > "$dir/accepted"
		[ -n "$want" ] && [ "$(wc -l < "$dir/accepted")" = "$want" ] && cp "$dir/accepted" "$state/accepted"
	fi
	sed -n "s/^.*\] sweep: batch \([0-9]*\) done: /boot $n batch \1: /p" "$dir/console.txt" >> "$state/batches"
	sed -n 's/^.*\] sweep: refused at install: //p' "$dir/console.txt" >> "$state/refused"
	progress "$dir"
	cat "$dir/done" >> "$state/done"
	if [ "$RC" = stopped ]; then
		rm -f "$out/stop"
		echo "sweep: stopped on request after boot $n: MARKPATCH_SWEEP_RESUME=1 continues"
		break
	fi
	phase=$(cat "$dir/phase")
	if grep -q '^markpatch-guest: finished' "$dir/console.txt" && [ "$phase" = none ]; then
		[ "$RC" = 0 ] || { echo "boot $n: kernel errors on the console:"; scripts/console-scan.sh "$dir/console.txt" 2>&1 | sed 's/^/  /'; }
		finished=1
		break
	fi
	# A crash (or hang): what was installed then is suspect.
	crashes=$((crashes + 1))
	summary=$(oops_summary "$dir")
	nsus=$(wc -l < "$dir/suspects")
	if [ "$phase" = none ]; then
		echo "crash $crashes (boot $n): outside any batch: $summary" | tee -a "$state/crashes"
		echo "sweep: a crash outside the batches cannot be bisected: stopping"
		break
	fi
	# The first groups keep what the boot did not finish (and did not
	# suspect): a group it did not reach stays queued whole.
	: > "$state/first.new"
	while IFS= read -r g; do
		[ -n "$g" ] || continue
		left=$(tr ' ' '\n' <<< "$g" | grep -vxF -f "$dir/done" | grep -vxF -f "$dir/suspects" | tr '\n' ' ')
		[ -z "${left// /}" ] || echo "$left" >> "$state/first.new"
	done < "$state/first"
	if [ "$nsus" = 1 ]; then
		f=$(cat "$dir/suspects")
		echo "$f" >> "$state/culprits"
		echo "crash $crashes (boot $n, $(cat "$dir/phase")): function $f: $summary" | tee -a "$state/crashes"
	else
		echo "crash $crashes (boot $n, $(cat "$dir/phase"), $nsus suspects, last $(cat "$dir/last")): $summary" | tee -a "$state/crashes"
		cp "$dir/suspects" "$out/suspects.crash$crashes"
		# Alone first: the one being installed when the crash came during
		# the installs, and up to 4 suspects the oops's call trace names
		# (a patched function recursing through the resolver shows there);
		# then the rest in halves.
		: > "$state/first.split"
		[ "$(cat "$dir/phase")" = install ] && cat "$dir/last" >> "$state/first.split"
		sed -n '/\] \(BUG:\|Oops\|general protection\|kernel BUG\)/,$p' "$dir/console.txt" | head -300 \
			| grep -oE '[A-Za-z0-9_.$]+\+0x[0-9a-f]+/' | sed 's/+0x.*//' | awk '!seen[$0]++' \
			| grep -xF -f "$dir/suspects" | grep -vxF -f "$state/first.split" | head -4 >> "$state/first.split"
		grep -vxF -f "$state/first.split" "$dir/suspects" > "$dir/rest"
		r=$(wc -l < "$dir/rest")
		[ "$r" -gt 0 ] && head -n $(( (r + 1) / 2 )) "$dir/rest" | tr '\n' ' ' >> "$state/first.split" && echo >> "$state/first.split"
		[ "$r" -gt 1 ] && tail -n $(( r / 2 )) "$dir/rest" | tr '\n' ' ' >> "$state/first.split" && echo >> "$state/first.split"
		# the suspects' halves go before what is still queued
		cat "$state/first.split" "$state/first.new" | grep -v '^ *$' > "$state/first.tmp"
		mv "$state/first.tmp" "$state/first.new"
	fi
	mv "$state/first.new" "$state/first"
	if [ "$crashes" -ge "$max_crashes" ]; then
		echo "sweep: $crashes crashes: stopping (MARKPATCH_SWEEP_CRASHES=$max_crashes)"
		break
	fi
done

# ---- the report, over every boot
{
	wall=$(( $(date +%s) - start ))
	accepted=$(cat "$state/accepted" 2>/dev/null | wc -l)
	read -r inst reach wrong refused unrestored revfail unpatched notinst ctlmiss < <(awk '
		{ delete v; for (i = 1; i < NF; i++) { k = $i; gsub(/;/, "", $(i + 1)); v[k] = $(i + 1) }
		  I += v["installed"]; R += v["reached"]; W += v["wrong"]; F += v["refused"]; U += v["not-restored"]; X += v["revert-failed"]
		  P += v["unpatched"]; N += v["not-installed"]; C += v["control-missed"] }
		END { print I + 0, R + 0, W + 0, F + 0, U + 0, X + 0, P + 0, N + 0, C + 0 }' "$state/batches")
	echo "sweep: seed $seed sample $sample batch $batch hold $hold s shard $shard; $n boot(s), $wall s wall"
	echo "sweep: accepted $accepted installed $inst reached $reach wrong $wrong crashed $crashes"
	echo "sweep: refused at install $refused, not rewritten $unpatched, not installed after the hold $notinst, control functions not reached $ctlmiss, not restored $unrestored, revert failed $revfail; not swept: $(( accepted - $(sort -u "$state/done" "$state/culprits" | wc -l) ))"
	# batch times: per installed function, install and revert
	awk '{ for (i = 1; i < NF; i++) v[$i] = $(i + 1)
		ni = v["installed"]; if (ni == 0) next
		split($0, a, "install "); split(a[2], b, " "); ti += b[1]
		split($0, a, "revert "); split(a[2], b, " "); tr += b[1]; n += ni; nb++ }
		END { if (n) printf "sweep: %d batches: %.0f s installing, %.0f s reverting, %.3f s and %.3f s per function\n", nb, ti, tr, ti / n, tr / n }' \
		"$state/batches"
	# every crash; those of one function alone name it
	while IFS= read -r line; do echo "sweep: $line"; done < "$state/crashes"
	echo "sweep: functions that crashed alone: $(tr '\n' ' ' < "$state/culprits")"
	# a crash whose suspects hold no function that crashed alone
	for s in "$out"/suspects.crash*; do
		[ -f "$s" ] || continue
		grep -qxF -f "$state/culprits" "$s" || [ "$finished" = 0 ] \
			|| echo "sweep: ${s##*.}: not reproduced by any of its $(wc -l < "$s") functions alone or in halves"
	done
	[ -s "$state/refused" ] && sed 's/^/sweep: refused at install: /' "$state/refused"
	echo "$((wrong + refused + unpatched + notinst + ctlmiss + unrestored + revfail))" > "$out/failed-checks"
} | tee "$out/report.txt"
# The last boot's own verdict, and every boot's batches: a check that
# failed in a boot that later crashed counts too.
if [ "$finished" = 1 ]; then
	boot_result sweep "$out/boot$n" "$RC"
	rc=$?
else
	rc=1
fi
[ "$crashes" = 0 ] && [ "$rc" = 0 ] && [ "$(cat "$out/failed-checks")" = 0 ]
