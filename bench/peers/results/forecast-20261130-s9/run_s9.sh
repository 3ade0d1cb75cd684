#!/usr/bin/env bash
# Session 9's measurements (commands in README.md of this folder). OLD: a drc-dl built from
# 04dd398 (before the -fopenmp fix); NEW: built from the session's final kernels.
set -euo pipefail
OLD=${OLD:-/tmp/s9old/drc-dl}; NEW=${NEW:-/tmp/s9b/drc-dl}
here=$(cd "$(dirname "$0")" && pwd); root=$(cd "$here/../../../.." && pwd)
C=$root/../shared/data/us_carrier/us_carrier_passenger.csv
D=$root/../shared/data/camels_us_sample
cd "$root"
# 1. PatchTST against NeuralForecast, alternated, 4 rounds x seeds 1-3.
DRC_BIN=$(dirname "$NEW")/drc bash bench/forecast_compare.sh PatchTST "1 2 3" 2 4 > "$here/patchtst_vs_nf.txt"
# 2. Ours before and after, alternated, 2 rounds, seed 1: the other models whose kernels changed.
for r in 1 2; do for m in VanillaTransformer Autoformer FEDformer TimesNet; do for v in old new; do
  bin=$OLD; [ $v = new ] && bin=$NEW
  "$bin" forecast --data "$C" --models $m --h 24 --input-size 24 --steps 100 --freq ME --seed 1 \
    --threads 2 --json | sed "s/}\$/,\"seed\":1,\"round\":$r,\"binary\":\"$v\"}/" >> "$here/old_new.jsonl"
done; done; done
# 3. The hydrology LSTM (dropout head), 2 epochs, before and after, 3 rounds.
for r in 1 2 3; do for v in old new; do
  bin=$OLD; [ $v = new ] && bin=$NEW
  "$bin" hydro --data "$D" --model LSTM --epochs 2 --seed 1 --threads 2 --json |
    sed "s/}\$/,\"round\":$r,\"binary\":\"$v\"}/" >> "$here/hydro_old_new.jsonl"
done; done
