#!/usr/bin/env bash
# NegativeBinomial with --scaler robust (NF's scaler_type='robust') on the models whose own
# scaler is the identity: both sides at seeds 1-3, alternated; NF's runs that stop (its probs
# reach 1 in float32) are counted in robust_nf_exit.txt.
set -u
here=$(cd "$(dirname "$0")/../../.." && pwd)
csv=${DRC_CARRIER_CSV:-$here/../../shared/data/us_carrier/us_carrier_passenger.csv}
drc=${DRC_BIN:-$here/../build/release/apps/drc/drc}
loss='DistributionLoss(NegativeBinomial, level=[80, 90])'
out=$(dirname "$0")
for m in MLP NHITS NBEATS; do
  for s in 1 2 3; do
    "$drc" forecast --data "$csv" --models "$m" --h 24 --input-size 24 --steps 100 --freq ME \
      --seed "$s" --threads 2 --scaler robust --loss "$loss" --level 80,90 --json \
      >>"$out/robust_drc.jsonl"
    "$here/peers/.venv-dl/bin/python" "$here/peers/nf_forecast.py" "$csv" --models "$m" \
      --seed "$s" --threads 2 --scaler robust --loss "$loss" --level 80,90 \
      >>"$out/robust_nf.jsonl" 2>/dev/null
    echo "$m seed $s: NF exit $?" >>"$out/robust_nf_exit.txt"
  done
done
