#!/usr/bin/env bash
# Session 35's runs on the carrier series cut at 2022-10-31 (the first refit window of run.sh's
# cross-validation: its forecast is the plain forecast of this cut), NBEATS and MLP, seeds 1-8,
# 2 threads: a single fit (cut_drc.jsonl, cut_nf.jsonl) and the chain calibration copy -> fit
# (--level 80 --conformal-windows 2, ours with --warm-start: cut_drc_warm.jsonl,
# cut_nf_conformal.jsonl). Same set-up as run.sh.
set -euo pipefail
D=../shared/data/us_carrier/us_carrier_passenger.csv
R=bench/peers/results/warm-start-20261204-s35
DRC=${DRC:-build/release/apps/drc/drc}
NF="bench/peers/.venv-dl/bin/python bench/peers/nf_forecast.py"
cut=$(mktemp --suffix=.csv)
trap 'rm -f "$cut"' EXIT
awk -F, 'NR == 1 || $2 <= "2022-10-31"' "$D" > "$cut"  # ISO dates: string order is date order
conformal=(--level 80 --conformal-windows 2)
for m in NBEATS MLP; do
  for s in 1 2 3 4 5 6 7 8; do
    $DRC forecast --data "$cut" --models $m --seed $s --threads 2 --json >> "$R/cut_drc.jsonl"
    $DRC forecast --data "$cut" --models $m --seed $s --threads 2 "${conformal[@]}" --warm-start \
      --json >> "$R/cut_drc_warm.jsonl"
    $NF "$cut" --models $m --seed $s --threads 2 >> "$R/cut_nf.jsonl" 2>/dev/null
    $NF "$cut" --models $m --seed $s --threads 2 "${conformal[@]}" >> "$R/cut_nf_conformal.jsonl" 2>/dev/null
  done
done
