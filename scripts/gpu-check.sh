#!/usr/bin/env bash
# The GPU checks of docs/cuda-build.md, on a machine with CUDA, a CUDA torch (python3's), g++,
# CMake and ninja but none of our other dependencies and no network (the lent H200 machine).
# Run scripts/gpu-check-prepare.sh here first; it packs those dependencies into .devdeps/, which
# the device call carries. Then, on the GPU machine, from the repository root:
#   bash scripts/gpu-check.sh OUT_DIR
# It unpacks the Debian packages under a prefix (never over the machine's /usr), builds drc,
# drc-dl and dl_test against python3's torch, and runs, each under a time limit:
#   1. dl_test's GPU tests (cuda_test.cc, and the device resolution test);
#   2. nccl_comm_test, and `drc forecast --backend nccl` on 1 rank (on 2 ranks it must refuse
#      two ranks on one GPU, naming them);
#   3. `drc forecast --device cuda` for the 19 models on the carrier data (published settings);
#   4. the same on 2 ranks, gloo, one GPU shared (gradients through host copies);
#   5. `drc hydro --device cuda`, alone and over nccl on 1 rank; a dl.forecast function task
#      with a GPU per rank;
#   6. the whole of dl_test (the CPU tests, against this torch).
# Logs, JUnit XML and the forecasts' JSON lines go to OUT_DIR; the exit status is that of the
# first failed stage. DRC_GPU_DEADLINE (seconds, default 540) bounds the whole run: each stage
# gets at most what is left, and the last (the whole dl_test) is skipped with under 30 s left.
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=${1:?usage: gpu-check.sh OUT_DIR}
mkdir -p "$out"
deps=$root/.devdeps
prefix=${DRC_GPU_PREFIX:-/tmp/drc-deps}
build=$root/build/gpu
python=${DRC_GPU_PYTHON:-python3}
status=0
deadline=${DRC_GPU_DEADLINE:-540}
stage() { echo "== $(date -u +%T) (${SECONDS} s) $*"; }
# Seconds a stage may take: its own cap, or what is left before the deadline.
budget() {
  local left=$((deadline - SECONDS))
  left=$((left < $1 ? left : $1))
  echo $((left < 1 ? 1 : left))  # timeout 0 would mean no limit
}
fail() {
  echo "== FAILED ($1): $2"
  [ $status -ne 0 ] || status=$1
}

stage "machine"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
echo "cores $(nproc); $(g++ --version | head -1); $(cmake --version | head -1)"
echo "g++ links libstdc++ from $(g++ -print-file-name=libstdc++.so)"
"$python" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda,
                                   "gpu", torch.cuda.is_available())' || true
[ -d "$deps/debs" ] && [ -f "$deps/arrow.tar.xz" ] || {
  echo "gpu-check: $deps is missing; run scripts/gpu-check-prepare.sh first" >&2
  exit 2
}

