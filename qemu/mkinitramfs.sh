#!/usr/bin/env bash
# Builds the guest's initramfs: busybox-static, the modules and the staged
# in-guest tests. Usage: mkinitramfs.sh KDIR OUT.cpio.gz MODULE.ko...
# (plus tests/targets/markpatch_targets.ko when it is built)
set -euo pipefail
. "$(dirname "$0")/../scripts/lib.sh"
kdir=$1 out=$2; shift 2
guest=$MARKPATCH_ROOT/qemu/guest
root=$(mktemp -d)
chmod 755 "$root" # mktemp makes it 0700: other users could not reach /bin
trap 'rm -rf "$root"' EXIT

mkdir -p "$root"/{bin,sbin,etc,proc,sys,dev,tmp,mnt,root,modules}
cp /bin/busybox "$root/bin/busybox"
cp "$guest/init" "$root/init"
"$MARKPATCH_ROOT/qemu/stage-tests.sh" "$kdir" "$root/tests"
if [ -d "$guest/demo" ]; then cp -r "$guest/demo" "$root/demo"; fi
for ko in "$@"; do cp "$ko" "$root/modules/"; done
# The test-target module (tests/targets, built by `make -C tests/targets
# modules`) joins the modules when it is built and not given already; the
# tests that need it skip without it.
targets_ko=$MARKPATCH_ROOT/tests/targets/markpatch_targets.ko
if [ -f "$targets_ko" ] && [ ! -e "$root/modules/markpatch_targets.ko" ]; then
	cp "$targets_ko" "$root/modules/"
fi
# Debian's quota tools, with the shared libraries they load, at the paths
# they have on the host: the guest's quota cases run them as an
# administrator would (setup installs the `quota` package).
for tool in /usr/sbin/setquota /usr/bin/quota /usr/sbin/repquota /usr/sbin/quotacheck /usr/sbin/quotaon; do
	[ -x "$tool" ] || die "$tool missing: run make setup (it installs Debian's quota package)"
	for f in "$tool" $(ldd "$tool" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'); do
		mkdir -p "$root$(dirname "$f")"
		cp -L "$f" "$root$f"
	done
done
printf 'root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/tmp:/bin/sh\nuser2:x:1001:1001:user2:/tmp:/bin/sh\n' > "$root/etc/passwd"
printf 'root:x:0:\nuser:x:1000:\nuser2:x:1001:\n' > "$root/etc/group"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) > "$out"
