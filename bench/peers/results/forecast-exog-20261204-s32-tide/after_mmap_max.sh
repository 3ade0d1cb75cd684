#!/usr/bin/env bash
# Ours with NF's block and the forcings again, after KeepFreedMemoryForReuse turned mmap off for
# large blocks (M_MMAP_MAX 0): the same table and settings as nf_block.sh, seeds 1-3.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
drc=${DRC_BIN:-$here/../../../../build/release/apps/drc/drc}
csv=${1:?the camels.csv that bench/forecast_exog.sh wrote}
for s in 1 2 3; do
  "$drc" forecast --data "$csv" --seed "$s" --h 7 --input-size 28 --freq D --threads 2 \
    --scaler standard --cv-windows 52 --cv-step 7 --models TiDE --steps 500 --json \
    --futr-exog prcp,srad,tmax,tmin,vp,dayl >>"$here/drc_nf_block_exog_after_mmap_max.jsonl"
done
