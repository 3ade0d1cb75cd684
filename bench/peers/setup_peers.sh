#!/usr/bin/env bash
# Creates bench/peers/.venv (Debian's /usr/bin/python3) and installs the pinned peer systems
# from bench/peers/requirements.txt (RADICAL-Pilot), through setup_venv.sh. Idempotent: returns
# at once when the venv already holds exactly this requirements file (a stamp records its hash).
#   bash bench/peers/setup_peers.sh            # create/update
#   bash bench/peers/setup_peers.sh --force    # reinstall
#   bash bench/peers/setup_peers.sh --dry-run  # say what it would do
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# Importing radical.pilot writes under $HOME (~/.radical); check it with a throwaway HOME.
check='import os, shutil, tempfile
home = tempfile.mkdtemp()
os.environ["HOME"] = os.environ["RADICAL_BASE"] = home
try:
    import radical.pilot as rp
    print("setup_peers: radical.pilot", rp.version)
finally:
    shutil.rmtree(home)'
# python3-dev and gcc: headers and compiler for the source distributions.
exec bash "$here/setup_venv.sh" "$here/requirements.txt" "$here/.venv" --name setup_peers \
  --debian "python3-dev gcc" --check "$check" "$@"
