#!/usr/bin/env bash
# Installs everything Deep RC needs on a fresh Debian 12 machine and returns quickly when all
# of it is already present. Idempotent; safe to run before every build.
#   - Debian packages: toolchain extras, OpenMPI, Gloo, libtorch (CPU), and the C++ libraries.
#   - A project-local Python virtual environment (.venv) holding the pyarrow wheel, whose
#     bundled Arrow C++ (Arrow, Parquet, Acero, Dataset, Compute) CMake links against.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PYARROW_SPEC=${DRC_PYARROW_SPEC:-"pyarrow==26.0.*"}

debs=(
  build-essential cmake ninja-build ccache pkg-config git python3 python3-venv python3-dev
  clang-format clang-tidy
  openmpi-bin libopenmpi-dev
  libgloo-dev libtorch-dev
  # oneDNN's RNN primitives (the library is libtorch's own dependency; -dev adds the header).
  libdnnl-dev
  # libtorch's CPU matrix products go through libblas.so.3; without this, Debian's reference
  # BLAS serves them (many times slower). The OpenMP build shares libtorch's OpenMP threads.
  libopenblas0-openmp
  sqlite3 libsqlite3-dev nlohmann-json3-dev libyaml-cpp-dev libcli11-dev libspdlog-dev libfmt-dev
  libzmq3-dev cppzmq-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  slurmctld slurmd slurm-client munge
)

bash "$root/scripts/install_debs.sh" --name setup "${debs[@]}"

# Project-local virtual environment with the pinned pyarrow wheel. Debian's python3 is used so
# that the venv does not depend on a per-user Python installation.
venv="$root/.venv"
py=/usr/bin/python3
[ -x "$py" ] || py=$(command -v python3)
if [ ! -x "$venv/bin/python" ]; then
  echo "setup: creating $venv"
  "$py" -m venv "$venv"
fi
if ! "$venv/bin/python" - "$PYARROW_SPEC" <<'PY' 2>/dev/null
import sys
from importlib.metadata import version
spec = sys.argv[1].split("==")[1].rstrip(".*")
sys.exit(0 if version("pyarrow").startswith(spec) else 1)
PY
then
  echo "setup: installing $PYARROW_SPEC into $venv"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check "$PYARROW_SPEC"
fi
echo "setup: all dependencies present"
