#!/bin/sh
# examples/pipeline_camels_raw.yaml, run whole: CAMELS-US' own text files turned into tables by a
# task, joined, converted and filtered by prepare stages, then the LSTM trained on them, gives
# the predictions of drc hydro on the CAMELS folder with the same settings, byte for byte.
#   sh camels_raw.sh DRC WORKDIR EXAMPLE
set -eu
drc=$1 work=$2 example=$3
rm -rf "$work"
mkdir -p "$work"
"$drc" run "$example" --workdir "$work/run" --quiet
"$drc" hydro --epochs 3 --threads 1 --json --out "$work/folder.csv" >"$work/folder.jsonl"
cmp "$work/folder.csv" "$work/run/hydrology.LSTM/hydro.csv"
grep '"basin"' "$work/folder.jsonl" >"$work/folder.basins"
grep '"basin"' "$work/run/hydrology.LSTM/hydrology.LSTM.out" | diff "$work/folder.basins" -
[ "$(wc -l <"$work/folder.basins")" -eq 4 ]
nse=$(sed -n 's/.*"median_nse":\([0-9.e+-]*\).*/\1/p' "$work/folder.jsonl")
echo "CAMELS' raw files through the pipeline = drc hydro on the folder: LSTM median NSE $nse"
