#!/usr/bin/env bash
# Builds the image of an Incus cluster member for the cluster lab (scripts/cluster-lab.sh): a
# Debian bookworm system container with systemd, systemd-networkd and Incus from
# bookworm-backports, meant to run privileged and nested. It carries no workspace image and
# fetches nothing: the lab imports the host's test image into the cluster.
#
#   images/cluster-member/build.sh --recipe          print the recipe hash only (no build)
#   images/cluster-member/build.sh PHASE WORKDIR     run one phase: rootfs | configure | pack
#
# What the member gets, and why:
#   - eth0 by DHCP (the lab's host bridge hands each member a fixed lease): cluster traffic;
#     eth1 up with no address: the uplink of the workspaces' bridge (one flat L2 on the host).
#   - /etc/resolv.conf -> 127.0.0.1 (nothing answers): nothing in a member resolves names
#     outside this machine, whatever a nested incusd tries.
#   - tplab-cgroup.service, before incus: this host's kernel mounts cpu and cpuacct as two
#     cgroup v1 hierarchies; systemd 252 in the member links both to a combined one that does
#     not exist and nested launches fail ("Failed to open 9/cpuacct"). It mounts each for real.
#   - net.ipv4.ip_forward=1.
# The recipe hash covers this file; it is stored in the image as the property tidepool.recipe.
# Needs (root): mmdebstrap, zstd, tar; the host's Debian mirror (its apt sources).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SUITE=bookworm
PACKAGES="systemd systemd-sysv dbus iproute2 ca-certificates incus-base incus-client dnsmasq-base procps nftables zstd xz-utils"

recipe_hash() {
  (cd "$here" && find . -type f ! -name '*.md' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)
}

phase="${1:-}"
if [ "$phase" = --recipe ]; then recipe_hash; exit 0; fi
[ $# = 2 ] || { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 64; }
work="$2"
root="$work/rootfs"
[ "$(id -u)" = 0 ] || { echo "build.sh: must run as root (mmdebstrap)" >&2; exit 1; }

host_mirror() {
  if [ -n "${TIDEPOOL_DEBIAN_MIRROR:-}" ]; then echo "$TIDEPOOL_DEBIAN_MIRROR"; return; fi
  local m
  m="$(awk 'BEGIN { RS=""; FS="\n" } {
      u=""; ok=0
      for (i = 1; i <= NF; i++) {
        if ($i ~ /^URIs:/) { u = $i; sub(/^URIs:[ \t]*/, "", u); split(u, a, /[ \t]+/); u = a[1] }
        if ($i ~ /^Suites:/ && $i ~ /[ \t]bookworm([ \t]|$)/) ok = 1
      }
      if (ok && u != "") { print u; exit } }' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)"
  if [ -z "$m" ] && [ -f /etc/apt/sources.list ]; then
    m="$(awk '$1 == "deb" && $3 == "bookworm" { print $2; exit }' /etc/apt/sources.list)"
  fi
  echo "${m:-http://deb.debian.org/debian}"
}

phase_rootfs() {
  local mirror
  mirror="$(host_mirror)"
  rm -rf "$root"
  # Incus and the libraries it needs exist only in backports: pin them there for the build.
  mmdebstrap --variant=apt --mode=root --components=main \
    --include="${PACKAGES// /,}" \
    --aptopt='APT::Install-Recommends "false"' \
    --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --setup-hook='mkdir -p "$1/etc/apt/preferences.d" && printf "Package: incus* libcowsql* libraft* liblxc* lxcfs* libsqlite3*\nPin: release n=bookworm-backports\nPin-Priority: 990\n" > "$1/etc/apt/preferences.d/incus"' \
    "$SUITE" "$root" \
    "deb $mirror $SUITE main" \
    "deb $mirror $SUITE-updates main" \
    "deb $mirror $SUITE-backports main" \
    "deb ${mirror%/debian}/debian-security $SUITE-security main"
}

