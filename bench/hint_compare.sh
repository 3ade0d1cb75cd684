#!/usr/bin/env bash
# drc forecast --hierarchy vs NeuralForecast's HINT, side by side on a real hierarchy: daily
# streamflow volumes of the 4 CAMELS-US sample basins, the 2 of HUC region 01 and all 4 summed
# (bench/peers/camels_hierarchy.py), 2000-2002, forecast h=7 days from 28 with NHITS trained on
# GMM(n_components=10) (NF's HINT tutorial's base model and loss), robust scaler, 100 steps,
# levels 80 and 90. Each reconciliation and seed on both sides, alternated, same intra-op threads.
#   bash bench/hint_compare.sh [SEEDS] [THREADS] [RECONCILIATIONS]
#   bash bench/hint_compare.sh "1 2 3" 2 "BottomUp MinTraceOLS"
# Writes bench/results/hint-<timestamp>/{Y,S}.csv and JSON lines {drc,nf}_<R>.jsonl there.
# Needs the release build and `bash bench/peers/setup_dl_peers.sh`. DRC_BIN=PATH runs another
# drc binary; STEPS=N trains N steps; MODEL and LOSS change the base model and its loss.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
seeds=${1:-1 2 3}
threads=${2:-$(nproc)}
recs=${3:-BottomUp MinTraceOLS}
steps=${STEPS:-100}
model=${MODEL:-NHITS}
loss=${LOSS:-GMM(n_components=10)}
drc=${DRC_BIN:-$root/build/release/apps/drc/drc}
py=$here/peers/.venv-dl/bin/python
out=$root/bench/results/hint-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$out"

bash "$here/peers/setup_dl_peers.sh"
[ -x "$drc" ] || { echo "hint_compare: build first (make build)" >&2; exit 1; }
"$py" "$here/peers/camels_hierarchy.py" "$out"
for rec in $recs; do
  for seed in $seeds; do
    "$drc" forecast --data "$out/Y.csv" --models "$model" --h 7 --input-size 28 --steps "$steps" \
      --freq D --scaler robust --loss "$loss" --hierarchy "$out/S.csv" --reconciliation "$rec" \
      --level 80,90 --seed "$seed" --threads "$threads" --json \
      | sed "s/}\$/,\"seed\":$seed}/" >> "$out/drc_$rec.jsonl"
    "$py" "$here/peers/nf_hint.py" "$out/Y.csv" "$out/S.csv" --model "$model" --loss "$loss" \
      --reconciliation "$rec" --seed "$seed" --threads "$threads" --max-steps "$steps" \
      2>/dev/null >> "$out/nf_$rec.jsonl"
  done
done
echo "hint_compare: lines in $out"
