#!/usr/bin/env bash
# Sorting a series panel by (unique_id, ds): data::Sort and Arrow's own sort (bench/sort_keys.cc,
# Google Benchmark) against Polars, pyarrow and DuckDB (bench/peers/sort_peers.py) on the same
# CSV, rows shuffled, the same number of threads.
#   bash bench/sort_compare.sh [SERIES] [THREADS]      (defaults: 10000 series, 2 threads)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
series=${1:-10000}
threads=${2:-2}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

bash "$here/peers/setup_peers.sh"
ninja -C "$root/build/release" sort_keys_bench >/dev/null
python3 "$here/many_series.py" "$series" "$work/panel.csv"
(head -1 "$work/panel.csv" && tail -n +2 "$work/panel.csv" | shuf --random-source=<(yes)) \
  >"$work/shuffled.csv"
OMP_NUM_THREADS=$threads DRC_SORT_CSV=$work/shuffled.csv \
  "$root/build/release/src/data/sort_keys_bench" --benchmark_min_time=2
POLARS_MAX_THREADS=$threads OMP_NUM_THREADS=$threads \
  "$here/peers/.venv/bin/python" "$here/peers/sort_peers.py" "$work/shuffled.csv"
