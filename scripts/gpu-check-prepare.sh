#!/usr/bin/env bash
# Packs what scripts/gpu-check.sh needs on a GPU machine that has CUDA, a CUDA torch and a
# compiler but none of our other dependencies and no network (the lent H200 machine,
# docs/cuda-build.md), into .devdeps/ (git-ignored through .git/info/exclude):
#   .devdeps/debs/     the Debian 12 packages of OpenMPI, Gloo, oneDNN, fmt, spdlog, yaml-cpp,
#                      nlohmann-json, CLI11 and GoogleTest, with the runtime libraries they need
#                      that an Ubuntu-based CUDA image lacks (apt-get download);
#   .devdeps/arrow.tar.xz  Arrow C++ from the pinned pyarrow wheel (headers and the five
#                      libraries drc links; ~20 MB instead of the wheel's 55);
#   .devdeps/data/     ../shared/data (the real data sets the tests and the forecasts read).
# About 37 MB in all, under the 64 MiB a device call carries.
#   bash scripts/gpu-check-prepare.sh
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=$root/.devdeps
PYARROW_SPEC=${DRC_PYARROW_SPEC:-"pyarrow==26.0.*"}
PYTHON_VERSION=${DRC_GPU_PYTHON_VERSION:-3.12}  # the GPU machine's python3, for the wheel's tag
git_dir=$(git -C "$root" rev-parse --git-dir)
mkdir -p "$git_dir/info"
grep -qx '/.devdeps/' "$git_dir/info/exclude" 2>/dev/null || echo '/.devdeps/' >>"$git_dir/info/exclude"

debs=(
  # build: headers, CMake configs, link-time libraries
  libopenmpi-dev libgloo-dev libdnnl-dev libfmt-dev libspdlog-dev nlohmann-json3-dev
  libcli11-dev libyaml-cpp-dev libgtest-dev libgmock-dev libhiredis-dev libibverbs-dev
  # run: the libraries and mpirun, and what they load that such an image lacks
  libopenmpi3 openmpi-bin openmpi-common libevent-core-2.1-7 libevent-pthreads-2.1-7
  libfabric1 libhwloc15 libibverbs1 libnl-3-200 libnl-route-3-200 libnuma1 libpmix2
  libpsm-infinipath1 libpsm2-2 librdmacm1 libucx0 libmunge2 libgloo0 libhiredis0.14 libdnnl2
  ocl-icd-libopencl1 libfmt9 libspdlog1.10 libyaml-cpp0.7
)
rm -rf "$out/debs"
mkdir -p "$out/debs"
download() {
  (cd "$out/debs" && apt-get download "${debs[@]}" 2>&1 | grep -v '^W: Download is performed unsandboxed')
}
if ! download; then  # no package lists yet on a fresh machine
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -q
  download
fi
[ "$(ls "$out/debs" | wc -l)" -eq ${#debs[@]} ] || {
  echo "gpu-check-prepare: expected ${#debs[@]} packages in $out/debs" >&2
  exit 1
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 -m pip download -q --no-deps --only-binary=:all: --python-version "$PYTHON_VERSION" \
  --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
  -d "$tmp/wheel" "$PYARROW_SPEC"
(cd "$tmp" && python3 -m zipfile -e wheel/pyarrow-*.whl unpacked)
mkdir -p "$tmp/pack/pyarrow"
cp -r "$tmp/unpacked/pyarrow/include" "$tmp/pack/pyarrow/"
for lib in arrow arrow_compute arrow_acero arrow_dataset parquet; do
  cp "$tmp"/unpacked/pyarrow/lib$lib.so.*00 "$tmp/pack/pyarrow/"
done
tar -cJf "$out/arrow.tar.xz" -C "$tmp/pack" pyarrow

rm -rf "$out/data"
cp -r "$root/../shared/data" "$out/data"
du -sh "$out"
