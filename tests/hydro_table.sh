#!/bin/sh
# Hydrology from tables, end to end:
#  1. drc hydro --write-table/--write-attributes writes two CAMELS-US basins as tables;
#  2. drc hydro --table on them gives the per-basin NSE and KGE, and the predictions, of drc hydro
#     on the CAMELS folder, byte for byte;
#  3. so does a pipeline that builds that table from CAMELS' own files, only reformatted as CSV:
#     the discharge in cubic feet per second (every day twice), the basins' areas (the forcing
#     files' third line) and the forcings. One prepare stage joins the areas to the discharge,
#     computes mm/day from cfs and the area, leaves out the missing values (-999) and the
#     helper columns, and averages the repeated days, on 2 ranks into a part per rank; the next
#     joins those parts to the forcings on 2 ranks, drops the input the models do not use (swe)
#     and writes a part per rank; the hydro stage trains `from` those parts;
#  4. bad tables are errors that name the file and the column or the line.
#   sh hydro_table.sh DRC WORKDIR CAMELS_DIR
set -eu
drc=$1 work=$2 camels=$3
rm -rf "$work"
mkdir -p "$work"
small="--basins 01022500,03015500 --epochs 1 --seq-length 30 --hidden 8 --seed 3 --threads 1"

"$drc" hydro --basins 01022500,03015500 --write-table "$work/series.csv" \
  --write-attributes "$work/attributes.parquet" >"$work/write.txt"
grep -q "rows written to $work/series.csv" "$work/write.txt"
for model in LSTM EA-LSTM; do
  # shellcheck disable=SC2086
  "$drc" hydro --model $model $small --json --out "$work/folder-$model.csv" >"$work/folder-$model.jsonl"
  # shellcheck disable=SC2086
  "$drc" hydro --model $model $small --json --out "$work/table-$model.csv" \
    --table "$work/series.csv" --attributes "$work/attributes.parquet" >"$work/table-$model.jsonl"
  grep '"basin"' "$work/folder-$model.jsonl" >"$work/folder-$model.basins"
  grep '"basin"' "$work/table-$model.jsonl" | diff "$work/folder-$model.basins" -
  [ "$(wc -l <"$work/folder-$model.basins")" -eq 2 ]
  cmp "$work/folder-$model.csv" "$work/table-$model.csv"
done
nse=$(sed -n 's/.*"median_nse":\([0-9.e+-]*\).*/\1/p' "$work/folder-LSTM.jsonl")
echo "table = folder: LSTM median NSE $nse"

# CAMELS' files as CSV, then joined, converted and aggregated on 2 ranks into parts, then trained.
echo "gauge,area_m2" >"$work/areas.csv"
echo "gauge,date,flow" >"$work/discharge.csv"
echo "gauge,date,dayl(s),prcp(mm/day),srad(W/m2),swe(mm),tmax(C),tmin(C),vp(Pa)" >"$work/forcings.csv"
for gauge in 01022500 03015500; do
  forcing="$camels/forcing_daymet/${gauge}_lump_cida_forcing_leap.txt"
  awk -v g="$gauge" 'NR == 3 { print g "," $1 }' "$forcing" >>"$work/areas.csv"
  awk -v g="$gauge" 'NR > 4 { printf "%s,%s-%s-%s", g, $1, $2, $3
                              for (i = 5; i <= NF; ++i) printf ",%s", $i; print "" }' \
    "$forcing" >>"$work/forcings.csv"
  awk '{ line = $1 "," $2 "-" $3 "-" $4 "," $5; print line; print line }' \
    "$camels/streamflow/${gauge}_streamflow_qc.txt" >>"$work/discharge.csv"
done
# The hydro stages' common settings (the first stage's run equals drc hydro $small's).
lstm='    from: prepare
    attributes: attributes.parquet
    inputs: ["prcp(mm/day)", "srad(W/m2)", "tmax(C)", "tmin(C)", "vp(Pa)", "dayl(s)"]
    models: [LSTM]
    epochs: 1
    seq_length: 30
    hidden_size: 8
    seed: 3
    cores: 1'
