#!/usr/bin/env bash
# Checks that the AVX-512 and AVX2 clones of our batched product's kernel (src/dl/fast_ops.cc,
# MatmulFloat) hold vector code. GCC 12 once left them scalar when the file was compiled with the
# dl layer's precompiled header (src/dl/CMakeLists.txt), halving the attention's speed with no
# test failing.
#   bash scripts/check-vectorized.sh build/release/apps/drc/drc-dl
set -euo pipefail
binary=${1:?usage: check-vectorized.sh BINARY}
listing=$(objdump -d --no-show-raw-insn -C "$binary")
status=0
for clone in avx512f:zmm avx2:ymm; do
  name=${clone%%:*} register=${clone##*:}
  body=$(awk -v want="MatmulFloat(float const*, float const*, float*, long, long, long) [clone .$name]>:" '
    /^[0-9a-f]+ <.*>:$/ { inside = index($0, want) > 0; next }
    inside' <<<"$listing")
  if [ -z "$body" ]; then
    echo "check-vectorized: no $name clone of MatmulFloat in $binary" >&2
    status=1
  elif ! grep -q "%$register" <<<"$body"; then
    echo "check-vectorized: the $name clone of MatmulFloat in $binary has no $register instruction (scalar code)" >&2
    status=1
  else
    echo "check-vectorized: MatmulFloat [$name] uses $register registers"
  fi
done
exit $status
