#!/usr/bin/env bash
# Creates bench/peers/.venv-dl (Debian's /usr/bin/python3) and installs the pinned
# deep-learning peers from bench/peers/requirements-dl.txt (NeuralForecast, NeuralHydrology,
# torch). Idempotent: returns at once when the venv already holds exactly this requirements
# file (a stamp records its hash). Downloads about 5 GB from PyPI (torch's CUDA wheels).
#   bash bench/peers/setup_dl_peers.sh            # create/update
#   bash bench/peers/setup_dl_peers.sh --force    # reinstall
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
venv="$here/.venv-dl"
req="$here/requirements-dl.txt"
stamp="$venv/.requirements.sha256"
py=/usr/bin/python3
pip_version=26.3

force=0
[ "${1:-}" = "--force" ] && force=1

want=$(sha256sum "$req" | cut -d' ' -f1)
if [ $force -eq 0 ] && [ -x "$venv/bin/python" ] && [ -f "$stamp" ] &&
  [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi

# Debian packages: venv support (every pinned package ships a cp311 manylinux wheel).
need=()
for p in python3 python3-venv; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "setup_dl_peers: installing Debian packages: ${need[*]}"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -q
  "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${need[@]}"
fi

if [ ! -x "$venv/bin/python" ]; then
  echo "setup_dl_peers: creating $venv"
  "$py" -m venv "$venv"
fi
"$venv/bin/python" -m pip install -q --disable-pip-version-check "pip==$pip_version"
echo "setup_dl_peers: installing $(grep -c '==' "$req") pinned packages into $venv"
"$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$req"
"$venv/bin/python" -c 'import neuralforecast, neuralhydrology.nh_run, torch
from importlib.metadata import version as v
print("setup_dl_peers:", *(f"{p} {v(p)}" for p in ("neuralforecast", "neuralhydrology", "torch")))'
echo "$want" >"$stamp"
