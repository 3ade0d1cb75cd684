#!/usr/bin/env bash
# Session 36: session 35's chained NBEATS runs on the series cut at 2022-10 (run_cut.sh's
# cut_drc_warm.jsonl and cut_nf_conformal.jsonl, seeds 1-8) over seeds 1-24: the last 24 months
# held out, --level 80 --conformal-windows 2, ours with --warm-start; 2 threads. Seeds 1-8 must
# give session 35's lines again. chain_drc.jsonl, chain_nf.jsonl. MODELS (default NBEATS; MLP
# was run after it as MODELS=MLP) names the models.
set -euo pipefail
D=../shared/data/us_carrier/us_carrier_passenger.csv
R=bench/peers/results/chain-gap-20261204-s36
DRC=${DRC:-build/release/apps/drc/drc}
NF="bench/peers/.venv-dl/bin/python bench/peers/nf_forecast.py"
cut=$(mktemp --suffix=.csv)
trap 'rm -f "$cut"' EXIT
awk -F, 'NR == 1 || $2 <= "2022-10-31"' "$D" > "$cut"  # ISO dates: string order is date order
conformal=(--level 80 --conformal-windows 2)
for m in ${MODELS:-NBEATS}; do
  for s in $(seq 1 24); do
    $DRC forecast --data "$cut" --models "$m" --seed "$s" --threads 2 "${conformal[@]}" \
      --warm-start --json >> "$R/chain_drc.jsonl"
    $NF "$cut" --models "$m" --seed "$s" --threads 2 "${conformal[@]}" >> "$R/chain_nf.jsonl" \
      2>/dev/null
  done
done
