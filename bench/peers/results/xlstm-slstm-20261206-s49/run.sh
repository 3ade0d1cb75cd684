#!/usr/bin/env bash
# xLSTM with backbone=sLSTM on the carrier (h 24, input 24, 100 steps), ours vs NF's xLSTM built
# on the xlstm package's vanilla sLSTM cell (bench/peers/slstm_vanilla.py), alternated per seed.
set -euo pipefail
cd /work/main
out=bench/results/xlstm-slstm-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$out"
csv=/work/shared/data/us_carrier/us_carrier_passenger.csv
for s in 1 2 3; do
  /tmp/s49bin/drc forecast --data "$csv" --models xLSTM --h 24 --input-size 24 --steps 100 --freq ME \
    --seed "$s" --threads 2 --param xLSTM.backbone=sLSTM --json | sed "s/}\$/,\"seed\":$s}/" >>"$out/drc.jsonl"
  bench/peers/.venv-dl/bin/python bench/peers/nf_exog.py "$csv" --models xLSTM --seed "$s" --threads 2 \
    --h 24 --input-size 24 --max-steps 100 --freq ME --param xLSTM.backbone=sLSTM | head -1 >>"$out/nf.jsonl"
done
echo "$out"
