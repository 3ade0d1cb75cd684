#!/usr/bin/env bash
# The forecasting pipeline end to end, four ways, on the US air-carrier series with the published
# settings (h=24, input_size=24, 100 steps, freq ME, seed SEED; NF's defaults otherwise), one
# model per task where there are tasks, on CORES cores:
#   drc-pipeline:  `drc run` on a pipeline file (prepare, then a dl.forecast function task per
#                  model on the pilot's worker pool, one core each, then a gather task);
#   drc-sequential: `drc forecast --models ALL --threads CORES`, one process, model after model;
#   nf-sequential: bench/peers/nf_forecast.py --models ALL --threads CORES, one Python process
#                  (NeuralForecast as a notebook runs it);
#   rp+nf:         RADICAL-Pilot running one nf_forecast.py task per model, one core each
#                  (bench/peers/rp_nf_pipeline.py: the published system's shape).
# With HYDRO=LSTM each way also trains the hydrology LSTM on the CAMELS-US sample
# (NeuralHydrology's configuration, HYDRO_EPOCHS epochs, default 30; seed SEED), the other half
# of the published evaluation: a hydro stage of one task (one core) in the pipeline, `drc hydro
# --threads CORES` after drc forecast, bench/peers/nh_camels.py (NeuralHydrology's CudaLSTM,
# CORES threads) after NF, one nh_camels.py task of one core under RP.
# `wall_s` is what the user waits for: process start to exit for the first three (imports, pool
# and pilot start included), RP session creation until every task is final for rp+nf (its
# session close left out). Each line also carries every model's MAE (and the LSTM's median NSE).
#   bash bench/pipeline_compare.sh [MODELS] [SEED] [CORES] [OUT.jsonl] [HYDRO]
#   bash bench/pipeline_compare.sh GRU,PatchTST,DeepAR,LSTM,NBEATS,NHITS,TCN 1 2 /tmp/p.jsonl LSTM
# Needs the peers' virtual environments (bench/peers/setup_peers.sh, setup_dl_peers.sh).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
models=${1:-GRU,PatchTST,DeepAR,LSTM,NBEATS,NHITS,TCN}
seed=${2:-1}
cores=${3:-2}
out=${4:-/dev/stdout}
hydro=${5:-}
hydro_epochs=${HYDRO_EPOCHS:-30}
[ -z "$hydro" ] || [ "$hydro" = LSTM ] || { echo "pipeline_compare: HYDRO is LSTM or empty" >&2; exit 2; }
drc=${DRC_BIN:-$root/build/release/apps/drc/drc}
shared=$(cd "$root/.." && pwd)/shared/data
csv=${DRC_CARRIER_CSV:-$shared/us_carrier/us_carrier_passenger.csv}
camels=${DRC_CAMELS_DIR:-$shared/camels_us_sample}
[ -x "$drc" ] || { echo "pipeline_compare: build first (make build)" >&2; exit 1; }
work=$(mktemp -d /tmp/drc-pipeline-compare.XXXXXX)
trap 'rm -rf "$work"' EXIT

now() { date +%s.%N; }
# One JSON line: system, models, cores, seed, wall_s, mae {model: value}, done (models scored),
# and with HYDRO hydro, hydro_epochs and median_nse, from JSON lines on stdin.
record() {  # system wall_s
  python3 -c '
import json, sys
system, wall, models, cores, seed, hydro, epochs = sys.argv[1], float(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), sys.argv[6], int(sys.argv[7])
mae, nse = {}, None
for line in sys.stdin:
    line = line.strip()
    if line.startswith("{"):
        j = json.loads(line)
        for r in j.get("results", [j]):
            if "mae" in r:
                mae[r["model"]] = r["mae"]
            if "median_nse" in r:
                nse = r["median_nse"]
line = {"system": system, "models": models.split(","), "cores": cores, "seed": seed,
        "wall_s": round(wall, 3), "done": len(mae) + (nse is not None), "mae": mae}
if hydro:
    line.update(hydro=hydro, hydro_epochs=epochs, median_nse=nse)
print(json.dumps(line))
' "$1" "$2" "$models" "$cores" "$seed" "$hydro" "$hydro_epochs"
}

{
  echo "name: pipeline-compare"
  echo "pilot: {cores: $cores}"
  echo "stages:"
  if [ -n "$hydro" ]; then
    echo "  - {name: hydrology, kind: hydro, data: $camels, models: [LSTM], epochs: $hydro_epochs, seed: $seed, cores: 1}"
  fi
  echo "  - {name: prepare, kind: prepare, input: $csv, drop_nulls: [y], resample: ME}"
  echo "  - name: forecast"
  echo "    kind: forecast"
  echo "    from: prepare"
  echo "    models: [$models]"
  printf '    %s\n' "h: 24" "input_size: 24" "steps: 100" "seed: $seed" "freq: ME" "cores: 1"
  echo "  - name: gather"
  echo "    after: [forecast]"
  echo "    tasks: [{shell: true, executable: 'cat ../forecast.*/*.out > ../metrics.jsonl'}]"
  if [ -n "$hydro" ]; then
    echo "  - name: gather-hydro"
    echo "    after: [hydrology]"
    echo "    tasks: [{shell: true, executable: 'cat ../hydrology.*/*.out > ../hydro.jsonl'}]"
  fi
} >"$work/pipeline.yaml"

t0=$(now)
"$drc" run "$work/pipeline.yaml" --workdir "$work/run" --quiet 2>"$work/run.log" ||
  { cat "$work/run.log" >&2; exit 1; }
t1=$(now)
touch "$work/run/hydro.jsonl"
cat "$work/run/metrics.jsonl" "$work/run/hydro.jsonl" |
  record drc-pipeline "$(awk "BEGIN { print $t1 - $t0 }")" >>"$out"

t0=$(now)
"$drc" forecast --data "$csv" --models "$models" --h 24 --input-size 24 --steps 100 --freq ME \
  --seed "$seed" --threads "$cores" --json >"$work/sequential.jsonl"
if [ -n "$hydro" ]; then
  "$drc" hydro --data "$camels" --model LSTM --epochs "$hydro_epochs" --seed "$seed" \
    --threads "$cores" --json >>"$work/sequential.jsonl"
fi
t1=$(now)
record drc-sequential "$(awk "BEGIN { print $t1 - $t0 }")" <"$work/sequential.jsonl" >>"$out"

t0=$(now)
"$here/peers/.venv-dl/bin/python" "$here/peers/nf_forecast.py" "$csv" --models "$models" \
  --seed "$seed" --threads "$cores" --freq ME >"$work/nf.jsonl" 2>"$work/nf.log"
if [ -n "$hydro" ]; then
  "$here/peers/.venv-dl/bin/python" "$here/peers/nh_camels.py" "$camels" --model cudalstm \
    --epochs "$hydro_epochs" --seed "$seed" --threads "$cores" >>"$work/nf.jsonl" 2>>"$work/nf.log"
fi
t1=$(now)
record nf-sequential "$(awk "BEGIN { print $t1 - $t0 }")" <"$work/nf.jsonl" >>"$out"

rp_hydro=()
[ -z "$hydro" ] || rp_hydro=(--hydro "$camels" --hydro-epochs "$hydro_epochs")
"$here/peers/.venv/bin/python" "$here/peers/rp_nf_pipeline.py" "$csv" --models "$models" \
  --cores "$cores" --seed "$seed" "${rp_hydro[@]}" >"$work/rp.json" 2>"$work/rp.log"
wall=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["wall_s"])' "$work/rp.json")
record rp+nf "$wall" <"$work/rp.json" >>"$out"
