#!/usr/bin/env bash
# Checks that the AVX-512 and AVX2 clones of our kernels in src/dl/fast_ops.cc hold vector code:
# the batched product (MatmulFloat) and Adam's update (AdamUpdate). GCC 12 once left the product
# scalar when the file was compiled with the dl layer's precompiled header
# (src/dl/CMakeLists.txt), halving the attention's speed with no test failing; the update needs
# -fno-math-errno for its square root.
#   bash scripts/check-vectorized.sh build/release/apps/drc/drc-dl
set -euo pipefail
binary=${1:?usage: check-vectorized.sh BINARY}
listing=$(objdump -d --no-show-raw-insn -C "$binary")
status=0
for entry in \
  'MatmulFloat|MatmulFloat(float const*, float const*, float*, long, long, long)' \
  'AdamUpdate|drc::dl::(anonymous namespace)::AdamUpdate(float*, float const*, float*, float*, long, drc::dl::(anonymous namespace)::AdamScalars)'; do
  short=${entry%%|*} kernel=${entry#*|}
  for clone in avx512f:zmm avx2:ymm; do
    name=${clone%%:*} register=${clone##*:}
    body=$(awk -v want="$kernel [clone .$name]>:" '
      /^[0-9a-f]+ <.*>:$/ { inside = index($0, want) > 0; next }
      inside' <<<"$listing")
    if [ -z "$body" ]; then
      echo "check-vectorized: no $name clone of $short in $binary" >&2
      status=1
    elif ! grep -q "%$register" <<<"$body"; then
      echo "check-vectorized: the $name clone of $short in $binary has no $register instruction (scalar code)" >&2
      status=1
    else
      echo "check-vectorized: $short [$name] uses $register registers"
    fi
  done
done
exit $status
