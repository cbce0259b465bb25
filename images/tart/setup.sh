#!/usr/bin/env bash
# Provisions a Tart VM as a Tidepool workspace: code-server on 0.0.0.0:8080, started at boot,
# without its own password (Tidepool's Caddy in front does the authentication, and the VM is
# only reachable from the host's Tart network). Runs as root inside the VM (Linux or macOS).
# Env: WORKSPACE_USER (default admin), CODE_SERVER_VERSION (default: latest).
set -euo pipefail

user="${WORKSPACE_USER:-admin}"
home="$(eval echo "~$user")"
version_flag=()
[ -n "${CODE_SERVER_VERSION:-}" ] && version_flag=(--version "$CODE_SERVER_VERSION")

write_config() {
  install -d -o "$user" "$home/.config/code-server" "$home/workspace"
  cat > "$home/.config/code-server/config.yaml" <<CFG
bind-addr: 0.0.0.0:8080
auth: none
cert: false
disable-telemetry: true
disable-update-check: true
CFG
  chown "$user" "$home/.config/code-server/config.yaml"
}

case "$(uname -s)" in
  Linux)
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends curl ca-certificates git
    curl -fsSL https://code-server.dev/install.sh | sh -s -- --method standalone --prefix /usr/local ${version_flag[@]+"${version_flag[@]}"}
    write_config
    cat > /etc/systemd/system/code-server.service <<UNIT
[Unit]
Description=code-server (Tidepool workspace IDE on :8080)
After=network-online.target
Wants=network-online.target

[Service]
User=$user
WorkingDirectory=$home/workspace
ExecStart=/usr/local/bin/code-server $home/workspace
Restart=always
RestartSec=2

[Install]
WantedBy=multi-user.target
UNIT
    systemctl daemon-reload
    systemctl enable --now code-server.service
    ;;
  Darwin)
    # Homebrew is preinstalled in the cirruslabs macOS images (owned by the admin user).
    sudo -u "$user" -H bash -lc "brew install code-server"
    write_config
    bin="$(sudo -u "$user" -H bash -lc 'command -v code-server')"
    cat > /Library/LaunchDaemons/dev.tidepool.code-server.plist <<PLIST
<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
  <key>Label</key><string>dev.tidepool.code-server</string>
  <key>UserName</key><string>$user</string>
  <key>WorkingDirectory</key><string>$home/workspace</string>
  <key>ProgramArguments</key><array><string>$bin</string><string>$home/workspace</string></array>
  <key>EnvironmentVariables</key><dict><key>HOME</key><string>$home</string></dict>
  <key>RunAtLoad</key><true/>
  <key>KeepAlive</key><true/>
  <key>StandardOutPath</key><string>/var/log/code-server.log</string>
  <key>StandardErrorPath</key><string>/var/log/code-server.log</string>
</dict>
</plist>
PLIST
    launchctl bootstrap system /Library/LaunchDaemons/dev.tidepool.code-server.plist || launchctl kickstart -k system/dev.tidepool.code-server
    ;;
  *) echo "setup.sh: unsupported OS $(uname -s)" >&2; exit 1 ;;
esac

# Smoke check: the IDE answers on :8080 inside the VM.
for _ in $(seq 1 60); do
  if curl -fsS -o /dev/null http://127.0.0.1:8080/healthz; then echo "code-server is up on :8080"; exit 0; fi
  sleep 1
done
echo "setup.sh: code-server did not answer on :8080" >&2
exit 1