stage "unpack the dependencies under $prefix"
mkdir -p "$prefix"
for f in "$deps"/debs/*.deb; do dpkg -x "$f" "$prefix"; done
tar -xJf "$deps/arrow.tar.xz" -C "$prefix"
# Debian's Gloo CMake package names its library by absolute path (/usr/lib/libgloo.so.0.5.0).
sed -i "s#\"/usr/lib/#\"$prefix/usr/lib/#g" "$prefix"/usr/share/cmake/Gloo/*.cmake
lib=$prefix/usr/lib/x86_64-linux-gnu
# Open MPI finds its wrapper data, components and help files under OPAL_PREFIX; Debian's
# mpirun and mpicxx are update-alternatives links that dpkg -x does not make.
export OPAL_PREFIX=$prefix/usr
export LD_LIBRARY_PATH=$lib:$lib/openmpi/lib:$prefix/usr/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export DRC_MPIRUN=$prefix/usr/bin/mpirun.openmpi
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl_vader_single_copy_mechanism=none DRC_MPIRUN_FLAGS="--mca btl self,vader"
export DRC_SHARED_DATA=$deps/data

stage "configure"
DRC_PREFIX_PATH="$prefix/usr" bash "$root/scripts/configure-pip-torch.sh" "$python" "$build" \
  -DCMAKE_BUILD_TYPE=Release -DDRC_BUILD_BENCH=OFF "-DDRC_ARROW_ROOT=$prefix/pyarrow" \
  -DCMAKE_POLICY_VERSION_MINIMUM=3.5 \
  "-DMPI_CXX_COMPILER=$prefix/usr/bin/mpicxx.openmpi" "-DDRC_DATA_DIR=$deps/data" \
  >"$out/configure.log" 2>&1 || {
  tail -40 "$out/configure.log"
  fail 3 "configure (configure.log)"
  exit $status
}
grep -E "Arrow C\+\+|Found MPI|NCCL|Torch|CUDA" "$out/configure.log" | head -20

stage "build drc drc-dl dl_test nccl_comm_test"
timeout "$(budget 240)" cmake --build "$build" --target drc drc-dl dl_test nccl_comm_test -j "$(nproc)" -- -k 0 >"$out/build.log" 2>&1 || {
  grep -E "error|Error" "$out/build.log" | head -30
  tail -15 "$out/build.log"
  fail 4 "build (build.log)"
  exit $status
}
tail -1 "$out/build.log"

stage "which std::filesystem our binaries bind"
# A torch wheel's libtorch.so and libtorch_cpu.so export a std::filesystem of their own, and
# libtorch.so's remove_all() jumps to address 0 (DRC_LINK_STDCXX_FIRST, CMakeLists.txt). Where
# remove_all still binds outside libstdc++, libstdc++ is preloaded for the runs below.
readelf -d "$build/src/dl/dl_test" | grep NEEDED | head -3
stdcxx=$(ldd "$build/src/dl/dl_test" | awk '/libstdc\+\+/ {print $3}')
bound=$(LD_DEBUG=bindings "$build/src/dl/dl_test" --gtest_filter='BrokenFiles.GoodFiles*' 2>&1 |
  grep -m3 'remove_all')
echo "$bound"
if [ -n "$stdcxx" ] && echo "$bound" | grep -q "to .*libtorch"; then
  echo "== remove_all binds to libtorch's copy: LD_PRELOAD=$stdcxx from here on"
  export LD_PRELOAD=$stdcxx
fi

stage "dl_test: the GPU tests"
# Two runs, so that a crash in one (the checkpoint test writes files) leaves the other's results.
for part in zoo:'Zoo/CudaModelTest.*:Zoo/CudaExogenousTest.*' other:'Cuda.*:Trainer.Resolves*'; do
  timeout "$(budget 200)" "$build/src/dl/dl_test" --gtest_filter="${part#*:}" \
    --gtest_output="xml:$out/dl_test_cuda_${part%%:*}.xml" >"$out/dl_test_cuda_${part%%:*}.log" 2>&1 ||
    fail 5 "GPU tests (${part%%:*})"
  grep -E "^\[ *(OK|FAILED|SKIPPED|PASSED) |Failure|Expected|Which is|max \|difference" \
    "$out/dl_test_cuda_${part%%:*}.log" | head -60
  tail -3 "$out/dl_test_cuda_${part%%:*}.log"
done

csv=$deps/data/us_carrier/us_carrier_passenger.csv
drc=$build/apps/drc/drc
stage "nccl: nccl_comm_test; drc forecast --backend nccl on 1 rank, then 2 on one GPU"
timeout "$(budget 60)" "$build/src/comm/nccl/nccl_comm_test" >"$out/nccl_comm_test.log" 2>&1 ||
  fail 9 "nccl_comm_test"
grep -E "^\[ *(OK|FAILED|SKIPPED|PASSED) |Failure" "$out/nccl_comm_test.log" | head -30
# shellcheck disable=SC2086 # DRC_MPIRUN_FLAGS is a list of flags
timeout "$(budget 60)" "$DRC_MPIRUN" $DRC_MPIRUN_FLAGS -n 1 "$drc" forecast --data "$csv" \
  --models MLP,LSTM --h 24 --input-size 24 --steps 100 --freq ME --seed 1 --device cuda \
  --backend nccl --json >"$out/forecast_nccl1.jsonl" 2>"$out/forecast_nccl1.err" ||
  fail 10 "forecast over nccl, 1 rank"
cat "$out/forecast_nccl1.jsonl"
tail -5 "$out/forecast_nccl1.err"
if timeout "$(budget 60)" "$drc" forecast --data "$csv" --models MLP --steps 5 --device cuda \
  --ranks 2 --backend nccl >/dev/null 2>"$out/forecast_nccl2.err"; then
  fail 11 "2 ranks over nccl on one GPU were not refused"
elif ! grep -q "would share GPU 0" "$out/forecast_nccl2.err"; then
  fail 11 "2 ranks over nccl on one GPU: not the expected error"
fi
tail -5 "$out/forecast_nccl2.err"

models=MLP,RNN,LSTM,GRU,TCN,DilatedRNN,DeepAR,NBEATS,NHITS,PatchTST,TimesNet,Autoformer,FEDformer,VanillaTransformer,DLinear,NLinear,TiDE,TFT,BiTCN,KAN
stage "drc forecast --device cuda, 19 models"
timeout "$(budget 90)" "$drc" forecast --data "$csv" --models "$models" --h 24 --input-size 24 --steps 100 \
  --freq ME --seed 1 --device cuda --json >"$out/forecast_cuda.jsonl" 2>"$out/forecast_cuda.err" ||
  fail 6 "forecast on the GPU"
cat "$out/forecast_cuda.jsonl"
tail -5 "$out/forecast_cuda.err"

stage "drc forecast --device cuda --ranks 2 --backend gloo"
timeout "$(budget 60)" "$drc" forecast --data "$csv" --models MLP,LSTM,NHITS --h 24 --input-size 24 \
  --steps 100 --freq ME --seed 1 --device cuda --ranks 2 --backend gloo --json \
  >"$out/forecast_cuda_gloo2.jsonl" 2>"$out/forecast_cuda_gloo2.err" || fail 7 "2 ranks on the GPU"
cat "$out/forecast_cuda_gloo2.jsonl"
tail -5 "$out/forecast_cuda_gloo2.err"

stage "drc hydro --device cuda, alone and over nccl on 1 rank (data-parallel path)"
timeout "$(budget 60)" "$drc" hydro --data "$deps/data/camels_us_sample" --epochs 2 --seq-length 90 \
  --device cuda --json >"$out/hydro_cuda.jsonl" 2>"$out/hydro_cuda.err" || fail 13 "hydro on the GPU"
# shellcheck disable=SC2086 # DRC_MPIRUN_FLAGS is a list of flags
timeout "$(budget 60)" "$DRC_MPIRUN" $DRC_MPIRUN_FLAGS -n 1 "$drc" hydro \
  --data "$deps/data/camels_us_sample" --epochs 2 --seq-length 90 --device cuda --backend nccl \
  --json >"$out/hydro_nccl1.jsonl" 2>"$out/hydro_nccl1.err" || fail 14 "hydro over nccl, 1 rank"
tail -1 "$out/hydro_cuda.jsonl" "$out/hydro_nccl1.jsonl"
tail -3 "$out/hydro_cuda.err" "$out/hydro_nccl1.err"

stage "a dl.forecast function task with a GPU per rank (drc-dl's worker pool binds cuda:N)"
DRC_DATA_DIR=$deps/data timeout "$(budget 60)" "$drc" run "$root/tests/data/forecast_function_gpu.yaml" \
  --workdir "$out/function-gpu" --quiet >"$out/function_gpu.log" 2>&1 || fail 12 "function task on the GPU"
tail -5 "$out/function_gpu.log"
cat "$out/function-gpu/MLP-on-gpu/MLP-on-gpu.out" 2>/dev/null || true

stage "dl_test: all"
[ "$(budget 240)" -ge 30 ] || {
  echo "== skipped: $((deadline - SECONDS)) s left"
  exit $status
}
timeout "$(budget 240)" "$build/src/dl/dl_test" --gtest_output="xml:$out/dl_test_all.xml" \
  >"$out/dl_test_all.log" 2>&1 || fail 8 "dl_test"
grep -E "^\[  FAILED  \]|^\[  PASSED  \]|tests ran" "$out/dl_test_all.log" | head -30

stage "done, status $status"
exit $status
