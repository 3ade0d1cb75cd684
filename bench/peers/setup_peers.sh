#!/usr/bin/env bash
# Creates bench/peers/.venv (Debian's /usr/bin/python3) and installs the pinned peer systems
# from bench/peers/requirements.txt (RADICAL-Pilot). Idempotent: returns at once when the venv
# already holds exactly this requirements file (a stamp records its hash).
#   bash bench/peers/setup_peers.sh            # create/update
#   bash bench/peers/setup_peers.sh --force    # reinstall
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
venv="$here/.venv"
req="$here/requirements.txt"
stamp="$venv/.requirements.sha256"
py=/usr/bin/python3

force=0
[ "${1:-}" = "--force" ] && force=1

want=$(sha256sum "$req" | cut -d' ' -f1)
if [ $force -eq 0 ] && [ -x "$venv/bin/python" ] && [ -f "$stamp" ] &&
  [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi

# Debian packages: venv support and headers/compiler for the source distributions.
need=()
for p in python3 python3-venv python3-dev gcc; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "setup_peers: installing Debian packages: ${need[*]}"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -q
  "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${need[@]}"
fi

if [ ! -x "$venv/bin/python" ]; then
  echo "setup_peers: creating $venv"
  "$py" -m venv "$venv"
fi
echo "setup_peers: installing $(grep -c '==' "$req") pinned packages into $venv"
"$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$req"
# Importing radical.pilot writes under $HOME (~/.radical); check it with a throwaway HOME.
tmp_home=$(mktemp -d)
HOME=$tmp_home RADICAL_BASE=$tmp_home "$venv/bin/python" -c \
  'import radical.pilot as rp; print("setup_peers: radical.pilot", rp.version)'
rm -rf "$tmp_home"
echo "$want" >"$stamp"
