#!/usr/bin/env bash
# drc bench data vs pyarrow/Acero, Polars, DuckDB, pandas (one rank) and Dask distributed (two
# workers) on Cylon's benchmark data shape (issue 4), one system at a time on the same machine.
#   bash bench/data_compare.sh [ROWS] [ITERS] [OPS]
#   bash bench/data_compare.sh 10000000 3 join,groupby,sort,shuffle
# (shuffle: drc alone, 2 ranks; the peers have no stand-alone shuffle.)
# Writes JSON lines to bench/results/data-<timestamp>/{drc,peers}.jsonl and prints the tables
# (bench/peers/data_table.py). Run it on a quiet machine: the seconds are wall times. Needs the
# release build; sets up the peers' venv (bench/peers/setup_peers.sh) on first use.
# DRC_BENCH_OUT=DIR appends to DIR instead (one op at a time into one table).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
rows=${1:-10000000}
iters=${2:-3}
ops=${3:-join,groupby,sort,shuffle}
drc=$root/build/release/apps/drc/drc
out=${DRC_BENCH_OUT:-$root/bench/results/data-$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$out"

bash "$here/peers/setup_peers.sh"
[ -x "$drc" ] || { echo "data_compare: build first (make build)" >&2; exit 1; }
py=$here/peers/.venv/bin/python
peer() { "$py" "$here/peers/data_peers.py" "$@" 2>>"$out/peers.log" >>"$out/peers.jsonl"; }

IFS=, read -ra list <<<"$ops"
for op in "${list[@]}"; do
  if [ "$op" != shuffle ]; then
    "$drc" bench data --op "$op" --rows "$rows" --ranks 1 --iters "$iters" --json >>"$out/drc.jsonl"
    for s in pyarrow polars duckdb pandas; do
      peer --system "$s" --op "$op" --rows "$rows" --iters "$iters"
    done
  fi
  for b in local mpi; do
    "$drc" bench data --op "$op" --rows "$rows" --ranks 2 --backend "$b" --iters "$iters" \
      --json >>"$out/drc.jsonl"
  done
  [ "$op" = shuffle ] || peer --system dask --ranks 2 --op "$op" --rows "$rows" --iters "$iters"
done
/usr/bin/python3 "$here/peers/data_table.py" "$out/drc.jsonl" "$out/peers.jsonl" | tee "$out/table.md"
