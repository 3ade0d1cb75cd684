#!/usr/bin/env bash
# Ours with NF's temporal decoder (TiDE's default since this run's binary) on the same CAMELS
# table and settings as bench/forecast_exog.sh, seeds 1-3: without and with the forcings.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
drc=${DRC_BIN:-$here/../../../../build/release/apps/drc/drc}
csv=${1:?the camels.csv that bench/forecast_exog.sh wrote}
common=(--h 7 --input-size 28 --freq D --threads 2 --scaler standard --cv-windows 52 --cv-step 7
  --models TiDE --steps 500 --json)
for s in 1 2 3; do
  "$drc" forecast --data "$csv" --seed "$s" "${common[@]}" >>"$here/drc_nf_block_base.jsonl"
  "$drc" forecast --data "$csv" --seed "$s" "${common[@]}" \
    --futr-exog prcp,srad,tmax,tmin,vp,dayl >>"$here/drc_nf_block_exog.jsonl"
done
