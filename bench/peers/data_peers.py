#!/usr/bin/env python3
"""One data-engine operator on Cylon's benchmark data shape, in one peer system.

    data_peers.py --system pyarrow|polars|duckdb|pandas|dask --op join|groupby|sort
                  --rows N [--ranks R] [--iters K]

Each of R partitions (ranks or Dask workers) holds N rows of int64 (key, value) with keys
uniform in [0, 0.9*N*R), as in `drc bench data`. join: inner join of two such tables on key;
groupby: sum, mean and count of value per key; sort: by key. Only the operation is timed
(data generation and, for Dask, cluster start and persisting the inputs are excluded); the
result is materialized (Dask: persisted on the workers). Prints one JSON object: system,
version, op, rows, ranks, seconds (median of K runs), result_rows, threads.
Each system runs with its default use of the machine's cores (Dask: R workers, 1 thread
each, as `drc bench data --ranks R` runs R single-threaded ranks).
"""
import argparse
import json
import os
import statistics
import sys
import time

import numpy as np


def make(rows, ranks, seed):
    rng = np.random.default_rng(seed)
    key_range = max(1, int(0.9 * rows * ranks))
    return {
        "key": rng.integers(0, key_range, size=rows * ranks, dtype=np.int64),
        "value": rng.integers(0, 2**31, size=rows * ranks, dtype=np.int64),
    }


def run_pyarrow(op, left, right):
    import pyarrow as pa
    lt, rt = pa.table(left), pa.table(right)
    def go():
        if op == "join":
            return lt.join(rt, "key", join_type="inner", right_suffix="_r").num_rows
        if op == "groupby":
            return lt.group_by("key").aggregate(
                [("value", "sum"), ("value", "mean"), ("value", "count")]).num_rows
        return lt.sort_by("key").num_rows
    return go, pa.__version__


def run_polars(op, left, right):
    import polars as pl
    lt, rt = pl.DataFrame(left), pl.DataFrame(right)
    def go():
        if op == "join":
            return lt.join(rt, on="key", how="inner").height
        if op == "groupby":
            return lt.group_by("key").agg(pl.col("value").sum().alias("s"),
                                          pl.col("value").mean().alias("m"),
                                          pl.col("value").count().alias("c")).height
        return lt.sort("key").height
    return go, pl.__version__


def run_duckdb(op, left, right):
    import duckdb
    import pyarrow as pa
    con = duckdb.connect()
    con.register("l", pa.table(left))
    con.register("r", pa.table(right))
    sql = {
        "join": "select * from l join r using (key)",
        "groupby": "select key, sum(value), avg(value), count(value) from l group by key",
        "sort": "select * from l order by key",
    }[op]
    def go():
        return con.sql(sql).to_arrow_table().num_rows
    return go, duckdb.__version__


def run_pandas(op, left, right):
    import pandas as pd
    lt, rt = pd.DataFrame(left), pd.DataFrame(right)
    def go():
        if op == "join":
            return len(lt.merge(rt, on="key", how="inner"))
        if op == "groupby":
            return len(lt.groupby("key")["value"].agg(["sum", "mean", "count"]))
        return len(lt.sort_values("key", kind="stable"))
    return go, pd.__version__


def run_dask(op, left, right, ranks):
    import dask
    import dask.dataframe as dd
    import pandas as pd
    from distributed import Client, LocalCluster, wait
    cluster = LocalCluster(n_workers=ranks, threads_per_worker=1, processes=True,
                           dashboard_address=None)
    client = Client(cluster)
    lt = dd.from_pandas(pd.DataFrame(left), npartitions=ranks).persist()
    rt = dd.from_pandas(pd.DataFrame(right), npartitions=ranks).persist()
    wait([lt, rt])
    def go():
        if op == "join":
            out = lt.merge(rt, on="key", how="inner")
        elif op == "groupby":
            out = lt.groupby("key")["value"].agg(["sum", "mean", "count"])
        else:
            out = lt.sort_values("key")
        out = out.persist()
        wait(out)
        n = len(out)
        del out
        return n
    go.close = lambda: (client.close(), cluster.close())
    return go, dask.__version__


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--system", required=True,
                   choices=["pyarrow", "polars", "duckdb", "pandas", "dask"])
    p.add_argument("--op", required=True, choices=["join", "groupby", "sort"])
    p.add_argument("--rows", type=int, required=True, help="rows per rank/partition")
    p.add_argument("--ranks", type=int, default=1)
    p.add_argument("--iters", type=int, default=3)
    a = p.parse_args()
    left, right = make(a.rows, a.ranks, 1), make(a.rows, a.ranks, 2)
    runner = {"pyarrow": run_pyarrow, "polars": run_polars, "duckdb": run_duckdb,
              "pandas": run_pandas}
    if a.system == "dask":
        go, version = run_dask(a.op, left, right, a.ranks)
    else:
        if a.ranks != 1:
            sys.exit("--ranks > 1 is for dask only (the others use one process)")
        go, version = runner[a.system](a.op, left, right)
    times, n = [], 0
    for _ in range(a.iters):
        t0 = time.perf_counter()
        n = go()
        times.append(time.perf_counter() - t0)
    if hasattr(go, "close"):
        go.close()
    print(json.dumps({"system": a.system, "version": version, "op": a.op, "rows": a.rows,
                      "ranks": a.ranks, "iters": a.iters, "seconds": statistics.median(times),
                      "result_rows": n, "threads": os.cpu_count()}))


if __name__ == "__main__":
    main()
