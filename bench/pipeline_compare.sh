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
# `wall_s` is what the user waits for: process start to exit for the first three (imports, pool
# and pilot start included), RP session creation until every task is final for rp+nf (its
# session close left out). Each line also carries every model's MAE.
#   bash bench/pipeline_compare.sh [MODELS] [SEED] [CORES] [OUT.jsonl]
#   bash bench/pipeline_compare.sh GRU,PatchTST,DeepAR,LSTM,NBEATS,NHITS,TCN 1 2 /tmp/p.jsonl
# Needs the peers' virtual environments (bench/peers/setup_peers.sh, setup_dl_peers.sh).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
models=${1:-GRU,PatchTST,DeepAR,LSTM,NBEATS,NHITS,TCN}
seed=${2:-1}
cores=${3:-2}
out=${4:-/dev/stdout}
drc=${DRC_BIN:-$root/build/release/apps/drc/drc}
csv=${DRC_CARRIER_CSV:-$(cd "$root/.." && pwd)/shared/data/us_carrier/us_carrier_passenger.csv}
[ -x "$drc" ] || { echo "pipeline_compare: build first (make build)" >&2; exit 1; }
work=$(mktemp -d /tmp/drc-pipeline-compare.XXXXXX)
trap 'rm -rf "$work"' EXIT

now() { date +%s.%N; }
# One JSON line: system, models, cores, seed, wall_s, mae {model: value}, from JSON lines on stdin.
record() {  # system wall_s
  python3 -c '
import json, sys
system, wall, models, cores, seed = sys.argv[1], float(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
mae = {}
for line in sys.stdin:
    line = line.strip()
    if line.startswith("{"):
        j = json.loads(line)
        for r in j.get("results", [j]):
            if "mae" in r:
                mae[r["model"]] = r["mae"]
print(json.dumps({"system": system, "models": models.split(","), "cores": cores, "seed": seed,
                  "wall_s": round(wall, 3), "done": len(mae), "mae": mae}))
' "$1" "$2" "$models" "$cores" "$seed"
}

{
  echo "name: pipeline-compare"
  echo "pilot: {cores: $cores}"
  echo "stages:"
  echo "  - {name: prepare, kind: prepare, input: $csv, drop_nulls: [y], resample: ME}"
  echo "  - name: forecast"
  echo "    kind: forecast"
  echo "    from: prepare"
  echo "    models: [$models]"
  printf '    %s\n' "h: 24" "input_size: 24" "steps: 100" "seed: $seed" "freq: ME" "cores: 1"
  echo "  - name: gather"
  echo "    after: [forecast]"
  echo "    tasks: [{shell: true, executable: 'cat ../forecast.*/*.out > ../metrics.jsonl'}]"
} >"$work/pipeline.yaml"

t0=$(now)
"$drc" run "$work/pipeline.yaml" --workdir "$work/run" --quiet 2>"$work/run.log" ||
  { cat "$work/run.log" >&2; exit 1; }
t1=$(now)
record drc-pipeline "$(awk "BEGIN { print $t1 - $t0 }")" <"$work/run/metrics.jsonl" >>"$out"

t0=$(now)
"$drc" forecast --data "$csv" --models "$models" --h 24 --input-size 24 --steps 100 --freq ME \
  --seed "$seed" --threads "$cores" --json >"$work/sequential.jsonl"
t1=$(now)
record drc-sequential "$(awk "BEGIN { print $t1 - $t0 }")" <"$work/sequential.jsonl" >>"$out"

t0=$(now)
"$here/peers/.venv-dl/bin/python" "$here/peers/nf_forecast.py" "$csv" --models "$models" \
  --seed "$seed" --threads "$cores" --freq ME >"$work/nf.jsonl" 2>"$work/nf.log"
t1=$(now)
record nf-sequential "$(awk "BEGIN { print $t1 - $t0 }")" <"$work/nf.jsonl" >>"$out"

"$here/peers/.venv/bin/python" "$here/peers/rp_nf_pipeline.py" "$csv" --models "$models" \
  --cores "$cores" --seed "$seed" >"$work/rp.json" 2>"$work/rp.log"
wall=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["wall_s"])' "$work/rp.json")
record rp+nf "$wall" <"$work/rp.json" >>"$out"
