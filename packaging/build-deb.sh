#!/usr/bin/env bash
# Builds takedown_VERSION_amd64.deb from binaries that are already built (`make deb` builds the static
# release first): `make install` lays the files out under /usr (the unit under /lib/systemd/system, as
# bookworm's debhelper does), then this adds the Debian parts from packaging/deb and runs dpkg-deb.
#
#   build-deb.sh VERSION BIN_DIR OUTDIR      env: DEB_COMPRESSION (xz; gzip: faster, larger)
set -euo pipefail

version=${1:?usage: build-deb.sh VERSION BIN_DIR OUTDIR}
bin_dir=${2:?usage: build-deb.sh VERSION BIN_DIR OUTDIR}
out=${3:?usage: build-deb.sh VERSION BIN_DIR OUTDIR}
repo=$(cd "$(dirname "$0")/.." && pwd)
deb=$repo/packaging/deb
case $bin_dir in /*) ;; *) bin_dir=$repo/$bin_dir ;; esac

# Reproducible: every timestamp is the last commit's.
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git -C "$repo" log -1 --format=%ct 2>/dev/null || date +%s)}
export SOURCE_DATE_EPOCH

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
stage=$work/takedown

# An outer make (make deb) would hand its jobserver and variables down through MAKEFLAGS.
MAKEFLAGS='' MAKELEVEL='' make --no-print-directory -C "$repo" install DESTDIR="$stage" PREFIX=/usr \
  UNITDIR=/lib/systemd/system ZSHCOMPDIR=/usr/share/zsh/vendor-completions BIN_DIR="$bin_dir" >/dev/null

# As dh_strip does for executables. The Swift runtime finds its metadata through sections, not symbols.
strip --remove-section=.comment --remove-section=.note "$stage/usr/bin/takedownd" "$stage/usr/bin/takedownctl"
gzip -9n "$stage/usr/share/man/man8/takedownd.8" "$stage/usr/share/man/man1/takedownctl.1"
# bash-completion sources the file: the #! line argument-parser writes is noise (lintian says so).
sed -i '1{/^#!/d}' "$stage/usr/share/bash-completion/completions/takedownctl"

install -D -m 0644 "$deb/logrotate" "$stage/etc/logrotate.d/takedown"
doc=$stage/usr/share/doc/takedown
install -D -m 0644 "$deb/copyright" "$doc/copyright"
install -m 0644 "$repo/README.md" "$doc/README.md"
gzip -9n "$doc/README.md"
sed -e "s/@VERSION@/$version/" -e "s/@DATE@/$(date -R -u -d "@$SOURCE_DATE_EPOCH")/" "$deb/changelog" |
  gzip -9n >"$doc/changelog.gz"
chmod 0644 "$doc/changelog.gz"

# Dependencies from the libraries the binaries really link (the Swift runtime is static): dpkg-shlibdeps
# reads each library's shlibs/symbols file and wants a debian/control to run in.
mkdir -p "$work/src/debian"
printf 'Source: takedown\n\nPackage: takedown\nArchitecture: amd64\n' >"$work/src/debian/control"
depends=$(cd "$work/src" && dpkg-shlibdeps -O "$stage/usr/bin/takedownd" "$stage/usr/bin/takedownctl" 2>/dev/null |
  sed -n 's/^shlibs:Depends=//p')
[ -n "$depends" ] || { echo "build-deb.sh: dpkg-shlibdeps found no dependencies" >&2; exit 1; }

install -d -m 0755 "$stage/DEBIAN"
sed -e "s/@VERSION@/$version/" -e "s/@DEPENDS@/$depends/" \
  -e "s/@INSTALLED_SIZE@/$(du -sk --apparent-size "$stage" | cut -f1)/" "$deb/control.in" >"$stage/DEBIAN/control"
printf '/etc/logrotate.d/takedown\n/etc/takedown/takedown.toml\n' >"$stage/DEBIAN/conffiles"
install -m 0755 "$deb/postinst" "$deb/prerm" "$deb/postrm" "$stage/DEBIAN/"
(cd "$stage" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z | xargs -0 md5sum) >"$stage/DEBIAN/md5sums"
chmod 0644 "$stage/DEBIAN/control" "$stage/DEBIAN/conffiles" "$stage/DEBIAN/md5sums"

find "$stage" -type d -exec chmod 0755 {} +
find "$stage" -exec touch --no-dereference -d "@$SOURCE_DATE_EPOCH" {} +
mkdir -p "$out"
dpkg-deb --root-owner-group "-Z${DEB_COMPRESSION:-xz}" --build "$stage" "$out/takedown_${version}_amd64.deb" >/dev/null
echo "$out/takedown_${version}_amd64.deb (Depends: $depends)"
