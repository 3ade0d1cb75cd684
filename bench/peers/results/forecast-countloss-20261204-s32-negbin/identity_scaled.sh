#!/usr/bin/env bash
# NegativeBinomial on the models with NF's identity scaler: ours at seeds 1-3; NF at seed 1,
# where its torch refuses the distribution (probs reach 1 in float32) and the run stops.
set -u
here=$(cd "$(dirname "$0")/../../.." && pwd)
csv=${DRC_CARRIER_CSV:-$here/../../shared/data/us_carrier/us_carrier_passenger.csv}
drc=${DRC_BIN:-$here/../build/release/apps/drc/drc}
loss='DistributionLoss(NegativeBinomial, level=[80, 90])'
out=$(dirname "$0")
for m in MLP NHITS NBEATS PatchTST; do
  for s in 1 2 3; do
    "$drc" forecast --data "$csv" --models "$m" --h 24 --input-size 24 --steps 100 --freq ME \
      --seed "$s" --threads 2 --loss "$loss" --level 80,90 --json >>"$out/identity_drc.jsonl"
  done
  "$here/peers/.venv-dl/bin/python" "$here/peers/nf_forecast.py" "$csv" --models "$m" --seed 1 \
    --threads 2 --loss "$loss" --level 80,90 >>"$out/identity_nf.jsonl" 2>"$out/identity_nf_$m.err"
  echo "$m: NF exit $?" >>"$out/identity_nf_exit.txt"
done
