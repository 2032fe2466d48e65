#!/usr/bin/env bash
# `make systemd-test` (issue 17): boots a real systemd (Debian bookworm, systemd 252 as PID 1) in a qemu
# VM with software emulation, installs the package built from BIN_DIR's binaries there, and runs
# vm-test.sh inside. Passes only when the VM wrote a complete results file (its last line END) with no
# FAIL line before the timeout. The host's own systemd and cgroups are never touched: everything
# systemd does happens inside the VM, whose only network is its loopback (-nic none).
#
#   run.sh                 env: BIN_DIR (.build/release), VERSION (0.1.0), VM_TIMEOUT seconds (2400)
#
# The image is cached in .build-vm/image-HASH (HASH of build-image.sh); every run boots a copy-on-write
# overlay of it, so the cached image stays clean. Logs of the last run: .build-vm/last-run/
# (results.txt, test.log, journal.txt, console.log).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
bin_dir=${BIN_DIR:-.build/release}
version=${VERSION:-0.1.0}
timeout_s=${VM_TIMEOUT:-2400}
cache=$repo/.build-vm

for tool in qemu-system-x86_64 qemu-img debootstrap mkfs.ext4 openssl dpkg-deb dpkg-shlibdeps; do
  command -v "$tool" >/dev/null || {
    echo "systemd-test: $tool is missing. Run:  sudo apt-get install -y qemu-system-x86 qemu-utils debootstrap e2fsprogs openssl dpkg-dev" >&2
    exit 1
  }
done

# 1. The image, built once per version of build-image.sh.
key=$(sha256sum "$here/build-image.sh" | cut -c1-16)
image=$cache/image-$key
if [ ! -f "$image/root.qcow2" ]; then
  echo "systemd-test: building the VM image ($image)"
  t0=$SECONDS
  rm -rf "$image.tmp"
  bash "$here/build-image.sh" "$image.tmp"
  find "$cache" -maxdepth 1 -name 'image-*' ! -name "image-$key*" -exec rm -rf {} +
  mv "$image.tmp" "$image"
  echo "systemd-test: image built in $((SECONDS - t0)) s"
fi

# 2. What goes in: two packages (the previous version, to upgrade from), the test CA and the site's
# certificate, the scripts. What comes out: results.txt, test.log, journal.txt.
run=$cache/last-run
rm -rf "$run"
mkdir -p "$run/in/tls" "$run/out"
prev_version="$version~vmtest.prev"
t0=$SECONDS
# The package to upgrade from only needs a lower version: gzip builds it in a fraction of xz's time.
DEB_COMPRESSION=gzip bash "$repo/packaging/build-deb.sh" "$prev_version" "$bin_dir" "$run/in"
bash "$repo/packaging/build-deb.sh" "$version" "$bin_dir" "$run/in"
echo "systemd-test: packages built in $((SECONDS - t0)) s"
cat >"$run/in/versions.env" <<EOF
PREV_DEB=takedown_${prev_version}_amd64.deb
NEW_DEB=takedown_${version}_amd64.deb
NEW_VERSION=$version
EOF
tls=$run/in/tls
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=takedown VM test CA" \
  -keyout "$tls/ca.key" -out "$tls/ca.crt" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=takedown-test.internal" \
  -keyout "$tls/server.key" -out "$tls/server.csr" 2>/dev/null
printf 'subjectAltName=DNS:takedown-test.internal\nextendedKeyUsage=serverAuth\n' >"$tls/ext.cnf"
openssl x509 -req -in "$tls/server.csr" -CA "$tls/ca.crt" -CAkey "$tls/ca.key" -CAcreateserial -days 2 \
  -extfile "$tls/ext.cnf" -out "$tls/server.crt" 2>/dev/null
rm -f "$tls/ca.key" "$tls/server.csr" "$tls/ext.cnf" "$tls/ca.srl"
chmod 0644 "$tls"/*
install -m 0644 "$here/vm-test.sh" "$here/testsite.py" "$here/metrics-client.py" "$run/in/"

# 3. Boot. The VM powers itself off when vm-test.sh is done; a hung VM is killed at the timeout.
qemu-img create -q -f qcow2 -F qcow2 -b "$image/root.qcow2" "$run/overlay.qcow2"
echo "systemd-test: booting (software emulation; serial console in $run/console.log)"
t0=$SECONDS
set +e
timeout --kill-after=15 "$timeout_s" qemu-system-x86_64 \
  -accel tcg,thread=multi -cpu max -smp 2 -m 2G -nographic -no-reboot -nic none \
  -kernel "$image/vmlinuz" -initrd "$image/initrd.img" \
  -append 'console=ttyS0 root=/dev/vda rw panic=-1' \
  -drive "file=$run/overlay.qcow2,if=virtio,format=qcow2" \
  -virtfs "local,path=$run/in,mount_tag=tdin,security_model=none,readonly=on" \
  -virtfs "local,path=$run/out,mount_tag=tdout,security_model=none" \
  </dev/null >"$run/console.log" 2>&1
qemu_status=$?
set -e
elapsed=$((SECONDS - t0))
rm -f "$run/overlay.qcow2"

# 4. The verdict: the VM must have finished, written END, and no FAIL.
results=$run/out/results.txt
problems=()
if [ "$qemu_status" = 124 ] || [ "$qemu_status" = 137 ]; then
  problems+=("the VM did not power off within ${timeout_s} s and was killed")
elif [ "$qemu_status" != 0 ]; then
  problems+=("qemu exited with status $qemu_status")
fi
if [ ! -s "$results" ]; then
  problems+=("no results file: the test never ran or died at once")
else
  cat "$results"
  [ "$(tail -n 1 "$results")" = END ] || problems+=("the results file is incomplete (no END line)")
  fails=$(grep -c '^FAIL ' "$results" || true)
  passes=$(grep -c '^PASS ' "$results" || true)
  [ "$fails" = 0 ] || problems+=("$fails of $((fails + passes)) checks failed")
  [ "$passes" -gt 0 ] || problems+=("no check passed")
fi
echo "systemd-test: VM ran ${elapsed} s; logs in $run/out (test.log, journal.txt) and $run/console.log"
if [ "${#problems[@]}" -gt 0 ]; then
  for p in "${problems[@]}"; do echo "systemd-test: FAILED: $p" >&2; done
  echo "--- last lines of the serial console ---" >&2
  tail -n 30 "$run/console.log" >&2 || true
  exit 1
fi
echo "systemd-test: all $passes checks passed"
