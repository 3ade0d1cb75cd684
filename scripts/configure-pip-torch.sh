#!/usr/bin/env bash
# Configures a build of drc against the libtorch inside a PyPI torch wheel, the way to a
# CUDA-enabled libtorch (Debian's libtorch-dev is CPU-only), for `--device cuda` and
# `--backend nccl` (docs/cuda-build.md).
#
#   bash scripts/configure-pip-torch.sh PYTHON [BUILD_DIR [CMAKE_ARG...]]
#
# PYTHON: an interpreter whose environment has torch (and, for a CUDA wheel, the nvidia-nccl
# wheel torch depends on), e.g. bench/peers/.venv-dl/bin/python after
# `bash bench/peers/setup_dl_peers.sh`. BUILD_DIR defaults to build/pip-torch; further arguments
# go to CMake (scripts/gpu-check.sh adds its dependencies' prefix). Then
# `cmake --build BUILD_DIR --target drc drc-dl dl_test`.
#
# What it sets, and why:
#  - CMAKE_PREFIX_PATH and Torch_DIR at the wheel: otherwise find_library takes Debian's
#    /usr/lib/.../libtorch.so before the wheel's and the link mixes two libtorch versions.
#    DRC_PREFIX_PATH (environment, ;-separated) adds prefixes after the wheel's.
#  - TORCH_CUDA_ARCH_LIST (default 9.0, Hopper): the wheel's CMake config otherwise compiles and
#    runs a CUDA program to detect the GPUs, which fails on a machine without one.
#  - DRC_LINK_STDCXX_FIRST: the wheel's libtorch.so exports a std::filesystem of its own whose
#    remove_all() crashes; libstdc++ goes first so that our calls bind to libstdc++'s.
#  - NCCL_LIBRARY / NCCL_INCLUDE_DIR at the wheel's NCCL: libtorch_cuda needs that NCCL's
#    symbols, which an older system NCCL linked first would not have.
set -euo pipefail

if [[ $# -lt 1 ]]; then
  echo "usage: $0 PYTHON [BUILD_DIR]" >&2
  exit 2
fi
python=$1
build=${2:-build/pip-torch}
shift $(($# >= 2 ? 2 : 1))
root=$(cd "$(dirname "$0")/.." && pwd)

torch_root=$("$python" -c 'import os, torch; print(os.path.dirname(torch.__file__))') || {
  echo "$0: $python cannot import torch" >&2
  exit 1
}
cuda=$("$python" -c 'import torch; print(torch.version.cuda or "")')
args=(-S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
      "-DCMAKE_PREFIX_PATH=$torch_root${DRC_PREFIX_PATH:+;$DRC_PREFIX_PATH}"
      "-DTorch_DIR=$torch_root/share/cmake/Torch" -DDRC_LINK_STDCXX_FIRST=ON)
if [[ -n $cuda ]]; then
  nccl=$("$python" -c 'import os, nvidia.nccl as n; print(list(n.__path__)[0])' 2>/dev/null || true)
  if [[ -n $nccl && -f $nccl/lib/libnccl.so.2 ]]; then
    args+=("-DNCCL_LIBRARY=$nccl/lib/libnccl.so.2" "-DNCCL_INCLUDE_DIR=$nccl/include")
  fi
fi
echo "torch $("$python" -c 'import torch; print(torch.__version__)') at $torch_root" \
  "(CUDA: ${cuda:-none})"
# A cache variable rather than the environment, so that CMake's own re-runs (after a
# CMakeLists.txt changes) keep it.
cmake "${args[@]}" "-DTORCH_CUDA_ARCH_LIST=${TORCH_CUDA_ARCH_LIST:-9.0}" "$@"
