#!/bin/sh
# Installs Caddy (Debian package `caddy`) when the `caddy` command is missing. Idempotent:
# does nothing when Caddy is there; runs `apt-get update` only when the package is unknown
# to apt or the first install attempt fails (stale lists).
set -eu

if command -v caddy >/dev/null 2>&1; then
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive

if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-caddy: caddy is missing and apt-get is not available; install Caddy 2 yourself" >&2
  exit 1
fi

install_caddy() { $SUDO apt-get install -y --no-install-recommends caddy; }

if apt-cache policy caddy 2>/dev/null | grep -q 'Candidate: [0-9]'; then
  install_caddy || { $SUDO apt-get update && install_caddy; }
else
  $SUDO apt-get update
  install_caddy
fi

# The Debian package enables a system caddy.service on :80; Tidepool runs its own `caddy run`.
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  $SUDO systemctl disable --now caddy.service >/dev/null 2>&1 || true
fi

command -v caddy >/dev/null 2>&1
caddy version
