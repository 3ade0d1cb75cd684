#!/usr/bin/env python3
"""A prepare stage's lags and rolling statistics, in one peer system (bench/prepare_features.sh).

    features_peers.py --system pandas|polars|duckdb SERIES.csv OUT.parquet

The work of bench/prepare_features.sh's pipeline: read the panel (unique_id, ds, y); per series,
in time order, add y_lag1 and y_lag12 (the value 1 and 12 rows back), the mean, max and sample
std of y_lag1 over the last 12 rows (y_lag1_rollmean12, y_lag1_rollmax12, y_lag1_rollstd12) and
the sum of y over the last 3 rows (y_rollsum3), each from one value on (min_periods 1; the std
from two); sort by unique_id and ds, write Parquet. Each system uses the machine's cores as it
does by default. Prints one JSON object: system, version, seconds (the work, from reading to the
written file; imports excluded), rows (written), threads.
"""
import peer_timing

FEATURES = ["y_lag1", "y_lag12", "y_lag1_rollmean12", "y_lag1_rollmax12", "y_lag1_rollstd12",
            "y_rollsum3"]


def run_pandas(series, out):
    import pandas as pd

    s = pd.read_csv(series, dtype={"unique_id": str}, parse_dates=["ds"])
    s = s.sort_values(["unique_id", "ds"], kind="stable").reset_index(drop=True)
    g = s.groupby("unique_id", sort=False)["y"]
    s["y_lag1"] = g.shift(1)
    s["y_lag12"] = g.shift(12)
    lag = s.groupby("unique_id", sort=False)["y_lag1"].rolling(12, min_periods=1)
    s["y_lag1_rollmean12"] = lag.mean().reset_index(level=0, drop=True)
    s["y_lag1_rollmax12"] = lag.max().reset_index(level=0, drop=True)
    lag2 = s.groupby("unique_id", sort=False)["y_lag1"].rolling(12, min_periods=2)
    s["y_lag1_rollstd12"] = lag2.std().reset_index(level=0, drop=True)
    s["y_rollsum3"] = g.rolling(3, min_periods=1).sum().reset_index(level=0, drop=True)
    s.to_parquet(out, index=False)
    return len(s), pd.__version__


def run_polars(series, out):
    import polars as pl

    s = pl.scan_csv(series, schema_overrides={"unique_id": pl.String}, try_parse_dates=True)
    lag = pl.col("y").shift(1).over("unique_id")
    table = (
        s.sort(["unique_id", "ds"])
        .with_columns(lag.alias("y_lag1"), pl.col("y").shift(12).over("unique_id").alias("y_lag12"))
        .with_columns(
            pl.col("y_lag1").rolling_mean(12, min_samples=1).over("unique_id").alias("y_lag1_rollmean12"),
            pl.col("y_lag1").rolling_max(12, min_samples=1).over("unique_id").alias("y_lag1_rollmax12"),
            pl.col("y_lag1").rolling_std(12, min_samples=2).over("unique_id").alias("y_lag1_rollstd12"),
            pl.col("y").rolling_sum(3, min_samples=1).over("unique_id").alias("y_rollsum3"),
        )
        .collect()
    )
    table.write_parquet(out)
    return table.height, pl.__version__


def run_duckdb(series, out):
    import duckdb

    con = duckdb.connect()
    w = "PARTITION BY unique_id ORDER BY ds"
    con.execute(
        f"""COPY (
              WITH s AS (
                SELECT *, lag(y, 1) OVER ({w}) AS y_lag1, lag(y, 12) OVER ({w}) AS y_lag12
                FROM read_csv('{series}', types={{'unique_id': 'VARCHAR', 'ds': 'DATE'}}))
              SELECT *,
                avg(y_lag1) OVER ({w} ROWS BETWEEN 11 PRECEDING AND CURRENT ROW) AS y_lag1_rollmean12,
                max(y_lag1) OVER ({w} ROWS BETWEEN 11 PRECEDING AND CURRENT ROW) AS y_lag1_rollmax12,
                stddev_samp(y_lag1) OVER ({w} ROWS BETWEEN 11 PRECEDING AND CURRENT ROW)
                  AS y_lag1_rollstd12,
                sum(y) OVER ({w} ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) AS y_rollsum3
              FROM s ORDER BY unique_id, ds
            ) TO '{out}' (FORMAT parquet)"""
    )
    rows = con.execute(f"SELECT count(*) FROM read_parquet('{out}')").fetchone()[0]
    return rows, duckdb.__version__


if __name__ == "__main__":
    peer_timing.main(__doc__, {"pandas": run_pandas, "polars": run_polars, "duckdb": run_duckdb},
                     ["series"])
