#!/usr/bin/env bash
# Session 36: the first link of session 35's chain on its own. The chained forecast of the
# series cut at 2022-10 holds out its last 24 months and trains a calibration copy without the
# last h + step * (windows - 1) = 25 of the rest (NF's PredictionIntervals(n_windows=2), whose
# windows are step_size=1 apart), on the rows up to 2018-09, and forecasts 24 months from the 2
# cutoffs with it. This runs that fit as a cross-validation of the rows up to 2020-10 (2 windows,
# step 1, one fit), ours and NF's, NBEATS and MLP, seeds 1-8, 2 threads: fit1_drc.jsonl,
# fit1_nf.jsonl. If the two sides agree here, the chains part at the fit that goes on from it.
set -euo pipefail
D=../shared/data/us_carrier/us_carrier_passenger.csv
R=bench/peers/results/chain-gap-20261204-s36
DRC=${DRC:-build/release/apps/drc/drc}
NF="bench/peers/.venv-dl/bin/python bench/peers/nf_forecast.py"
cut=$(mktemp --suffix=.csv)
trap 'rm -f "$cut"' EXIT
awk -F, 'NR == 1 || $2 <= "2020-10-31"' "$D" > "$cut"  # ISO dates: string order is date order
cv=(--cv-windows 2 --cv-step 1)
for m in NBEATS MLP; do
  for s in 1 2 3 4 5 6 7 8; do
    $DRC forecast --data "$cut" --models $m --seed $s --threads 2 "${cv[@]}" --json >> "$R/fit1_drc.jsonl"
    $NF "$cut" --models $m --seed $s --threads 2 "${cv[@]}" >> "$R/fit1_nf.jsonl" 2>/dev/null
  done
done
