#!/usr/bin/env bash
# Creates bench/peers/.venv-dl (Debian's /usr/bin/python3) and installs the pinned
# deep-learning peers from bench/peers/requirements-dl.txt (NeuralForecast, NeuralHydrology,
# torch), through setup_venv.sh. Idempotent: returns at once when the venv already holds exactly
# this requirements file (a stamp records its hash). Downloads about 5 GB from PyPI (torch's
# CUDA wheels). Every pinned package ships a cp311 manylinux wheel: no compiler needed.
#   bash bench/peers/setup_dl_peers.sh            # create/update
#   bash bench/peers/setup_dl_peers.sh --force    # reinstall
#   bash bench/peers/setup_dl_peers.sh --dry-run  # say what it would do
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
check='import neuralforecast, neuralhydrology.nh_run, torch
from importlib.metadata import version as v
print("setup_dl_peers:", *(f"{p} {v(p)}" for p in ("neuralforecast", "neuralhydrology", "torch")))'
exec bash "$here/setup_venv.sh" "$here/requirements-dl.txt" "$here/.venv-dl" \
  --name setup_dl_peers --pip 26.3 --check "$check" "$@"
