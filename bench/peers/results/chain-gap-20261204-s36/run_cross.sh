#!/usr/bin/env bash
# Session 36: NF's second link from our first. For seeds 1-8, our calibration copy of the chain
# on the series cut at 2022-10 (NBEATS trained on the rows up to 2018-09: the cross-validation
# fit of run_fit1.sh, written with --checkpoint-dir) is loaded into NF's NBEATS, which then fits
# the rows up to 2020-10 from it (nf_fit_from.py) and forecasts the 24 months after:
# cross_nf_from_ours.jsonl. Set beside session 35's chained runs of each side (cut_drc_warm.jsonl,
# cut_nf_conformal.jsonl), it tells which link parts the chains. The control,
# cross_nf_from_nf.jsonl, runs NF's second link the same way from NF's own first one (its
# cross-validation fit of the same rows, copied into a new model: nf_fit_from.py --nf-first),
# which must give NF's chained numbers of session 35 (cut_nf_conformal.jsonl) exactly.
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
  rm -rf "$work/ck"
  $DRC forecast --data "$work/cut2020.csv" --models NBEATS --seed "$s" --threads 2 \
    --cv-windows 2 --cv-step 1 --checkpoint-dir "$work/ck" --json > /dev/null
  $PY "$R/nf_fit_from.py" "$work/cut2022.csv" --seed "$s" --ckpt "$work/ck/NBEATS.ckpt" \
    >> "$R/cross_nf_from_ours.jsonl" 2>/dev/null
done
for s in 1 2 3 4 5 6 7 8; do
  $PY "$R/nf_fit_from.py" "$work/cut2022.csv" --seed "$s" --nf-first "$work/cut2020.csv" \
    >> "$R/cross_nf_from_nf.jsonl" 2>/dev/null
done
