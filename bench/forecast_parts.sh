#!/usr/bin/env bash
# drc forecast on 2 ranks from one table against from a partitioned one (docs/dl-benchmarks.md,
# "A partitioned table"): a synthetic panel of SERIES monthly series, written once as one CSV
# and once as a part per rank by a partitioned prepare stage on 2 ranks; then
#   whole: drc forecast --data panel.csv --ranks 2 (every rank reads, sorts and windows it all)
#   parts: drc forecast --data 'parts/part-{rank}.parquet' --ranks 2 (each rank its own series)
#   split: drc forecast --data panel.csv --ranks 2 --partition (each rank reads a share of the
#          CSV and keeps a range of whole series, then trains as on parts)
#   one:   drc forecast --data panel.csv (one rank, for reference)
# Wall time and the largest process's peak RSS (/usr/bin/time), runs alternated, medians.
#   bash bench/forecast_parts.sh [SERIES] [RUNS] [STEPS]     (defaults: 10000 series, 3 runs, 100)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
drc=$(dirname "$here")/build/release/apps/drc/drc
series=${1:-10000}
runs=${2:-3}
steps=${3:-100}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
[ -x "$drc" ] || { echo "forecast_parts: build first (make build)" >&2; exit 1; }

python3 "$here/many_series.py" "$series" "$work/panel.csv"
cat >"$work/parts.yaml" <<YAML
pilot: {cores: 2}
stages:
  - {name: prepare, kind: prepare, input: $work/panel.csv, output: parts.parquet, ranks: 2,
     partitioned: true}
YAML
"$drc" run "$work/parts.yaml" --workdir "$work/run" --quiet >/dev/null 2>&1
parts="$work/run/prepare/parts/part-{rank}.parquet"
forecast() {
  /usr/bin/time -f "%e %M" -o "$work/time" "$drc" forecast --data "$1" --models MLP --h 24 \
    --input-size 24 --steps "$steps" --freq ME --json "${@:2}" >"$work/out"
  echo "$(cat "$work/time") $(sed -n 's/.*"mae":\([0-9.e+-]*\).*/\1/p' "$work/out" | head -1)"
}
for _ in $(seq "$runs"); do
  echo "whole $(forecast "$work/panel.csv" --ranks 2)" >>"$work/times"
  echo "parts $(forecast "$parts" --ranks 2)" >>"$work/times"
  echo "split $(forecast "$work/panel.csv" --ranks 2 --partition)" >>"$work/times"
  echo "one $(forecast "$work/panel.csv")" >>"$work/times"
done
median() { sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
for case in whole parts split one; do
  s=$(awk -v c="$case" '$1 == c { print $2 }' "$work/times" | median)
  kb=$(awk -v c="$case" '$1 == c { print $3 }' "$work/times" | median)
  mae=$(awk -v c="$case" '$1 == c { print $4 }' "$work/times" | median)
  printf '%-6s %6.2f s  %5.2f GB peak per process  MAE %.1f\n' "$case" "$s" \
    "$(echo "$kb / 1048576" | bc -l)" "$mae"
done
