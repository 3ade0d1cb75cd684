#!/usr/bin/env bash
# Session 16's cross-validation runs (accuracy only: the build ran beside them, so the seconds do
# not count): drc forecast --cv-windows 3 --cv-step 12 against NF's cross_validation(n_windows=3,
# step_size=12, refit=False), seeds 1-3, published settings otherwise. From the repository root,
# after `make` and bench/peers/setup_dl_peers.sh (DRC=a copy of the binary, so that rebuilding
# does not change a run).
set -euo pipefail
D=../shared/data/us_carrier/us_carrier_passenger.csv
R=bench/peers/results/cv-20261201-s16
DRC=${DRC:-build/release/apps/drc/drc}
NF="bench/peers/.venv-dl/bin/python bench/peers/nf_forecast.py"
for s in 1 2 3; do
  $DRC forecast --data $D --models MLP,NBEATS,NHITS,LSTM --seed $s --threads 2 \
      --cv-windows 3 --cv-step 12 --json
done > $R/drc_seeds1-3.jsonl
$NF $D --models MLP,NBEATS,NHITS,LSTM --seed 1 2 3 --threads 2 --cv-windows 3 --cv-step 12 \
    > $R/nf_seeds1-3.jsonl
