#!/usr/bin/env bash
# Session 35's plain forecasts with conformal intervals (the published evaluation: train on all
# but the last 24 points, forecast them; --level 80 --conformal-windows 2), seeds 1-3, 2 threads:
# ours from the initial weights (plain_drc.jsonl), ours chained (--warm-start:
# plain_drc_warm.jsonl, the fit going on from the calibration copy) and NF's
# fit(prediction_intervals=...) (plain_nf.jsonl, which chains them so). Same set-up as run.sh.
set -euo pipefail
D=../shared/data/us_carrier/us_carrier_passenger.csv
R=bench/peers/results/warm-start-20261204-s35
DRC=${DRC:-build/release/apps/drc/drc}
NF="bench/peers/.venv-dl/bin/python bench/peers/nf_forecast.py"
MODELS=${MODELS:-MLP NHITS NBEATS LSTM}
conformal=(--threads 2 --level 80 --conformal-windows 2)
for m in $MODELS; do
  for s in 1 2 3; do
    $DRC forecast --data $D --models "$m" --seed $s "${conformal[@]}" --json >> "$R/plain_drc.jsonl"
    $DRC forecast --data $D --models "$m" --seed $s "${conformal[@]}" --warm-start --json \
      >> "$R/plain_drc_warm.jsonl"
    $NF $D --models "$m" --seed $s "${conformal[@]}" >> "$R/plain_nf.jsonl" 2>/dev/null
  done
done
