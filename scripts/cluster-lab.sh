#!/usr/bin/env bash
# The cluster lab: a 3-member Incus cluster on this one machine, made of privileged, nested
# system containers, for test/cluster and for trying Tidepool against a cluster by hand.
#
#   host ── tplab0 10.79.0.1/24 (cluster traffic; each member a fixed DHCP lease, .11 .12 .13)
#     │  └─ tplab-m1 (member m1)  tplab-m2 (m2)  tplab-m3 (m3)
#     └─── tplab1 10.79.1.1/24 (the workspaces' one flat L2: the host's dnsmasq gives every
#          workspace on every member its address; each member's bridge `tpws` has no address
#          of its own and eth1 as its uplink, so the host reaches each workspace directly)
#
# Network rule: nothing in the lab may send anything off this machine. Before any member (and
# so any nested incusd) starts, the nftables table `inet tplab-guard` drops, and counts in the
# counter `egress`, whatever comes from the lab's subnets to an address outside them (IPv6 from
# the lab's bridges too) and DNS queries to the host (its dnsmasq would forward them off the
# machine). Members resolve through 127.0.0.1 (nothing answers); the nested Incus has
# images.auto_update_interval 0 and is never asked for a remote image: the host's test image is
# exported and imported into the cluster.
#
# Usage: scripts/cluster-lab.sh up|down|status|env
#   up      build the member image when missing or its recipe changed (cached on disk by recipe
#           hash, with progress; ~5 min once), put the guard in place, make the bridges, the
#           profile and the members, form the cluster (preseed), trust a client certificate,
#           import the test image; write $LAB_DIR/lab.env. Does nothing that is already done.
#   down    delete every instance, network, profile, image and nftables table the lab made
#           (idempotent; the member image's tarballs stay cached on disk)
#   status  the members, the guard's counter, and where lab.env is
#   env     print lab.env (what tests and `tidepool serve` need to reach the cluster)
# Environment (defaults): TIDEPOOL_LAB_DIR=/var/lib/tidepool/cluster-lab
#   TIDEPOOL_LAB_CACHE=/var/cache/tidepool/cluster-lab  TIDEPOOL_LAB_IDE=0 (1: import the IDE image too)
#   TIDEPOOL_LAB_POOL=tidepool (host pool of the members' disks)
set -euo pipefail
{

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LAB_DIR="${TIDEPOOL_LAB_DIR:-/var/lib/tidepool/cluster-lab}"
CACHE="${TIDEPOOL_LAB_CACHE:-/var/cache/tidepool/cluster-lab}"
HOST_POOL="${TIDEPOOL_LAB_POOL:-tidepool}"
WITH_IDE="${TIDEPOOL_LAB_IDE:-0}"
CLUSTER_BR=tplab0 CLUSTER_NET=10.79.0 WS_BR=tplab1 WS_NET=10.79.1
PROFILE=tplab-member IMAGE=tplab-member GUARD=tplab-guard
MEMBERS=(m1 m2 m3)
recipe_dir="$repo/images/cluster-member"

say() { echo "cluster-lab: $*"; }
die() { echo "cluster-lab: error: $*" >&2; exit 1; }
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
instance() { echo "tplab-$1"; }
member_ip() { echo "$CLUSTER_NET.$((10 + ${1#m}))"; }
in_member() { local m="$1"; shift; incus exec "$(instance "$m")" -- "$@"; }

# ------------------------------------------------------------------ the egress guard
guard_rules() {
  cat <<NFT
table inet $GUARD {
  comment "$1"
  counter egress {
  }
  set labnets {
    type ipv4_addr
    flags interval
    elements = { $CLUSTER_NET.0/24, $WS_NET.0/24 }
  }
  chain forward {
    type filter hook forward priority filter - 10; policy accept;
    ip saddr @labnets ip daddr @labnets accept
    ip saddr @labnets counter name egress drop
    # Frames bridged between members pass here too (br_netfilter): link-local and multicast stay.
    iifname { "$CLUSTER_BR", "$WS_BR" } ip6 daddr != { fe80::/10, ff02::/16 } counter name egress drop
  }
  chain input {
    type filter hook input priority filter - 10; policy accept;
    iifname { "$CLUSTER_BR", "$WS_BR" } udp dport 53 counter name egress drop
    iifname { "$CLUSTER_BR", "$WS_BR" } tcp dport 53 counter name egress drop
  }
}
NFT
}
guard_up() {
  local want
  want="rules $(guard_rules - | sha256sum | cut -c1-16)"
  nft list table inet "$GUARD" 2>/dev/null | grep -qF "comment \"$want\"" && return 0
  # One transaction: the old table (if any) goes and the new one comes with no gap between.
  { echo "table inet $GUARD {}"; echo "delete table inet $GUARD"; guard_rules "$want"; } | nft -f -
  say "egress guard inet $GUARD in place (lab subnets $CLUSTER_NET.0/24 $WS_NET.0/24 only)"
}
guard_count() {
  nft list counter inet "$GUARD" egress 2>/dev/null | awk '$1 == "packets" { print $2; exit }'
}

# ------------------------------------------------------------------ bridges and profile
ensure_bridge() {
  local br="$1" net="$2"
  incus network show "$br" >/dev/null 2>&1 && return 0
  # No NAT: the lab has no way out even before the guard drops.
  incus network create "$br" "ipv4.address=$net.1/24" ipv4.nat=false ipv6.address=none \
    "ipv4.dhcp.ranges=$net.50-$net.250" >/dev/null
  say "bridge $br ($net.1/24, no NAT, no IPv6)"
}
ensure_profile() {
  incus profile show "$PROFILE" >/dev/null 2>&1 && return 0
  incus profile create "$PROFILE" >/dev/null
  incus profile set "$PROFILE" security.privileged=true security.nesting=true
  incus profile device add "$PROFILE" root disk path=/ "pool=$HOST_POOL" >/dev/null
  incus profile device add "$PROFILE" eth0 nic "network=$CLUSTER_BR" name=eth0 >/dev/null
  # Port isolation on the members' uplinks: a workspace on one member cannot reach one on
  # another through the host bridge; the host (the bridge itself) still reaches all.
  incus profile device add "$PROFILE" eth1 nic "network=$WS_BR" name=eth1 security.port_isolation=true >/dev/null
  say "profile $PROFILE (privileged, nested; eth0 on $CLUSTER_BR, eth1 on $WS_BR isolated)"
}

# ------------------------------------------------------------------ the member image
image_recipe() { incus image show "$IMAGE" 2>/dev/null | awk '$1 == "tidepool.recipe:" { gsub(/"/, "", $2); print $2 }'; }
run_phase() {
  local name="$1" log="$2"; shift 2
  local t0 el next=15 rc=0 pid
  t0="$(now)"
  "$@" >"$log" 2>&1 </dev/null &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    el="$(secs "$t0" "$(now)")"
    if [ "${el%.*}" -ge "$next" ]; then echo "  still $name (${el%.*}s)"; next=$((next + 15)); fi
    sleep 1
  done
  wait "$pid" || rc=$?
  if [ "$rc" != 0 ]; then
    echo "cluster-lab: error: member image phase $name failed (exit $rc); log $log:" >&2
    tail -n 15 "$log" | sed 's/^/  | /' >&2
    exit 1
  fi
  printf '  %-10s done in %6ss\n' "$name" "$(secs "$t0" "$(now)")"
}
ensure_image() {
  local want have dir work
  want="$("$recipe_dir/build.sh" --recipe)"
  have="$(image_recipe || true)"
  [ "$have" = "$want" ] && return 0
  dir="$CACHE/member-$want"
  if [ ! -s "$dir/rootfs.tar.zst" ]; then
    for tool in mmdebstrap zstd tar; do command -v "$tool" >/dev/null || die "$tool is not installed (make host installs it)"; done
    work="$CACHE/build"
    rm -rf --one-file-system "$work"; mkdir -p "$work" "$LAB_DIR/logs"
    say "building the member image (recipe $want; once, ~5 min; logs in $LAB_DIR/logs)"
    run_phase rootfs "$LAB_DIR/logs/rootfs.log" "$recipe_dir/build.sh" rootfs "$work"
    run_phase configure "$LAB_DIR/logs/configure.log" "$recipe_dir/build.sh" configure "$work"
    run_phase pack "$LAB_DIR/logs/pack.log" "$recipe_dir/build.sh" pack "$work"
    rm -rf "$dir"; mv "$work/out" "$dir"
    rm -rf --one-file-system "$work"
    # Older recipes' tarballs are of no use any more.
    find "$CACHE" -maxdepth 1 -name 'member-*' ! -name "member-$want" -exec rm -rf {} +
  fi
  [ -n "$have" ] && incus image delete "$IMAGE" >/dev/null 2>&1 || true
  incus image import "$dir/metadata.tar.zst" "$dir/rootfs.tar.zst" --alias "$IMAGE" >/dev/null
  say "member image $IMAGE imported (recipe $want)"
}

# ------------------------------------------------------------------ members and the cluster
launch_members() {
  local m
  for m in "${MEMBERS[@]}"; do
    if incus info "$(instance "$m")" >/dev/null 2>&1; then
      incus start "$(instance "$m")" >/dev/null 2>&1 || true
      continue
    fi
    incus launch "$IMAGE" "$(instance "$m")" -p "$PROFILE" -d "eth0,ipv4.address=$(member_ip "$m")" >/dev/null
  done
}
wait_incusd() {
  local m i
  for m in "${MEMBERS[@]}"; do
    for i in $(seq 1 90); do
      in_member "$m" incus admin waitready --timeout 2 >/dev/null 2>&1 && break
      [ "$i" = 90 ] && die "incusd in $(instance "$m") not ready after 90 tries (incus exec $(instance "$m") -- journalctl -u incus)"
      sleep 1
    done
    for i in $(seq 1 60); do
      in_member "$m" ip -4 -o addr show eth0 | grep -q "$(member_ip "$m")/" && break
      [ "$i" = 60 ] && die "$(instance "$m") has no address $(member_ip "$m") on eth0 after 60 s"
      sleep 1
    done
  done
}
cluster_online() {
  local n
  n="$(in_member m1 incus cluster list -f csv 2>/dev/null | grep -c ',ONLINE,' || true)"
  [ "$n" = "${#MEMBERS[@]}" ]
}
bootstrap() {
  in_member m1 incus admin init --preseed <<YAML
config:
  core.https_address: $(member_ip m1):8443
  images.auto_update_interval: "0"
  images.remote_cache_expiry: "1"
cluster:
  server_name: m1
  enabled: true
storage_pools:
- name: local
  driver: dir
networks:
- name: tpws
  type: bridge
  config:
    ipv4.address: none
    ipv6.address: none
    bridge.external_interfaces: eth1
profiles:
- name: default
  devices:
    root: {path: /, pool: local, type: disk}
- name: tidepool
  description: Tidepool workspaces (root on local, eth0 on the flat workspace L2, isolated)
  devices:
    root: {path: /, pool: local, type: disk}
    eth0: {name: eth0, network: tpws, type: nic, security.port_isolation: "true"}
YAML
}
join() {
  local m="$1" token
  token="$(in_member m1 incus cluster add "$m" --quiet)"
  in_member "$m" incus admin init --preseed <<YAML
cluster:
  enabled: true
  server_name: $m
  server_address: $(member_ip "$m"):8443
  cluster_token: $token
  member_config:
  - entity: storage-pool
    name: local
    key: source
    value: ""
  - entity: network
    name: tpws
    key: bridge.external_interfaces
    value: eth1
YAML
}
form_cluster() {
  local m
  if ! in_member m1 incus cluster list >/dev/null 2>&1; then bootstrap; say "bootstrapped m1"; fi
  for m in "${MEMBERS[@]:1}"; do
    in_member m1 incus cluster show "$m" >/dev/null 2>&1 && continue
    join "$m"
    say "$m joined"
  done
}
trust_client() {
  mkdir -p "$LAB_DIR"; chmod 700 "$LAB_DIR"
  if [ ! -s "$LAB_DIR/client.crt" ]; then
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:secp384r1 -nodes -days 3650 \
      -subj /CN=tidepool-cluster-lab -keyout "$LAB_DIR/client.key" -out "$LAB_DIR/client.crt" 2>/dev/null
  fi
  in_member m1 incus config trust list -f csv | grep -q tidepool-lab && return 0
  incus file push "$LAB_DIR/client.crt" "$(instance m1)/root/tidepool-lab.crt" >/dev/null
  in_member m1 incus config trust add-certificate /root/tidepool-lab.crt --name tidepool-lab >/dev/null
}
# import_image HOST_ALIAS: the host's image, exported and imported into the cluster under the same alias.
import_image() {
  local alias="$1" tmp f
  in_member m1 incus image show "$alias" >/dev/null 2>&1 && return 0
  tmp="$(mktemp -d /var/tmp/tplab-image.XXXXXX)"
  incus image export "$alias" "$tmp/img" >/dev/null
  in_member m1 mkdir -p /root/img
  for f in "$tmp"/img*; do incus file push "$f" "$(instance m1)/root/img/" >/dev/null; done
  # A split image (metadata + rootfs) or a unified one.
  in_member m1 sh -c "cd /root/img && incus image import \$(ls -1 | sort) --alias '$alias' >/dev/null && rm -rf /root/img"
  rm -rf "$tmp"
  say "image $alias imported into the cluster"
}
write_env() {
  in_member m1 cat /var/lib/incus/cluster.crt > "$LAB_DIR/cluster.crt"
  cat > "$LAB_DIR/lab.env" <<ENV
TIDEPOOL_LAB_URL=https://$(member_ip m1):8443
TIDEPOOL_LAB_URL_M2=https://$(member_ip m2):8443
TIDEPOOL_LAB_CERT=$LAB_DIR/client.crt
TIDEPOOL_LAB_KEY=$LAB_DIR/client.key
TIDEPOOL_LAB_SERVER_CERT=$LAB_DIR/cluster.crt
TIDEPOOL_LAB_MEMBERS=${MEMBERS[*]}
TIDEPOOL_LAB_INSTANCE_PREFIX=tplab-
TIDEPOOL_LAB_GUARD=inet $GUARD egress
TIDEPOOL_LAB_WS_SUBNET=$WS_NET.0/24
ENV
}

up() {
  local t0
  t0="$(now)"
  [ "$(id -u)" = 0 ] || die "must run as root"
  command -v incus >/dev/null && timeout 5 incus query /1.0 >/dev/null 2>&1 || die "Incus is not running on the host (make host)"
  command -v nft >/dev/null || die "nft is not installed (make host)"
  guard_up
  ensure_bridge "$CLUSTER_BR" "$CLUSTER_NET"
  ensure_bridge "$WS_BR" "$WS_NET"
  ensure_profile
  ensure_image
  launch_members
  wait_incusd
  say "members up ($(secs "$t0" "$(now)")s)"
  form_cluster
  trust_client
  import_image tidepool-minimal
  [ "$WITH_IDE" = 1 ] && import_image tidepool-ide
  write_env
  cluster_online || die "the cluster is not all ONLINE: $(in_member m1 incus cluster list -f csv | tr '\n' ' ')"
  say "ready in $(secs "$t0" "$(now)")s: 3 members online, $LAB_DIR/lab.env; guard counter $(guard_count)"
}

down() {
  local m
  [ "$(id -u)" = 0 ] || die "must run as root"
  for m in "${MEMBERS[@]}"; do
    incus delete --force "$(instance "$m")" >/dev/null 2>&1 && say "deleted $(instance "$m")" || true
  done
  incus profile delete "$PROFILE" >/dev/null 2>&1 && say "deleted profile $PROFILE" || true
  incus network delete "$CLUSTER_BR" >/dev/null 2>&1 && say "deleted bridge $CLUSTER_BR" || true
  incus network delete "$WS_BR" >/dev/null 2>&1 && say "deleted bridge $WS_BR" || true
  incus image delete "$IMAGE" >/dev/null 2>&1 && say "deleted image $IMAGE" || true
  nft delete table inet "$GUARD" >/dev/null 2>&1 && say "deleted nftables table inet $GUARD" || true
  rm -f "$LAB_DIR/lab.env"
  say "down (member image tarballs stay cached in $CACHE)"
}

status() {
  local m
  for m in "${MEMBERS[@]}"; do
    printf '%-10s %s\n' "$(instance "$m")" "$(incus list "^$(instance "$m")\$" -f csv -c s 2>/dev/null || echo missing)"
  done
  in_member m1 incus cluster list -f csv -c nus 2>/dev/null | sed 's/^/cluster: /' || true
  echo "guard inet $GUARD: $(guard_count || echo absent) packets dropped"
  [ -f "$LAB_DIR/lab.env" ] && echo "env: $LAB_DIR/lab.env" || echo "env: none (not up)"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  env) cat "$LAB_DIR/lab.env" ;;
  -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' ;;
  *) echo "usage: scripts/cluster-lab.sh up|down|status|env (try --help)" >&2; exit 64 ;;
esac
exit
}
