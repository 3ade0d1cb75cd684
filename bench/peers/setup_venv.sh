#!/usr/bin/env bash
# Creates a venv with Debian's /usr/bin/python3 and installs a pinned requirements file into it;
# the shared body of setup_peers.sh and setup_dl_peers.sh. Idempotent: returns at once when the
# venv already holds exactly this requirements file (a stamp in the venv records its hash).
#   bash bench/peers/setup_venv.sh REQUIREMENTS VENV [options]
# Options:
#   --name NAME       prefix of the messages (default: setup_venv)
#   --debian "P ..."  Debian packages needed besides python3 and python3-venv
#   --pip VERSION     pin pip itself first
#   --check CODE      Python code run in the venv once installed; the stamp is written only
#                     when it succeeds
#   --force           reinstall even when the stamp matches
#   --dry-run         say what would be done and change nothing
set -euo pipefail

usage() {
  echo "usage: setup_venv.sh REQUIREMENTS VENV [--name NAME] [--debian \"PKG ...\"]" \
    "[--pip VERSION] [--check CODE] [--force] [--dry-run]" >&2
  exit 2
}
[ $# -ge 2 ] || usage
req=$1
venv=$2
shift 2
name=setup_venv
debian=""
pip_version=""
check=""
force=0
dry=0
while [ $# -gt 0 ]; do
  case "$1" in
    --name) [ $# -ge 2 ] || usage; name=$2; shift 2 ;;
    --debian) [ $# -ge 2 ] || usage; debian=$2; shift 2 ;;
    --pip) [ $# -ge 2 ] || usage; pip_version=$2; shift 2 ;;
    --check) [ $# -ge 2 ] || usage; check=$2; shift 2 ;;
    --force) force=1; shift ;;
    --dry-run) dry=1; shift ;;
    *) echo "$name: unknown option '$1'" >&2; usage ;;
  esac
done
[ -f "$req" ] || { echo "$name: no requirements file $req" >&2; exit 2; }

stamp="$venv/.requirements.sha256"
py=/usr/bin/python3

want=$(sha256sum "$req" | cut -d' ' -f1)
if [ $force -eq 0 ] && [ -x "$venv/bin/python" ] && [ -f "$stamp" ] &&
  [ "$(cat "$stamp")" = "$want" ]; then
  [ $dry -eq 0 ] || echo "$name: $venv is up to date with $req"
  exit 0
fi

read -ra extra <<<"$debian"
debs=(python3 python3-venv "${extra[@]}")
install_debs="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/scripts/install_debs.sh"
if [ $dry -eq 1 ]; then
  bash "$install_debs" --name "$name" --dry-run "${debs[@]}"
  [ -x "$venv/bin/python" ] || echo "$name: would create $venv"
  [ -z "$pip_version" ] || echo "$name: would pin pip $pip_version"
  echo "$name: would install $(grep -c '==' "$req") pinned packages from $req into $venv"
  [ -z "$check" ] || echo "$name: would check the venv with: $check"
  exit 0
fi
bash "$install_debs" --name "$name" "${debs[@]}"

if [ ! -x "$venv/bin/python" ]; then
  echo "$name: creating $venv"
  "$py" -m venv "$venv"
fi
if [ -n "$pip_version" ]; then
  "$venv/bin/python" -m pip install -q --disable-pip-version-check "pip==$pip_version"
fi
rm -f "$stamp"  # until the install and the check have succeeded
echo "$name: installing $(grep -c '==' "$req") pinned packages into $venv"
"$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$req"
[ -z "$check" ] || "$venv/bin/python" -c "$check"
echo "$want" >"$stamp"
