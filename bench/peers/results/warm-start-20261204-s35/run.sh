#!/usr/bin/env bash
# Session 35's warm-start runs: drc forecast --cv-windows 3 --cv-step 12 --cv-refit 1, each fit
# from the initial weights (drc.jsonl) and chained as NF's (--warm-start: drc_warm.jsonl),
# against NeuralForecast 3.3's cross_validation(n_windows=3, step_size=12, refit=True) as NF
# runs it (nf.jsonl: its fits chained), seeds 1-3, published settings otherwise (h 24,
# input_size 24, 100 steps), 2 threads. Then the warm runs and NF's with conformal intervals
# (--level 80 --conformal-windows 2: *_conformal.jsonl), where the chain also runs from each
# calibration copy to the fit it calibrates. From the repository root, after `make` and
# bench/peers/setup_dl_peers.sh (DRC=a copy of the binary, so that rebuilding does not change a
# run). Runs alternate ours and NF's per model and seed.
set -euo pipefail
D=../shared/data/us_carrier/us_carrier_passenger.csv
R=bench/peers/results/warm-start-20261204-s35
DRC=${DRC:-build/release/apps/drc/drc}
NF="bench/peers/.venv-dl/bin/python bench/peers/nf_forecast.py"
MODELS=${MODELS:-MLP NHITS NBEATS LSTM}
cv=(--threads 2 --cv-windows 3 --cv-step 12 --cv-refit 1)
conformal=(--level 80 --conformal-windows 2)
for m in $MODELS; do
  for s in 1 2 3; do
    $DRC forecast --data $D --models "$m" --seed $s "${cv[@]}" --json >> "$R/drc.jsonl"
    $DRC forecast --data $D --models "$m" --seed $s "${cv[@]}" --warm-start --json >> "$R/drc_warm.jsonl"
    $NF $D --models "$m" --seed $s "${cv[@]}" >> "$R/nf.jsonl" 2>/dev/null
  done
done
for m in $MODELS; do
  for s in 1 2 3; do
    $DRC forecast --data $D --models "$m" --seed $s "${cv[@]}" "${conformal[@]}" --warm-start \
      --json >> "$R/drc_warm_conformal.jsonl"
    $NF $D --models "$m" --seed $s "${cv[@]}" "${conformal[@]}" >> "$R/nf_conformal.jsonl" 2>/dev/null
  done
done
