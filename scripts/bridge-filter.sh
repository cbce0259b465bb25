#!/usr/bin/env bash
# The workspace bridge's input filter: what a workspace may reach on this host itself.
#
# A container on an Incus bridge reaches every listener of the host that is bound to all
# interfaces (Caddy's login, anything else on 0.0.0.0), at the bridge's address and at every
# other address of the host. This keeps one nftables table per bridge, `inet tidepool-BRIDGE`,
# whose input chain lets through, from that bridge only:
#   replies to connections the host opened (the proxy path to the workspaces) and ICMP errors,
#   DHCP (udp 67) and DHCPv6 (udp 547), answered by Incus's dnsmasq on the bridge,
#   DNS (udp and tcp 53) to the bridge's own IPv4 address (Incus's dnsmasq again),
#   ICMP and ICMPv6 (ping, errors, neighbour discovery),
#   TCP ports listed in the set `tcp_allowed` (empty; `allow` adds one, e.g. a test's git daemon),
# and refuses everything else (TCP with a reset, the rest with ICMP admin-prohibited), counted
# by the named counter `refused`. It is an `inet` table, so it covers IPv6 too. Forwarded
# traffic (NAT egress) and the host's own traffic into the bridge are not touched; neither are
# Incus's own tables (Incus rewrites only `inet incus`, so this table survives incusd restarts;
# a reboot clears it, and scripts/setup-host.sh puts it back before it starts incusd).
#
# Usage: scripts/bridge-filter.sh COMMAND BRIDGE [ARG]
#   ensure BRIDGE ADDRESS   create or update the table (ADDRESS: the bridge's IPv4 address, or
#                           `none`); prints what it changed, or nothing when it is current
#   check BRIDGE ADDRESS    exit 0 when the table is current, 1 when `ensure` would change it
#   remove BRIDGE           delete the table (nothing when there is none)
#   allow BRIDGE PORT       let workspaces open TCP PORT on this host (kept until `disallow`,
#                           `remove`, or an `ensure` that changes the rules; a reboot clears it)
#   disallow BRIDGE PORT    take it back
#   counter BRIDGE          print how many packets the filter has refused
# Needs root (CAP_NET_ADMIN) and `nft` (Debian: nftables).
set -euo pipefail

die() { echo "bridge-filter: error: $*" >&2; exit 1; }
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }

[ $# -ge 2 ] || { usage >&2; exit 64; }
cmd="$1" bridge="$2"
# An interface name (what Incus accepts for a bridge): it goes into nft's names and strings.
[[ "$bridge" =~ ^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$ ]] || die "not a bridge name: '$bridge'"
table="tidepool-$bridge"
command -v nft >/dev/null || die "nft is not installed (Debian: apt-get install nftables)"

port_arg() {
  [[ "${1:-}" =~ ^[0-9]{1,5}$ ]] && [ "$1" -ge 1 ] && [ "$1" -le 65535 ] || die "not a TCP port: '${1:-}'"
}
has_table() { nft list table inet "$table" >/dev/null 2>&1; }

# The table's whole text for BRIDGE and ADDRESS. Its hash goes into the table's comment, so
# `check` compares one line instead of parsing nft's listing.
ruleset() {
  local address="$1" dns=""
  if [ "$address" != none ]; then
    dns="ip daddr $address meta l4proto { tcp, udp } th dport 53 accept"
  fi
  cat <<EOF
    counter refused {
      comment "packets from $bridge to this host that the filter refused"
    }
    set tcp_allowed {
      type inet_service
      comment "TCP ports on this host that workspaces on $bridge may open (bridge-filter.sh allow)"
    }
    chain input {
      type filter hook input priority filter; policy accept;
      iifname "$bridge" jump from_workspaces
    }
    chain from_workspaces {
      ct state established,related accept
      udp dport { 67, 547 } accept
      $dns
      meta l4proto { icmp, ipv6-icmp } accept
      tcp dport @tcp_allowed accept
      meta l4proto tcp counter name refused reject with tcp reset
      counter name refused reject with icmpx admin-prohibited
    }
EOF
}
marker() { printf '%s' "$(ruleset "$1")" | sha256sum | cut -c1-16; }
comment_of() { echo "Tidepool: what workspaces on $bridge may reach on this host (scripts/bridge-filter.sh) $(marker "$1")"; }
current() { has_table && nft list table inet "$table" | grep -qF "comment \"$(comment_of "$1")\""; }

address_arg() {
  [ "${1:-}" = none ] || [[ "${1:-}" =~ ^[0-9]{1,3}(\.[0-9]{1,3}){3}$ ]] || die "not an IPv4 address (or none): '${1:-}'"
}

case "$cmd" in
  check)
    address_arg "${3:-}"
    current "$3"
    ;;
  ensure)
    address_arg "${3:-}"
    current "$3" && exit 0
    had=0; has_table && had=1
    # One transaction: the old table (if any) goes and the new one comes at once, so the bridge
    # is never unfiltered. `table ... {}` first makes the delete valid when there is none.
    {
      echo "table inet $table {}"
      echo "delete table inet $table"
      echo "table inet $table {"
      echo "    comment \"$(comment_of "$3")\""
      ruleset "$3"
      echo "}"
    } | nft -f - || die "nft refused the ruleset for $bridge"
    if [ "$had" = 1 ]; then
      echo "bridge-filter: inet $table replaced (rules changed; allowed ports reset)"
    else
      echo "bridge-filter: inet $table created: workspaces on $bridge reach only DHCP, DNS on $3 and ICMP on this host"
    fi
    ;;
  remove)
    if has_table; then nft delete table inet "$table"; echo "bridge-filter: inet $table removed"; fi
    ;;
  allow | disallow)
    port_arg "${3:-}"
    has_table || die "no filter on $bridge (inet $table); run scripts/setup-host.sh"
    if [ "$cmd" = allow ]; then
      nft add element inet "$table" tcp_allowed "{ $3 }"
    else
      # `delete element` fails when the port is not in the set: take back only what is there.
      if nft list set inet "$table" tcp_allowed | grep -zqE "elements = \{[^}]*\b$3\b"; then
        nft delete element inet "$table" tcp_allowed "{ $3 }"
      fi
    fi
    ;;
  counter)
    has_table || die "no filter on $bridge (inet $table)"
    nft list counter inet "$table" refused | awk '$1 == "packets" { print $2 }'
    ;;
  *) usage >&2; exit 64 ;;
esac
