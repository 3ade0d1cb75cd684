#!/usr/bin/env bash
# Session 15's interval runs (accuracy only: NF ran at 1 thread beside other work, so seconds
# do not count). From the repository root, after `make` and bench/peers/setup_dl_peers.sh.
set -euo pipefail
D=../shared/data/us_carrier/us_carrier_passenger.csv
R=bench/peers/results/intervals-20261201-s15
DRC=build/release/apps/drc/drc
NF="bench/peers/.venv-dl/bin/python bench/peers/nf_forecast.py"
# DeepAR's own intervals, with the standard scaler (its default identity scaler forecasts ~0
# on this series on both sides), seeds 1-10. (..._input24.jsonl: the same loop on be2d406, whose
# DeepAR read input_size values instead of NF's input_size + 1.)
for s in 1 2 3 4 5 6 7 8 9 10; do
  $DRC forecast --data $D --models DeepAR --scaler standard --seed $s --threads 2 \
      --level 80,90 --json
done > $R/drc_deepar_standard_seeds1-10.jsonl
$NF $D --models DeepAR --seed 1 2 3 4 5 6 7 8 9 10 --threads 1 --scaler standard \
    --level 80,90 > $R/nf_deepar_standard_seeds1-10.jsonl
# Conformal intervals of point models (NF: fit(prediction_intervals=PredictionIntervals())).
for s in 1 2 3; do
  $DRC forecast --data $D --models MLP,NHITS --seed $s --threads 2 --level 80,90 \
      --conformal-windows 2 --json
done > $R/drc_mlp_nhits_conformal_seeds1-3.jsonl
$NF $D --models MLP,NHITS --seed 1 2 3 --threads 1 --level 80,90 --conformal-windows 2 \
    > $R/nf_mlp_nhits_conformal_seeds1-3.jsonl
