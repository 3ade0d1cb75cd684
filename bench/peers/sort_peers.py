#!/usr/bin/env python3
"""Sorting a long-format series CSV by (unique_id, ds) in the peers: Polars (a stable sort),
pyarrow (Table.sort_by: Arrow C++'s SortIndices then Take) and DuckDB (ORDER BY into an Arrow
table). The CSV is read once per system; only the sort is timed, median of K runs.

    sort_peers.py CSV [--iters 5]

Prints one JSON object per system: system, version, rows, seconds. Run it with
POLARS_MAX_THREADS and OMP_NUM_THREADS set to the cores that drc uses (bench/sort_compare.sh).
"""
import argparse
import json
import statistics
import time

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.csv as pacsv


def median_seconds(run, iters):
    times = []
    for _ in range(iters):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("csv")
    p.add_argument("--iters", type=int, default=5)
    a = p.parse_args()
    df = pl.read_csv(a.csv, try_parse_dates=True)
    table = pacsv.read_csv(a.csv)
    con = duckdb.connect()
    con.register("t", table)
    runs = {
        ("polars", pl.__version__): lambda: df.sort(["unique_id", "ds"], maintain_order=True),
        ("pyarrow", pa.__version__): lambda: table.sort_by(
            [("unique_id", "ascending"), ("ds", "ascending")]),
        ("duckdb", duckdb.__version__): lambda: con.sql(
            "select * from t order by unique_id, ds").to_arrow_table(),
    }
    for (system, version), run in runs.items():
        seconds = median_seconds(run, a.iters)
        print(json.dumps({"system": system, "version": version, "rows": df.height,
                          "seconds": round(seconds, 4)}))


if __name__ == "__main__":
    main()