cat >"$work/pipeline.yaml" <<EOF
name: hydro-from-table
pilot: {cores: 2}
stages:
  - name: discharge
    kind: prepare
    input: discharge.csv
    rename: {gauge: unique_id, date: ds}
    join: {table: areas.csv, on: unique_id, rename: {gauge: unique_id}}
    compute: {y: "flow * (0.028316846592 * 86400 * 1000 / area_m2)"}
    filter: "flow >= 0"
    drop: [flow, area_m2]
    aggregate: {by: [unique_id, ds], y: mean}
    ranks: 2
    partitioned: true                # a part per rank, which the next stage's join reads
  - name: prepare
    kind: prepare
    input: forcings.csv
    rename: {gauge: unique_id, date: ds}
    join: {from: discharge, on: [unique_id, ds], how: left}
    drop: ["swe(mm)"]
    ranks: 2
    partitioned: true
  - name: hydro                      # one rank reading both parts: the folder run, to the bit
    kind: hydro
$lstm
    ranks: 1
  - name: ranked                     # on the prepare stage's 2 ranks, each reading its own part
    kind: hydro
$lstm
    dropout: 0
EOF
"$drc" run "$work/pipeline.yaml" --workdir "$work/run" --quiet
ls "$work/run/prepare/series/part-0.parquet" "$work/run/prepare/series/part-1.parquet" >/dev/null
grep '"basin"' "$work/run/hydro.LSTM/hydro.LSTM.out" | diff "$work/folder-LSTM.basins" -
cmp "$work/folder-LSTM.csv" "$work/run/hydro.LSTM/hydro.csv"
grep -q "<p>the table of stage prepare, every basin" "$work/run/report/index.html" ||
  { echo "the report does not say where the basins came from" >&2; exit 1; }
# shellcheck disable=SC2086
"$drc" hydro --model LSTM $small --dropout 0 --json >"$work/folder-d0.jsonl"
python3 - "$work/folder-d0.jsonl" "$work/run/ranked.LSTM/ranked.LSTM.out" <<'PY'
import json, sys
def basins(path):
    return {j["basin"]: j for j in map(json.loads, open(path)) if "basin" in j}
one, ranked = basins(sys.argv[1]), basins(sys.argv[2])
assert sorted(one) == sorted(ranked) and len(one) == 2, (one, ranked)
for b in one:
    for key in ("nse", "kge"):
        assert abs(one[b][key] - ranked[b][key]) <= 1e-6, (b, key, one[b], ranked[b])
PY
echo "CAMELS' files joined, converted to mm/day and aggregated, as parts = folder (also on 2 ranks)"

fails() {
  if "$drc" hydro --epochs 1 --seq-length 30 --hidden 8 --threads 1 "$@" >"$work/err.txt" 2>&1; then
    echo "drc hydro $* succeeded" >&2
    exit 1
  fi
}
printf 'unique_id,ds,rain,y\nA,2000-01-01,1,2\nA,2000-01-02,wet,3\n' >"$work/bad.csv"
fails --table "$work/bad.csv"
grep -q "bad.csv:3.*rain" "$work/err.txt" || { cat "$work/err.txt" >&2; exit 1; }
fails --table "$work/series.csv" --inputs "snow(mm)"
grep -q "no input column 'snow(mm)'" "$work/err.txt" || { cat "$work/err.txt" >&2; exit 1; }
fails --table "$work/series.csv" --model EA-LSTM
grep -q "EA-LSTM: needs static inputs" "$work/err.txt" || { cat "$work/err.txt" >&2; exit 1; }
fails --attributes "$work/attributes.parquet"
grep -q "attributes goes with --table" "$work/err.txt" || { cat "$work/err.txt" >&2; exit 1; }
echo "errors: a bad number, an unknown input, EA-LSTM without attributes, attributes without a table"
