#!/usr/bin/env bash
# Tidepool host setup for Debian 12 (bookworm), run as root. Idempotent: every step checks
# first and changes only what is missing or different, and says what it changed. On a host
# that is already set up it takes a second or two and changes nothing.
#
# What it does to the host:
#   1. apt: adds /etc/apt/sources.list.d/tidepool-bookworm-backports.sources (bookworm-backports,
#      same mirror and Signed-By keyring as the existing Debian source) unless some source
#      already provides bookworm-backports; runs apt-get update only when that file is new or
#      the backports index is missing; installs what is missing of:
#        incus (from bookworm-backports, --no-install-recommends), dnsmasq-base, busybox-static, caddy,
#        btrfs-progs (where the kernel has btrfs), nftables (the bridge filter), mmdebstrap and zstd
#        (to build the IDE image)
#   1b. the bridge filter (scripts/bridge-filter.sh): an nftables table `inet tidepool-$TIDEPOOL_BRIDGE`
#       that lets workspaces reach on this host only DHCP, DNS on the bridge address and ICMP, and
#       refuses the rest (every listener bound to all interfaces: Caddy's ports, anything else);
#       created or updated when missing or different, before incusd starts its containers.
#   2. incusd: when the daemon does not answer, starts `/usr/libexec/incus/incusd --group root`
#      in the background (works without systemd), logging to $TIDEPOOL_INCUSD_LOG, then waits
#      with `incus admin waitready`.
#   3. Incus objects, created if missing (and corrected if a key differs):
#        storage pool $TIDEPOOL_POOL: btrfs on a loop file of $TIDEPOOL_POOL_SIZE where the kernel
#          has btrfs (launches and copies are copy-on-write), `dir` otherwise (every launch
#          copies the whole image); an existing pool is kept whatever its driver
#        bridge $TIDEPOOL_BRIDGE: ipv4.address=$TIDEPOOL_SUBNET ipv4.nat=true ipv6.address=none
#        profile $TIDEPOOL_PROFILE: root disk on the pool, eth0 on the bridge with
#          security.port_isolation=true (workspaces cannot reach each other; the host reaches all)
#   4. the minimal test image (images/minimal) built and imported as $TIDEPOOL_IMAGE_ALIAS when
#      the alias is missing or its recipe changed (the old image is then removed).
#   5. the IDE image (images/ide, the `default` template) built and imported as
#      $TIDEPOOL_IDE_ALIAS the same way, by scripts/ide-image.sh, with progress (~4 min).
#
# Usage: scripts/setup-host.sh [--check] [--no-apt] [--no-image] [--no-ide-image] [--rebuild-image] [--with-chromium] [-h]
#   --check          report what would change, change nothing; exit 1 if something would
#   --no-apt         skip step 1 (packages already installed some other way)
#   --no-image       skip steps 4 and 5
#   --no-ide-image   skip step 5
#   --with-chromium  also install Debian's chromium and prometheus (the UI's end-to-end test drives
#                    chromium, the monitoring test runs its own prometheus on loopback; `make test` asks for it)
#   --rebuild-image  rebuild and re-import both images even when they are current (`make image`)
# Environment (defaults):
#   TIDEPOOL_POOL=tidepool  TIDEPOOL_POOL_SIZE=60GiB (at most the free space less 5 GiB)
#   TIDEPOOL_POOL_DRIVER=auto (btrfs where possible, else dir; or force btrfs or dir for a new pool)
#   TIDEPOOL_BRIDGE=tpbr0  TIDEPOOL_SUBNET=10.77.0.1/24
#   TIDEPOOL_PROFILE=tidepool  TIDEPOOL_IMAGE_ALIAS=tidepool-minimal  TIDEPOOL_IDE_ALIAS=tidepool-ide
#   TIDEPOOL_INCUSD_LOG=/var/log/incus/incusd.log  TIDEPOOL_WAITREADY_TIMEOUT=60
set -euo pipefail
# The whole script is one { } block: bash parses it before running any of it, so an edit
# of this file while it runs (a build takes minutes) cannot make it run half-old, half-new code.
{

POOL="${TIDEPOOL_POOL:-tidepool}"
BRIDGE="${TIDEPOOL_BRIDGE:-tpbr0}"
SUBNET="${TIDEPOOL_SUBNET:-10.77.0.1/24}"
PROFILE="${TIDEPOOL_PROFILE:-tidepool}"
ALIAS="${TIDEPOOL_IMAGE_ALIAS:-tidepool-minimal}"
INCUSD_LOG="${TIDEPOOL_INCUSD_LOG:-/var/log/incus/incusd.log}"
WAITREADY="${TIDEPOOL_WAITREADY_TIMEOUT:-60}"
BACKPORTS_FILE=/etc/apt/sources.list.d/tidepool-bookworm-backports.sources

POOL_SIZE="${TIDEPOOL_POOL_SIZE:-60GiB}"
POOL_DRIVER="${TIDEPOOL_POOL_DRIVER:-auto}"

check=0 apt=1 image=1 ide_image=1 rebuild=0 chromium=0
for arg in "$@"; do
  case "$arg" in
    --check) check=1 ;;
    --no-apt) apt=0 ;;
    --no-image) image=0 ide_image=0 ;;
    --no-ide-image) ide_image=0 ;;
    --with-chromium) chromium=1 ;;
    --rebuild-image) rebuild=1 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "setup-host: unknown argument $arg (try --help)" >&2; exit 64 ;;
  esac
