#!/usr/bin/env bash
# Installs those of the named Debian packages that are not installed yet (apt-get, through sudo
# unless root) and returns at once when all are present. Shared by scripts/setup.sh and
# bench/peers/setup_venv.sh.
#   bash scripts/install_debs.sh [--name PREFIX] [--dry-run] PKG...
set -euo pipefail

name=install_debs
dry=0
while [ $# -gt 0 ]; do
  case "$1" in
    --name) [ $# -ge 2 ] || { echo "$name: --name needs a value" >&2; exit 2; }; name=$2; shift 2 ;;
    --dry-run) dry=1; shift ;;
    *) break ;;
  esac
done

missing=()
for p in "$@"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -gt 0 ] || exit 0
if [ $dry -eq 1 ]; then
  echo "$name: would install Debian packages: ${missing[*]}"
  exit 0
fi
echo "$name: installing Debian packages: ${missing[*]}"
sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -q
"${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
