#!/usr/bin/env bash
# make fresh-check: the README's two commands, exactly as written, on a new
# Debian bookworm machine: a minimal root made with debootstrap (Debian's own
# packages, from the archive this machine's apt sources name), holding only
# make, CA certificates and a Rust toolchain with cargo (copied from this
# machine's, outside ~/.cargo so that nothing relies on ~/.cargo/bin being on
# PATH), and a clean clone of this repository's HEAD. Each command runs in a
# chroot as root with a bare environment; its time and result are printed,
# then "N passed, M failed".
#
# The bare root is cached as a tarball ($MARKPATCH_CACHE/fresh/); everything
# else (packages, cargo registry, test kernel) starts empty every run.
# Needs root. Not part of `make check`: it takes about an hour on 2 cores.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
cd "$MARKPATCH_ROOT"
[ "$(id -u)" = 0 ] || die "fresh-check needs root (debootstrap and chroot)"

out=$MARKPATCH_ROOT/build/fresh
root=$out/root
tarball=$MARKPATCH_CACHE/fresh/bookworm-minbase.tar.gz
# What a new machine has besides Debian's minimal base: make (to type the
# README's commands), CA certificates (for cargo's registry), and cargo.
BASE_PACKAGES=make,ca-certificates

# The Debian archive this machine's apt sources name for bookworm (deb822
# .sources files, then the one-line format).
debian_mirror() {
	local f
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		awk '
			/^[ \t]*$/ { if (uri != "" && suite) exit; uri = ""; suite = 0; next }
			/^URIs:/ { uri = $2 }
			/^Suites:/ { for (i = 2; i <= NF; i++) if ($i == "bookworm") suite = 1 }
			END { if (uri != "" && suite) print uri }
		' "$f"
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		awk '$1 == "deb" && $3 == "bookworm" { for (i = 2; i <= NF; i++) if ($i !~ /^\[/) { print $i; exit } }' "$f"
	done
}

unmount_all() {
	local m
	for m in dev/pts dev proc sys; do
		mountpoint -q "$root/$m" 2>/dev/null && umount -l "$root/$m"
	done
}
trap unmount_all EXIT

if [ ! -f "$tarball" ]; then
	if ! command -v debootstrap >/dev/null; then
		note "installing debootstrap"
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null \
			|| die "apt-get install debootstrap failed"
	fi
	mirror=$(debian_mirror | head -1)
	[ -n "$mirror" ] || die "no bookworm archive in this machine's apt sources"
	note "debootstrap bookworm (minbase + $BASE_PACKAGES) from $mirror"
	unmount_all; rm -rf "$root"; mkdir -p "$root" "$(dirname "$tarball")"
	debootstrap --variant=minbase --include="$BASE_PACKAGES" bookworm "$root" "$mirror" > "$out-debootstrap.log" 2>&1 \
		|| { tail -20 "$out-debootstrap.log"; die "debootstrap failed (log: $out-debootstrap.log)"; }
	tar -C "$root" -czf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball" || die "cannot write $tarball"
fi

note "fresh root from $tarball"
unmount_all; rm -rf "$out"; mkdir -p "$root"
tar -C "$root" -xzf "$tarball" || die "cannot unpack $tarball"
# The Rust toolchain, as rustup installed it here (cargo, rustc, std).
sysroot=$(rustc --print sysroot) || die "no rustc on this machine"
mkdir -p "$root/opt/rust"
cp -a "$sysroot/." "$root/opt/rust/" || die "cannot copy the Rust toolchain"
for b in cargo rustc rustdoc; do ln -sf "/opt/rust/bin/$b" "$root/usr/local/bin/$b"; done
cp -L /etc/resolv.conf "$root/etc/resolv.conf"
# The certificate authorities this machine trusts besides Debian's (a
# network that inspects TLS needs its own): every machine of this site has
# them, so a fresh one does too.
if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
	cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
	chroot "$root" update-ca-certificates >/dev/null 2>&1 || die "update-ca-certificates failed in the fresh root"
fi
# The apt sources a Debian install has (bookworm, its updates and its
# security suite), as this machine names them; debootstrap wrote only
# bookworm itself.
: > "$root/etc/apt/sources.list"
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list; do
	[ -f "$f" ] && cp "$f" "$root$f"
done
git clone -q "$MARKPATCH_ROOT" "$root/root/markpatch" || die "git clone failed"
commit=$(git -C "$root/root/markpatch" rev-parse --short HEAD)
mount -t proc proc "$root/proc" && mount -t sysfs sysfs "$root/sys" \
	&& mount --bind /dev "$root/dev" && mount --bind /dev/pts "$root/dev/pts" \
	|| die "cannot mount /proc, /sys and /dev in the fresh root"

passed=0 failed=0
for cmd in "make demo" "make check"; do
	log=$out/${cmd#make }.log
	note "fresh root, commit $commit: $cmd (log: $log)"
	start=$(date +%s)
	chroot "$root" /usr/bin/env -i HOME=/root TERM=dumb LANG=C.UTF-8 \
		PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		bash -c "cd /root/markpatch && $cmd" > "$log" 2>&1
	rc=$?
	secs=$(( $(date +%s) - start ))
	if [ "$rc" = 0 ]; then
		passed=$((passed + 1))
		echo "ok: $cmd in a fresh bookworm root: ${secs}s ($((secs / 60)) min)"
	else
		failed=$((failed + 1))
		tail -30 "$log"
		echo "FAILED: $cmd in a fresh bookworm root: exit $rc after ${secs}s (log: $log)"
	fi
	[ "$cmd" = "make check" ] && tail -1 "$log" | sed 's/^/  make check said: /'
done
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
