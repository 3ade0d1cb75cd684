#!/usr/bin/env bash
# Session 14: LSTM and TCN at seeds 1-20 on both sides, on session 13's VM (accuracy only: the
# MAEs do not depend on the machine's load). From the project root:
#   bash bench/peers/results/forecast-20261201-s14/seeds.sh
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../../../.." && pwd)
csv=$root/../shared/data/us_carrier/us_carrier_passenger.csv
drc=${DRC_BIN:-$root/build/release/apps/drc/drc}  # a copy keeps a rebuild out of the runs
for m in LSTM TCN; do
  lower=$(echo "$m" | tr A-Z a-z)
  : >"$here/drc_${lower}_seeds1-20.jsonl"
  : >"$here/nf_${lower}_seeds1-20.jsonl"
  for s in $(seq 1 20); do
    "$drc" forecast --data "$csv" --models "$m" --h 24 --input-size 24 \
      --steps 100 --freq ME --seed "$s" --threads 2 --json |
      sed "s/}\$/,\"seed\":$s}/" >>"$here/drc_${lower}_seeds1-20.jsonl"
    "$root/bench/peers/.venv-dl/bin/python" "$root/bench/peers/nf_forecast.py" "$csv" --models "$m" \
      --seed "$s" --threads 2 | grep '"model"' >>"$here/nf_${lower}_seeds1-20.jsonl"
  done
done
