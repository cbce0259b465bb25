#!/usr/bin/env bash
# Builds the Tidepool minimal Incus image: a static-busybox system container whose init
# brings eth0 up with udhcpc and serves HTTP on :8080 (the "IDE") and :3000 (an app port).
#
#   images/minimal/build.sh [OUTDIR]        (default OUTDIR: images/minimal/out)
#   images/minimal/build.sh --recipe        print only the recipe hash (no build)
#
# Produces OUTDIR/metadata.tar.gz (metadata.yaml + templates/) and OUTDIR/rootfs.tar.gz,
# ready for: incus image import OUTDIR/metadata.tar.gz OUTDIR/rootfs.tar.gz --alias tidepool-minimal
# and prints two lines: "recipe <hash>" and "fingerprint <sha256>".
#
# The build is reproducible (sorted tar, fixed owners and mtimes, gzip -n): the same recipe
# and the same busybox give the same fingerprint. The recipe hash (this script, rootfs/,
# templates/ and the busybox binary) is stored as the image property tidepool.recipe, so
# scripts/setup-host.sh can tell whether the imported image is current.
# Needs: bash, tar, gzip, sha256sum and a static busybox (Debian: busybox-static).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="${1:-$here/out}"
busybox="${BUSYBOX:-/bin/busybox}"

[ -x "$busybox" ] || { echo "build.sh: no busybox at $busybox (apt-get install busybox-static)" >&2; exit 1; }
ldd_out="$(LC_ALL=C ldd "$busybox" 2>&1 || true)"
if ! grep -q -e 'not a dynamic' -e 'statically linked' <<<"$ldd_out"; then
  echo "build.sh: $busybox is not statically linked" >&2; exit 1
fi

recipe="$(
  cd "$here"
  { sha256sum build.sh; find rootfs templates -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum; sha256sum "$busybox" | cut -d' ' -f1; } \
    | sha256sum | cut -c1-16
)"
if [ "$out" = --recipe ]; then echo "$recipe"; exit 0; fi
epoch="${SOURCE_DATE_EPOCH:-1700000000}"
arch="$(uname -m)"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
root="$work/rootfs"
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,run,tmp,root,var/log,srv/8080,srv/3000}
chmod 1777 "$root/tmp"
chmod 700 "$root/root"
cp "$busybox" "$root/bin/busybox"
chmod 755 "$root/bin/busybox"
# One symlink per applet, at the path busybox itself names (bin/sh, sbin/init, usr/bin/nc, ...).
while read -r applet; do
  [ -n "$applet" ] && [ "$applet" != bin/busybox ] || continue
  mkdir -p "$root/$(dirname "$applet")"
  ln -sf /bin/busybox "$root/$applet"
done < <("$busybox" --list-full | LC_ALL=C sort)
cp -a "$here/rootfs/." "$root/"
: > "$root/etc/resolv.conf"

mkdir -p "$work/meta/templates"
cp "$here"/templates/*.tpl "$work/meta/templates/"
cat > "$work/meta/metadata.yaml" <<EOF
architecture: $arch
creation_date: $epoch
properties:
  os: busybox
  release: "$("$busybox" 2>&1 | head -n1 | awk '{print $2}')"
  description: Tidepool minimal workspace (busybox, httpd on 8080 and 3000)
  tidepool.recipe: "$recipe"
templates:
  /srv/8080/index.html:
    when: [create, copy]
    template: index-8080.tpl
  /srv/3000/index.html:
    when: [create, copy]
    template: index-3000.tpl
  /etc/hostname:
    when: [create, copy]
    template: hostname.tpl
EOF

tarflags=(--sort=name --owner=0 --group=0 --numeric-owner --mtime="@$epoch"
  --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime)
mkdir -p "$out"
tar -C "$work/meta" "${tarflags[@]}" -cf - metadata.yaml templates | gzip -n -9 > "$out/metadata.tar.gz"
tar -C "$root" "${tarflags[@]}" -cf - . | gzip -n -9 > "$out/rootfs.tar.gz"

echo "recipe $recipe"
echo "fingerprint $(cat "$out/metadata.tar.gz" "$out/rootfs.tar.gz" | sha256sum | cut -d' ' -f1)"
