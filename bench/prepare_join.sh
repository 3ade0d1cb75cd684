#!/usr/bin/env bash
# A prepare stage that joins and aggregates (docs/pipeline.md, "Joins and aggregates"), against
# pandas, Polars and DuckDB doing the same: a synthetic panel of SERIES monthly series
# (bench/many_series.py) and a table giving each series one of 100 regions; inner-join them on
# the series, sum y per region and month, name the region unique_id, sort, write Parquet.
#   drc 1 rank:  the stage on 1 rank of 2 cores;   drc 2 ranks: on 2 ranks of 1 core each
#   pandas (one thread), polars and duckdb (their defaults: every core): bench/peers/prepare_peers.py
# Per case the median over RUNS alternated runs of the whole command's wall time, and of the work
# alone (drc: the function task, from the run's events.jsonl; peers: from reading to the written
# file, imports excluded). Every output is checked against pandas' (same rows, y within 1e-9).
#   bash bench/prepare_join.sh [SERIES] [RUNS]        (defaults: 10000 series, 3 runs)
# Peers: bench/peers/setup_peers.sh (bench/peers/.venv).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=bench/prepare_cases.sh
source "$here/prepare_cases.sh"
series=${1:-10000}
runs=${2:-3}
python3 "$here/many_series.py" "$series" "$work/panel.csv"
awk -F, 'NR > 1 && $1 != prev { printf "%s,R%02d\n", $1, substr($1, 2) % 100; prev = $1 }
         NR == 1 { print "unique_id,region" }' "$work/panel.csv" >"$work/regions.csv"
for ranks in 1 2; do
  cat >"$work/drc-$ranks.yaml" <<YAML
pilot: {cores: 2}
stages:
  - name: prepare
    kind: prepare
    input: $work/panel.csv
    rename: {unique_id: series}
    join: {table: $work/regions.csv, on: [series], rename: {unique_id: series, region: unique_id}}
    aggregate: {by: [unique_id, ds], y: sum}
    output: regions.parquet
    ranks: $ranks
    cores: $((2 / ranks))
YAML
done

same_as_pandas() {
  "$py" - "$work/pandas.parquet" "$1" <<'PY'
import sys
import pyarrow.parquet as pq
a, b = (pq.read_table(p).to_pandas() for p in sys.argv[1:3])
b = b[["unique_id", "ds", "y"]]
assert len(a) == len(b), (len(a), len(b))
assert (a["unique_id"].values == b["unique_id"].values).all()
assert (a["ds"].astype("datetime64[s]").values == b["ds"].astype("datetime64[s]").values).all()
assert (abs(a["y"] - b["y"]) <= 1e-9 * abs(a["y"])).all()
PY
}

rows=$(($(wc -l <"$work/panel.csv") - 1))
echo "$rows rows of $series series joined to their regions and summed per region and month"
prepare_cases "$runs" regions.parquet "$here/peers/prepare_peers.py" "$work/panel.csv" "$work/regions.csv"
