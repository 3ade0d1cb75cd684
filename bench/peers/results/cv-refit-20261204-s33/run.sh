#!/usr/bin/env bash
# Session 33's refit cross-validation runs: drc forecast --cv-windows 3 --cv-step 12 --cv-refit 1
# against NeuralForecast 3.3's cross_validation(n_windows=3, step_size=12, refit=True) as NF
# runs it (each refit goes on from the previous fit's weights) and with each fit from the
# initial weights (--cv-refit-from-init: drc's semantics), seeds 1-3, published settings
# otherwise (h 24, input_size 24, 100 steps), 2 threads. Then the same with conformal intervals
# (--level 80 --conformal-windows 2). From the repository root, after `make` and
# bench/peers/setup_dl_peers.sh (DRC=a copy of the binary, so that rebuilding does not change a
# run). Runs alternate ours and NF's per model and seed.
set -euo pipefail
D=../shared/data/us_carrier/us_carrier_passenger.csv
R=bench/peers/results/cv-refit-20261204-s33
DRC=${DRC:-build/release/apps/drc/drc}
NF="bench/peers/.venv-dl/bin/python bench/peers/nf_forecast.py"
MODELS=${MODELS:-MLP NHITS NBEATS LSTM}
cv=(--threads 2 --cv-windows 3 --cv-step 12 --cv-refit 1)
for extra in "" "--level 80 --conformal-windows 2"; do
  tag=${extra:+_conformal}
  # shellcheck disable=SC2086
  for m in $MODELS; do
    for s in 1 2 3; do
      $DRC forecast --data $D --models "$m" --seed $s "${cv[@]}" $extra --json >> "$R/drc$tag.jsonl"
      $NF $D --models "$m" --seed $s "${cv[@]}" --cv-refit-from-init $extra >> "$R/nf_from_init$tag.jsonl" 2>/dev/null
      $NF $D --models "$m" --seed $s "${cv[@]}" $extra >> "$R/nf$tag.jsonl" 2>/dev/null
    done
  done
done
