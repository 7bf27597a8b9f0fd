#!/usr/bin/env bash
# Installs the Debian tools the checks use, when they are missing: shellcheck, yamllint, promtool,
# amtool, a Lua interpreter, bubblewrap and setpriv.
set -euo pipefail
need=()
command -v shellcheck >/dev/null || need+=(shellcheck)
command -v yamllint >/dev/null || need+=(yamllint)
command -v promtool >/dev/null || need+=(prometheus)
command -v amtool >/dev/null || need+=(prometheus-alertmanager)
command -v lua5.4 >/dev/null || need+=(lua5.4)
command -v bwrap >/dev/null || need+=(bubblewrap)
command -v setpriv >/dev/null || need+=(util-linux)
command -v setfattr >/dev/null || need+=(attr)
[ ${#need[@]} -eq 0 ] && exit 0
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "installing ${need[*]} from Debian"
# Wait up to 5 minutes for another apt or dpkg process (unattended-upgrades, a parallel run) to
# release its lock instead of failing at once.
$SUDO apt-get -o DPkg::Lock::Timeout=300 update -qq >/dev/null
DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "${need[@]}" >/dev/null
# The packages start servers where systemd runs; the checks only need the tools.
if command -v systemctl >/dev/null; then
  $SUDO systemctl disable --now prometheus prometheus-alertmanager >/dev/null 2>&1 || true
fi
