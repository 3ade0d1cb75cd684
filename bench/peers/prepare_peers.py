#!/usr/bin/env python3
"""A prepare stage's join and aggregate, in one peer system (bench/prepare_join.sh).

    prepare_peers.py --system pandas|polars|duckdb SERIES.csv REGIONS.csv OUT.parquet

The work of bench/prepare_join.sh's pipeline: read the panel (unique_id, ds, y) and the region
of each series (unique_id, region), inner-join them on the series, sum y per region and month,
name the region unique_id, sort by unique_id and ds, write Parquet. Each system uses the
machine's cores as it does by default. Prints one JSON object: system, version, seconds (the
work, from reading to the written file; imports excluded), rows (written), threads.
"""
import peer_timing


def run_pandas(series, regions, out):
    import pandas as pd

    s = pd.read_csv(series, dtype={"unique_id": str}, parse_dates=["ds"])
    r = pd.read_csv(regions, dtype={"unique_id": str, "region": str})
    joined = s.merge(r, on="unique_id", how="inner")
    total = joined.groupby(["region", "ds"], as_index=False)["y"].sum()
    total = total.rename(columns={"region": "unique_id"}).sort_values(["unique_id", "ds"])
    total.to_parquet(out, index=False)
    return len(total), pd.__version__


def run_polars(series, regions, out):
    import polars as pl

    s = pl.scan_csv(series, schema_overrides={"unique_id": pl.String}, try_parse_dates=True)
    r = pl.scan_csv(regions, schema_overrides={"unique_id": pl.String, "region": pl.String})
    total = (
        s.join(r, on="unique_id", how="inner")
        .group_by(["region", "ds"])
        .agg(pl.col("y").sum())
        .rename({"region": "unique_id"})
        .sort(["unique_id", "ds"])
        .collect()
    )
    total.write_parquet(out)
    return total.height, pl.__version__


def run_duckdb(series, regions, out):
    import duckdb

    con = duckdb.connect()
    con.execute(
        f"""COPY (
              SELECT r.region AS unique_id, s.ds, sum(s.y) AS y
              FROM read_csv('{series}', types={{'unique_id': 'VARCHAR', 'ds': 'DATE'}}) s
              JOIN read_csv('{regions}', types={{'unique_id': 'VARCHAR', 'region': 'VARCHAR'}}) r
                ON s.unique_id = r.unique_id
              GROUP BY r.region, s.ds
              ORDER BY unique_id, s.ds
            ) TO '{out}' (FORMAT parquet)"""
    )
    rows = con.execute(f"SELECT count(*) FROM read_parquet('{out}')").fetchone()[0]
    return rows, duckdb.__version__


if __name__ == "__main__":
    peer_timing.main(__doc__, {"pandas": run_pandas, "polars": run_polars, "duckdb": run_duckdb},
                     ["series", "regions"])