done

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
t0=$(date +%s.%N)
changes=0
say() { echo "setup-host: $*"; }
# change DESCRIPTION CMD...: runs CMD (or only reports it under --check) and counts the change.
change() {
  local what="$1"; shift
  changes=$((changes + 1))
  if [ "$check" = 1 ]; then say "would: $what"; return 0; fi
  say "$what"
  "$@"
}
die() { echo "setup-host: error: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root"
if [ -r /etc/os-release ]; then . /etc/os-release; fi
[ "${VERSION_CODENAME:-}" = bookworm ] || say "warning: written for Debian 12 bookworm, this is ${PRETTY_NAME:-unknown}"

# ---------------------------------------------------------------- 1. packages
pkg_installed() { [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]; }
# The running kernel can mount btrfs (built in, or as a module it can load).
kernel_btrfs() { grep -qw btrfs /proc/filesystems || { modprobe btrfs 2>/dev/null && grep -qw btrfs /proc/filesystems; }; }

# The URIs and Signed-By of the existing Debian (bookworm) source, deb822 or one-line format.
debian_source() {
  local f uris="" signed=""
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    # first stanza whose Suites has "bookworm" as a word
    read -r uris signed < <(awk '
      BEGIN { RS=""; FS="\n" }
      {
        u=""; s=""; ok=0
        for (i = 1; i <= NF; i++) {
          if ($i ~ /^URIs:/)      { u = $i; sub(/^URIs:[ \t]*/, "", u) }
          if ($i ~ /^Signed-By:/) { s = $i; sub(/^Signed-By:[ \t]*/, "", s) }
          if ($i ~ /^Suites:/ && $i ~ /[ \t]bookworm([ \t]|$)/) ok = 1
        }
        if (ok && u != "") { split(u, a, /[ \t]+/); print a[1], (s == "" ? "-" : s); exit }
      }' "$f") || true
    [ -n "$uris" ] && break
  done
  if [ -z "$uris" ] && [ -f /etc/apt/sources.list ]; then
    read -r uris signed < <(awk '$1 == "deb" && $0 !~ /security/ {
        s = "-"; if (match($0, /signed-by=[^] ]+/)) s = substr($0, RSTART + 10, RLENGTH - 10)
        for (i = 2; i <= NF; i++) if ($i ~ /^(https?|ftp|file|cdrom|mirror)/) { u = $i; break }
        if (u != "" && $(i + 1) == "bookworm") { print u, s; exit } }' /etc/apt/sources.list) || true
  fi
  [ -n "$uris" ] || return 1
  [ "$signed" != "-" ] || signed=/usr/share/keyrings/debian-archive-keyring.gpg
  echo "$uris $signed"
}

has_backports_source() {
  grep -rqsE '(^|[[:space:]])bookworm-backports([[:space:]]|$)' /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources
}

if [ "$apt" = 1 ]; then
  need_update=0
  if ! has_backports_source; then
    read -r mirror keyring < <(debian_source) || die "no Debian bookworm source found in /etc/apt to copy the mirror from"
    write_backports() {
      printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: %s\n' "$mirror" "$keyring" > "$BACKPORTS_FILE"
    }
    change "add apt source $BACKPORTS_FILE ($mirror bookworm-backports, $keyring)" write_backports
    need_update=1
  fi
  if ! ls /var/lib/apt/lists/*_dists_bookworm-backports_InRelease >/dev/null 2>&1; then need_update=1; fi

  missing_bp=() missing=()
  pkg_installed incus || missing_bp+=(incus)
  for p in dnsmasq-base busybox-static caddy nftables; do pkg_installed "$p" || missing+=("$p"); done
  # btrfs-progs: Incus needs it for a btrfs pool (new or existing), where the kernel has btrfs.
  if kernel_btrfs; then pkg_installed btrfs-progs || missing+=(btrfs-progs); fi
  if [ "$ide_image" = 1 ]; then for p in mmdebstrap zstd; do pkg_installed "$p" || missing+=("$p"); done; fi
  if [ "$chromium" = 1 ]; then for p in chromium prometheus; do pkg_installed "$p" || missing+=("$p"); done; fi
  if [ $(( ${#missing_bp[@]} + ${#missing[@]} )) -gt 0 ]; then
    if [ "$need_update" = 1 ]; then change "apt-get update" apt-get update -qq; need_update=0; fi
    export DEBIAN_FRONTEND=noninteractive
    if [ ${#missing[@]} -gt 0 ]; then
      change "apt-get install ${missing[*]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
    fi
    if [ ${#missing_bp[@]} -gt 0 ]; then
      change "apt-get install -t bookworm-backports ${missing_bp[*]}" \
        apt-get install -y -qq -t bookworm-backports --no-install-recommends "${missing_bp[@]}"
    fi
  elif [ "$need_update" = 1 ]; then
    # Packages are all there; refresh the new index anyway so later installs see backports.
    change "apt-get update (backports index missing)" apt-get update -qq
  fi
fi

command -v incus >/dev/null || { [ "$check" = 1 ] && { say "would: everything below (incus not installed yet)"; exit 1; }; die "incus is not installed (run without --no-apt)"; }

# ---------------------------------------------------------------- 1b. bridge filter
# Before incusd: a reboot clears nftables, and incusd restarts the containers that were running,
# so the filter goes in first. It matches the bridge by name and needs nothing from Incus.
filter=("$repo/scripts/bridge-filter.sh")
if ! command -v nft >/dev/null; then
  if [ "$check" = 1 ]; then change "bridge filter on $BRIDGE (nft not installed yet)" true
  else die "nft is not installed (run without --no-apt, or apt-get install nftables)"; fi
elif ! "${filter[@]}" check "$BRIDGE" "${SUBNET%/*}"; then
  change "bridge filter on $BRIDGE: workspaces reach only DHCP, DNS and ICMP on this host" \
    "${filter[@]}" ensure "$BRIDGE" "${SUBNET%/*}"
fi

# ---------------------------------------------------------------- 2. incusd
incus_up() { timeout 5 incus query /1.0 >/dev/null 2>&1; }
start_incusd() {
  mkdir -p "$(dirname "$INCUSD_LOG")"
  local bin=/usr/libexec/incus/incusd
  [ -x "$bin" ] || bin="$(command -v incusd || true)"
  [ -n "$bin" ] || die "incusd binary not found"
  # setsid + nohup: the daemon outlives this script and its terminal; no systemd here.
  setsid nohup "$bin" --group root >>"$INCUSD_LOG" 2>&1 < /dev/null &
  say "incusd started (pid $!, log $INCUSD_LOG)"
  incus admin waitready --timeout "$WAITREADY" || die "incusd did not become ready in ${WAITREADY}s; see $INCUSD_LOG"
}
if ! incus_up; then
  if [ "$check" = 1 ]; then say "would: start incusd"; say "would: everything below (incusd not running)"; exit 1; fi
  change "start incusd" start_incusd
fi

# ---------------------------------------------------------------- 3. pool, bridge, profile
# ensure_key KIND NAME KEY VALUE: `incus KIND get/set` one config key when it differs.
ensure_key() {
  local kind="$1" name="$2" key="$3" want="$4" have
  have="$(incus "$kind" get "$name" "$key" 2>/dev/null || true)"
  [ "$have" = "$want" ] || change "$kind $name: $key=$want (was '${have}')" incus "$kind" set "$name" "$key=$want"
}

# The loop file's size in GiB: POOL_SIZE, but never more than the free space under
# /var/lib/incus less 5 GiB (the file is sparse: a pool that outgrows the disk fills the host).
btrfs_size() {
  local want_gib free_gib
  want_gib="$(echo "$POOL_SIZE" | sed -n 's/^\([0-9]\{1,\}\)GiB$/\1/p')"
  [ -n "$want_gib" ] || die "TIDEPOOL_POOL_SIZE must look like 60GiB (got '$POOL_SIZE')"
  mkdir -p /var/lib/incus
  free_gib=$(( $(df -Pk /var/lib/incus | awk 'NR == 2 { print $4 }') / 1024 / 1024 - 5 ))
  [ "$free_gib" -lt "$want_gib" ] && want_gib="$free_gib"
  echo "$want_gib"
}
create_pool() {
  local gib
  case "$POOL_DRIVER" in
    dir) incus storage create "$POOL" dir >/dev/null; say "storage pool $POOL: dir (TIDEPOOL_POOL_DRIVER=dir)"; return 0 ;;
    auto|btrfs) ;;
    *) die "TIDEPOOL_POOL_DRIVER must be auto, btrfs or dir (got '$POOL_DRIVER')" ;;
  esac
  if kernel_btrfs && command -v mkfs.btrfs >/dev/null; then
    gib="$(btrfs_size)"
    if [ "$gib" -ge 10 ]; then
      if incus storage create "$POOL" btrfs "size=${gib}GiB" >/dev/null; then
        say "storage pool $POOL: btrfs on a ${gib} GiB loop file (copy-on-write launches, copies and snapshots)"
        return 0
      fi
      [ "$POOL_DRIVER" = btrfs ] && die "creating the btrfs pool $POOL failed (TIDEPOOL_POOL_DRIVER=btrfs)"
      say "note: creating a btrfs pool failed (no loop devices here?); falling back to dir"
    else
      say "note: only ${gib} GiB free for a btrfs loop file (need 10); falling back to dir"
    fi
  else
    say "note: no btrfs on this host (kernel module or btrfs-progs missing); falling back to dir"
  fi
  [ "$POOL_DRIVER" = btrfs ] && die "no btrfs pool possible here, see above (TIDEPOOL_POOL_DRIVER=btrfs)"
  incus storage create "$POOL" dir >/dev/null
  say "storage pool $POOL: dir (every workspace gets a full copy of its image; README \"Storage\" says how to move to btrfs)"
}
if ! incus storage show "$POOL" >/dev/null 2>&1; then
  change "create storage pool $POOL (btrfs where the host has it, else dir)" create_pool
else
  driver="$(incus storage list --format csv -c nD 2>/dev/null | awk -F, -v p="$POOL" '$1 == p { print $2 }')"
  case "$driver" in
    "") ;;
    dir) say "note: storage pool $POOL uses dir (kept as is): every workspace copies its whole image; README \"Storage\" says how to move to btrfs" ;;
    *) say "storage pool $POOL: $driver (kept)" ;;
  esac
fi

if ! incus network show "$BRIDGE" >/dev/null 2>&1; then
  change "create bridge $BRIDGE ($SUBNET, NAT, no IPv6)" \
    incus network create "$BRIDGE" "ipv4.address=$SUBNET" ipv4.nat=true ipv6.address=none
else
  ensure_key network "$BRIDGE" ipv4.address "$SUBNET"
  ensure_key network "$BRIDGE" ipv4.nat true
  ensure_key network "$BRIDGE" ipv6.address none
fi

# ensure_device PROFILE DEVICE TYPE KEY=VALUE...: add the device, or set the keys that differ.
ensure_device() {
  local profile="$1" dev="$2" type="$3"; shift 3
  if ! incus profile device get "$profile" "$dev" type >/dev/null 2>&1; then
    change "profile $profile: add $type device $dev ($*)" incus profile device add "$profile" "$dev" "$type" "$@"
    return
  fi
  local kv key want have
  for kv in "$@"; do
    key="${kv%%=*}" want="${kv#*=}"
    have="$(incus profile device get "$profile" "$dev" "$key" 2>/dev/null || true)"
    [ "$have" = "$want" ] || change "profile $profile: $dev.$key=$want (was '${have}')" \
      incus profile device set "$profile" "$dev" "$key=$want"
  done
}
if ! incus profile show "$PROFILE" >/dev/null 2>&1; then
  if [ "$check" = 1 ]; then
    change "create profile $PROFILE (root on $POOL, eth0 on $BRIDGE with port isolation)" true
  else
    change "create profile $PROFILE" incus profile create "$PROFILE"
    incus profile set "$PROFILE" user.tidepool.profile=true >/dev/null 2>&1 || true
  fi
fi
if incus profile show "$PROFILE" >/dev/null 2>&1; then
  ensure_device "$PROFILE" root disk path=/ "pool=$POOL"
  ensure_device "$PROFILE" eth0 nic "network=$BRIDGE" name=eth0 security.port_isolation=true
fi

# ---------------------------------------------------------------- 4. minimal image
if [ "$image" = 1 ]; then
  if ! pkg_installed busybox-static && [ ! -x /bin/busybox ]; then die "busybox-static is not installed"; fi
  current=""
  if incus image show "$ALIAS" >/dev/null 2>&1; then
    current="$(incus image show "$ALIAS" | awk '$1 == "tidepool.recipe:" { gsub(/"/, "", $2); print $2 }')"
  fi
  want="$("$repo/images/minimal/build.sh" --recipe)"
  if [ "$rebuild" = 1 ] || [ "$current" != "$want" ]; then
    import_image() {
      local out old fp
      out="$(mktemp -d)"
      "$repo/images/minimal/build.sh" "$out" > "$out/build.log"
      fp="$(awk '$1 == "fingerprint" { print $2 }' "$out/build.log")"
      old="$(incus image info "$ALIAS" 2>/dev/null | awk '$1 == "Fingerprint:" { print $2 }' || true)"
      if incus image info "$fp" >/dev/null 2>&1; then
        say "image $fp already present; pointing $ALIAS at it"
      else
        incus image import "$out/metadata.tar.gz" "$out/rootfs.tar.gz" >/dev/null
      fi
      if [ -n "$old" ]; then
        incus image alias delete "$ALIAS" >/dev/null 2>&1 || true
      fi
      incus image alias create "$ALIAS" "$fp" >/dev/null
      if [ -n "$old" ] && [ "$old" != "$fp" ]; then
        # Instances keep their own copy of the rootfs; the old image is only a cache.
        incus image delete "$old" >/dev/null 2>&1 && say "removed old image ${old:0:12}" || true
      fi
      rm -rf "$out"
      say "image $ALIAS -> ${fp:0:12} (recipe $want)"
    }
    change "build and import image $ALIAS (recipe ${current:-none} -> $want)" import_image
  fi
fi

# ---------------------------------------------------------------- 5. IDE image
if [ "$ide_image" = 1 ]; then
  ide=("$repo/scripts/ide-image.sh")
  [ "$rebuild" = 1 ] && ide+=(--force)
  if [ "$check" = 1 ]; then
    "${ide[@]}" --check || changes=$((changes + 1))
  elif out="$("${ide[@]}" --check 2>&1)"; then
    echo "$out"   # current: it says so and builds nothing
  else
    changes=$((changes + 1))
    "${ide[@]}" || die "the IDE image was not built (see above)"
  fi
fi

t1=$(date +%s.%N)
secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
if [ "$check" = 1 ]; then
  if [ "$changes" = 0 ]; then say "host is set up (checked in ${secs}s)"; exit 0; fi
  say "$changes change(s) needed"; exit 1
fi
if [ "$changes" = 0 ]; then say "nothing to do, host already set up (${secs}s)"; else say "done: $changes change(s) in ${secs}s"; fi
exit
}