phase_configure() {
  local net="$root/etc/systemd/network"
  mkdir -p "$net"
  printf '[Match]\nName=eth0\n\n[Network]\nDHCP=ipv4\nLinkLocalAddressing=no\n' > "$net/10-eth0.network"
  printf '[Match]\nName=eth1\n\n[Link]\nRequiredForOnline=no\n\n[Network]\nLinkLocalAddressing=no\nConfigureWithoutCarrier=yes\n' > "$net/20-eth1.network"
  ln -sf /lib/systemd/system/systemd-networkd.service "$root/etc/systemd/system/multi-user.target.wants/systemd-networkd.service"
  rm -f "$root/etc/resolv.conf"
  echo 'nameserver 127.0.0.1' > "$root/etc/resolv.conf"
  echo 'net.ipv4.ip_forward=1' > "$root/etc/sysctl.d/90-tplab.conf"
  cat > "$root/usr/local/sbin/tplab-cgroup" <<'SH'
#!/bin/sh
# Mounts cpu and cpuacct as the separate cgroup v1 hierarchies this host's kernel has (see build.sh).
set -e
[ -d /sys/fs/cgroup ] || exit 0
grep -q ' /sys/fs/cgroup cgroup2 ' /proc/mounts && exit 0
mount -o remount,rw /sys/fs/cgroup
for c in cpu cpuacct; do
  if [ -L "/sys/fs/cgroup/$c" ] || ! mountpoint -q "/sys/fs/cgroup/$c"; then
    rm -f "/sys/fs/cgroup/$c"; mkdir -p "/sys/fs/cgroup/$c"
    mount -t cgroup -o "$c" cgroup "/sys/fs/cgroup/$c"
  fi
done
mount -o remount,ro /sys/fs/cgroup
SH
  chmod 755 "$root/usr/local/sbin/tplab-cgroup"
  cat > "$root/etc/systemd/system/tplab-cgroup.service" <<'UNIT'
[Unit]
Description=cgroup v1 cpu and cpuacct as separate hierarchies (cluster lab)
DefaultDependencies=no
Before=incus.service incus.socket incus-startup.service
After=local-fs.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/local/sbin/tplab-cgroup

[Install]
WantedBy=sysinit.target
UNIT
  mkdir -p "$root/etc/systemd/system/sysinit.target.wants"
  ln -sf ../tplab-cgroup.service "$root/etc/systemd/system/sysinit.target.wants/tplab-cgroup.service"
  echo tpl-member > "$root/etc/hostname"
  rm -rf "$root/var/lib/apt/lists/"* "$root/var/cache/apt/"*.bin "$root/var/log/"*.log "$root/tmp/"*
}

phase_pack() {
  local out="$work/out" epoch
  rm -rf "$out"; mkdir -p "$out/meta/templates"
  epoch="${SOURCE_DATE_EPOCH:-1700000000}"
  printf '{{ container.name }}\n' > "$out/meta/templates/hostname.tpl"
  cat > "$out/meta/metadata.yaml" <<META
architecture: $(uname -m)
creation_date: $epoch
properties:
  os: debian
  release: $SUITE
  description: Tidepool cluster-lab member (Debian $SUITE, Incus from backports)
  tidepool.recipe: "$(recipe_hash)"
templates:
  /etc/hostname:
    when: [create, copy]
    template: hostname.tpl
META
  local tarflags=(--sort=name --numeric-owner --mtime="@$epoch")
  tar -C "$out/meta" "${tarflags[@]}" --owner=0 --group=0 -cf - metadata.yaml templates | zstd -q -19 -o "$out/metadata.tar.zst"
  tar -C "$root" "${tarflags[@]}" --xattrs --xattrs-include='*' -cf - . | zstd -q -T0 -6 -o "$out/rootfs.tar.zst"
  rm -rf "$out/meta"
  echo "fingerprint $(cat "$out/metadata.tar.zst" "$out/rootfs.tar.zst" | sha256sum | cut -d' ' -f1)"
}

case "$phase" in
  rootfs) phase_rootfs ;;
  configure) phase_configure ;;
  pack) phase_pack ;;
  *) echo "build.sh: unknown phase '$phase' (rootfs, configure, pack)" >&2; exit 64 ;;
esac
