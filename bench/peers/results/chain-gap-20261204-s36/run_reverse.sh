#!/usr/bin/env bash
# Session 36: our second link of the chain from NF's first, the reverse of run_cross.sh. For
# seeds 1-8, NF's calibration copy (nf_first_to_ckpt.py: NF's cross-validation fit of the rows up
# to 2020-10, 2 windows 1 apart, as its conformal calibration trains it) is written as our
# checkpoint, and drc forecast --init-from trains our NBEATS on the series cut at 2022-10 (its
# last 24 months held out) from it: reverse_drc_from_nf.jsonl. The control,
# reverse_drc_from_ours.jsonl, does the same from our own calibration copy (run_cross.sh's
# checkpoint), which must give session 35's chained lines (cut_drc_warm.jsonl) exactly.
set -euo pipefail
D=../shared/data/us_carrier/us_carrier_passenger.csv
R=bench/peers/results/chain-gap-20261204-s36
DRC=${DRC:-build/release/apps/drc/drc}
PY=bench/peers/.venv-dl/bin/python
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
awk -F, 'NR == 1 || $2 <= "2020-10-31"' "$D" > "$work/cut2020.csv"  # ISO dates sort as text
awk -F, 'NR == 1 || $2 <= "2022-10-31"' "$D" > "$work/cut2022.csv"
for s in 1 2 3 4 5 6 7 8; do
  rm -rf "$work/ours" "$work/nf"
  mkdir -p "$work/nf"
  $DRC forecast --data "$work/cut2020.csv" --models NBEATS --seed "$s" --threads 2 \
    --cv-windows 2 --cv-step 1 --checkpoint-dir "$work/ours" --json > /dev/null
  $DRC forecast --data "$work/cut2022.csv" --models NBEATS --seed "$s" --threads 2 \
    --init-from "$work/ours" --json >> "$R/reverse_drc_from_ours.jsonl"
  $PY "$R/nf_first_to_ckpt.py" "$work/cut2020.csv" --seed "$s" \
    --template "$work/ours/NBEATS.ckpt" --out "$work/nf/NBEATS.ckpt" 2>/dev/null
  $DRC forecast --data "$work/cut2022.csv" --models NBEATS --seed "$s" --threads 2 \
    --init-from "$work/nf" --json >> "$R/reverse_drc_from_nf.jsonl"
done
