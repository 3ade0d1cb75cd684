#!/usr/bin/env bash
# A prepare stage's lags and rolling statistics per series (docs/pipeline.md), against pandas,
# Polars and DuckDB doing the same: a synthetic panel of SERIES monthly series
# (bench/many_series.py); per series y_lag1, y_lag12, the mean, max and std of y_lag1 over 12
# rows, the sum of y over 3 rows (bench/peers/features_peers.py says exactly what); sort, write
# Parquet.
#   drc 1 rank:  the stage on 1 rank of 2 cores;   drc 2 ranks: on 2 ranks of 1 core each
#   pandas (one thread), polars and duckdb (their defaults: every core)
# Per case the median over RUNS alternated runs of the whole command's wall time, and of the work
# alone (drc: the function task, from the run's events.jsonl; peers: from reading to the written
# file, imports excluded). Every output is checked against pandas' (same rows; each feature null
# where pandas' is, else within 1e-9 of it, relative).
#   bash bench/prepare_features.sh [SERIES] [RUNS]        (defaults: 10000 series, 3 runs)
# Peers: bench/peers/setup_peers.sh (bench/peers/.venv).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=bench/prepare_cases.sh
source "$here/prepare_cases.sh"
series=${1:-10000}
runs=${2:-3}
python3 "$here/many_series.py" "$series" "$work/panel.csv"
for ranks in 1 2; do
  cat >"$work/drc-$ranks.yaml" <<YAML
pilot: {cores: 2}
stages:
  - name: prepare
    kind: prepare
    input: $work/panel.csv
    lags: {y: [1, 12]}
    rolling:
      - {column: y_lag1, window: 12, stats: [mean, max], min_periods: 1}
      - {column: y_lag1, window: 12, stats: [std], min_periods: 2}
      - {column: y, window: 3, stats: [sum], min_periods: 1}
    output: features.parquet
    ranks: $ranks
    cores: $((2 / ranks))
YAML
done

same_as_pandas() {
  "$py" - "$work/pandas.parquet" "$1" <<'PY'
import sys
import numpy as np
import pyarrow.parquet as pq
a, b = (pq.read_table(p).to_pandas() for p in sys.argv[1:3])
assert len(a) == len(b), (len(a), len(b))
assert (a["unique_id"].values == b["unique_id"].values).all()
assert (a["ds"].astype("datetime64[s]").values == b["ds"].astype("datetime64[s]").values).all()
for c in ["y_lag1", "y_lag12", "y_lag1_rollmean12", "y_lag1_rollmax12", "y_lag1_rollstd12",
          "y_rollsum3"]:
    x, y = a[c].to_numpy(dtype=float, na_value=np.nan), b[c].to_numpy(dtype=float, na_value=np.nan)
    assert (np.isnan(x) == np.isnan(y)).all(), c
    ok = ~np.isnan(x)
    assert (abs(x[ok] - y[ok]) <= 1e-9 * np.maximum(abs(x[ok]), 1)).all(), c
PY
}

rows=$(($(wc -l <"$work/panel.csv") - 1))
echo "$rows rows of $series series: lags and rolling statistics per series"
prepare_cases "$runs" features.parquet "$here/peers/features_peers.py" "$work/panel.csv"
