#!/bin/sh
# A pipeline with hydro stages (tests/data/pipeline_hydro.yaml): each model's NSE and KGE in the
# task's output and the report, and its predictions in hydro.csv, must be what `drc hydro` gives
# with the same settings; a stage that reads them runs after; a basin that is not in the data
# fails its task with the reason in the report, and the run exits 1.
#   sh run_hydro_pipeline.sh DRC WORKDIR TESTDATA
set -eu
drc=$1 work=$2 data=$3
rm -rf "$work" "$work-cli"
mkdir -p "$work-cli"
if "$drc" run "$data/pipeline_hydro.yaml" --workdir "$work" --quiet; then
  echo "a pipeline with a failing stage exited 0" >&2
  exit 1
fi
report=$work/report/index.html
for model in LSTM EA-LSTM; do
  "$drc" hydro --model $model --basins 01022500 --epochs 1 --seq-length 30 --hidden 8 --seed 3 \
    --threads 1 --json --out "$work-cli/$model.csv" >"$work-cli/$model.jsonl"
  # The per-basin line, and the simulated discharge, as drc hydro's.
  grep '"basin"' "$work/hydro.$model/hydro.$model.out" >"$work-cli/$model-task.txt"
  grep '"basin"' "$work-cli/$model.jsonl" | diff - "$work-cli/$model-task.txt"
  cmp "$work-cli/$model.csv" "$work/hydro.$model/hydro.csv"
  nse=$(sed -n 's/.*"median_nse":\([0-9.e+-]*\).*/\1/p' "$work-cli/$model.jsonl")
  want=$(awk "BEGIN { printf \"%.3f\", $nse }")
  grep -q "<td>$model</td><td>DONE</td><td>$want</td>" "$report" ||
    { echo "the report lacks $model's median NSE $want" >&2; exit 1; }
  echo "$model NSE $want = drc hydro"
done
# 365 test days and the header.
[ "$(cat "$work/count/rows.txt")" -eq 366 ] || { echo "count read no hydro.csv" >&2; exit 1; }
for want in 'Simulated against observed discharge' '<title>basin 01022500</title>' \
  '<td>01022500</td>' 'missing.LSTM</td><td class="bad">FAILED' '99999999'; do
  grep -q "$want" "$report" || { echo "report lacks: $want" >&2; exit 1; }
done
echo "hydro pipeline reported"
