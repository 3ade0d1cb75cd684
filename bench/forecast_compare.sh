#!/usr/bin/env bash
# drc forecast vs NeuralForecast, side by side on the US air-carrier series with the published
# settings (train on all but the last 24 months, h=24, input_size=24, max_steps=100, NF's
# default hyper-parameters), same models, seeds and intra-op threads, one model at a time.
#   bash bench/forecast_compare.sh [MODELS] [SEEDS] [THREADS] [ROUNDS]
#   bash bench/forecast_compare.sh MLP,NBEATS,NHITS,RNN "1 2 3" 2
#   bash bench/forecast_compare.sh RNN,LSTM "1 2 3" 2 4   # 4 rounds: 12 runs a side per model
# Writes JSON lines to bench/results/forecast-<timestamp>/{drc,nf}_seed<S>.jsonl and prints the
# per-model table (median over seeds) of bench/peers/forecast_table.py. Run it on a quiet machine:
# the seconds are wall times. The VM's speed drifts within the hour and moves both sides
# differently, so ROUNDS > 1 repeats every (model, seed) pair, alternated, and the table's
# seconds are medians over all rounds (the MAEs repeat exactly). Needs the release build and `bash bench/peers/setup_dl_peers.sh`.
# DRC_BIN=PATH runs another drc binary (e.g. a copy, so that rebuilding does not change a run).
# LOSS=NAME trains every model with that point loss on both sides (drc forecast --loss, NF's
# loss=; e.g. LOSS=MSE, LOSS='HuberLoss(0.5)' or LOSS='MQLoss(level=[80, 90])').
# LEVEL=L1,L2 asks both sides for those prediction intervals (drc forecast --level, NF's
# predict(level=...)): each line then carries coverage_L and width_L (e.g. with LOSS=MQLoss).
# SCALER=NAME sets every model's scaler on both sides (drc forecast --scaler, NF's scaler_type).
# PARAMS="MODEL.KEY=VALUE ..." sets those hyper-parameters on both sides (drc forecast --param,
# nf_forecast.py --param; e.g. PARAMS=xLSTM.backbone=sLSTM or PARAMS="LSTM.decoder_activation=Tanh").
# FREQ=ALIAS is the data's pandas frequency on both sides (default ME, the carrier's month ends;
# FREQ=D for the daily CAMELS table of bench/peers/camels_long.py).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
models=${1:-MLP,RNN,LSTM,GRU,TCN,DilatedRNN,DeepAR,NBEATS,NHITS,PatchTST,TimesNet,Autoformer,FEDformer,VanillaTransformer}
seeds=${2:-1 2 3}
threads=${3:-$(nproc)}
rounds=${4:-1}
csv=${DRC_CARRIER_CSV:-$root/../shared/data/us_carrier/us_carrier_passenger.csv}
drc=${DRC_BIN:-$root/build/release/apps/drc/drc}
out=$root/bench/results/forecast-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$out"
extra=()
if [ -n "${LOSS:-}" ]; then extra=(--loss "$LOSS"); fi
if [ -n "${LEVEL:-}" ]; then extra+=(--level "$LEVEL"); fi
if [ -n "${SCALER:-}" ]; then extra+=(--scaler "$SCALER"); fi
for p in ${PARAMS:-}; do extra+=(--param "$p"); done
freq=${FREQ:-ME}

bash "$here/peers/setup_dl_peers.sh"
[ -x "$drc" ] || { echo "forecast_compare: build first (make build)" >&2; exit 1; }

for ((r = 1; r <= rounds; r++)); do
  for s in $seeds; do
    IFS=, read -ra list <<<"$models"
    for m in "${list[@]}"; do
      "$drc" forecast --data "$csv" --models "$m" --h 24 --input-size 24 --steps 100 \
        --freq "$freq" --seed "$s" --threads "$threads" "${extra[@]}" --json |
        sed "s/}\$/,\"seed\":$s,\"round\":$r}/" >>"$out/drc_seed$s.jsonl"
      "$here/peers/.venv-dl/bin/python" "$here/peers/nf_forecast.py" "$csv" --models "$m" \
        --freq "$freq" --seed "$s" --threads "$threads" "${extra[@]}" | sed "s/}\$/,\"round\":$r}/" >>"$out/nf_seed$s.jsonl"
    done
  done
done
/usr/bin/python3 "$here/peers/forecast_table.py" --ours "$out"/drc_seed*.jsonl \
  --theirs "$out"/nf_seed*.jsonl | tee "$out/table.md"
