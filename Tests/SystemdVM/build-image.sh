#!/usr/bin/env bash
# Builds the Debian bookworm image the systemd VM test boots (issue 17): debootstrap --variant=minbase with
# systemd as PID 1, a kernel, and what the test drives inside (python3 for the loopback https server,
# openssl and ca-certificates for the test CA, logrotate for the package's snippet, the package's
# dependencies, since the VM has no network for apt). The result is cached by run.sh under a folder
# named after this script's hash: change anything here and the next run builds a fresh image.
#
#   build-image.sh OUTDIR        writes OUTDIR/root.qcow2, OUTDIR/vmlinuz, OUTDIR/initrd.img
set -euo pipefail

out=${1:?usage: build-image.sh OUTDIR}
[ "$(id -u)" = 0 ] || { echo "build-image.sh: debootstrap and mkfs need root" >&2; exit 1; }

# The mirror apt already uses on this machine (deb822 "URIs:" or one-line "deb URL bookworm"), so the
# image comes from the same place as every other package here.
mirror=${DEBIAN_MIRROR:-}
if [ -z "$mirror" ]; then
  mirror=$({ cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null || true; } |
    awk '/^URIs:/ && $2 ~ /\/debian\/?$/ {print $2; exit} /^deb / && $3 ~ /\/debian\/?$/ && $4 == "bookworm" {print $3; exit}')
fi
mirror=${mirror:-http://deb.debian.org/debian}

work=$(mktemp -d /var/tmp/takedown-vm-image.XXXXXX)
trap 'umount -R "$work/root/proc" "$work/root/sys" "$work/root/dev" 2>/dev/null || true; rm -rf "$work"' EXIT
root=$work/root

packages=(
  systemd systemd-sysv dbus procps init-system-helpers kmod
  linux-image-amd64 initramfs-tools
  ca-certificates openssl python3 logrotate
  libcurl4 libsqlite3-0 libpq5
)
echo "debootstrap bookworm from $mirror"
debootstrap --variant=minbase --include="$(IFS=,; echo "${packages[*]}")" bookworm "$root" "$mirror"

echo takedown-vm >"$root/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 takedown-vm\n' >"$root/etc/hosts"
# Root on the virtio disk; fsck pass 0: the image is fresh from mkfs each time.
printf '/dev/vda / ext4 rw,errors=remount-ro 0 0\n' >"$root/etc/fstab"
# A root shell on the serial console without a password: only reachable through qemu's stdio.
chroot "$root" passwd -d root >/dev/null
# The kernel's 9p client, for the shares that carry the binaries in and the results out.
printf '9p\n9pnet_virtio\n' >"$root/etc/modules-load.d/takedown-vmtest.conf"
install -d "$root/mnt/in" "$root/mnt/out"

# The runner: mounts the shares, waits until boot is complete, runs the test script the host put into
# the "in" share, and powers off. Type=simple and no After=multi-user.target: a oneshot ordered after
# multi-user.target would hold boot up and `is-system-running --wait` would never return.
cat >"$root/usr/local/sbin/takedown-vmtest" <<'RUNNER'
#!/bin/bash
set -uo pipefail
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144,ro tdin /mnt/in
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 tdout /mnt/out
echo "takedown-vmtest: waiting for boot to finish"
timeout 300 systemctl is-system-running --wait
echo "takedown-vmtest: system is $(systemctl is-system-running)"
bash /mnt/in/vm-test.sh /mnt/in /mnt/out >/mnt/out/test.log 2>&1
echo "exit $?" >/mnt/out/exit
journalctl -b --no-pager -o short-monotonic >/mnt/out/journal.txt 2>&1
sync
systemctl poweroff --no-block
RUNNER
chmod 0755 "$root/usr/local/sbin/takedown-vmtest"
cat >"$root/etc/systemd/system/takedown-vmtest.service" <<'UNIT'
[Unit]
Description=takedown VM test (issue 17): runs /mnt/in/vm-test.sh, then powers off
After=systemd-modules-load.service

[Service]
Type=simple
ExecStart=/usr/local/sbin/takedown-vmtest
StandardOutput=journal+console
StandardError=journal+console

[Install]
WantedBy=multi-user.target
UNIT
chroot "$root" systemctl enable takedown-vmtest.service >/dev/null 2>&1
# Nothing else should compete for the emulated CPUs while the test runs.
chroot "$root" systemctl mask e2scrub_all.timer e2scrub_reap.service apt-daily.timer apt-daily-upgrade.timer \
  >/dev/null 2>&1 || true
chroot "$root" apt-get clean

kernel=$(find "$root/boot" -maxdepth 1 -name 'vmlinuz-*' | sort | tail -n 1)
initrd=$(find "$root/boot" -maxdepth 1 -name 'initrd.img-*' | sort | tail -n 1)
if [ -z "$kernel" ] || [ -z "$initrd" ]; then echo "build-image.sh: no kernel or initrd in the image" >&2; exit 1; fi

mkdir -p "$out"
cp "$kernel" "$out/vmlinuz"
cp "$initrd" "$out/initrd.img"
mkfs.ext4 -q -F -L takedown-root -d "$root" "$work/root.ext4" 3G
qemu-img convert -O qcow2 "$work/root.ext4" "$out/root.qcow2"
du -sh "$out"
