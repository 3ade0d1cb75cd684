#!/usr/bin/env python3
"""pyarrow's Parquet write time and file size per codec, for one table (docs/pipeline.md).

    parquet_codecs.py TABLE.parquet [--runs 3]

Reads TABLE.parquet (e.g. the features table of bench/prepare_features.sh's stage), then writes
it with each codec (none, snappy, lz4, zstd), in row groups of 64 Ki rows as drc writes, the
floating-point columns without a dictionary as drc writes them; prints per codec the fastest of
RUNS writes and the file's size. Needs bench/peers/.venv (setup_peers.sh).
"""
import argparse
import os
import tempfile
import time

import pyarrow as pa
import pyarrow.parquet as pq


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("table")
    p.add_argument("--runs", type=int, default=3)
    a = p.parse_args()
    table = pq.read_table(a.table)
    dictionary = [f.name for f in table.schema if not pa.types.is_floating(f.type)]
    with tempfile.TemporaryDirectory() as tmp:
        for codec in ["none", "snappy", "lz4", "zstd"]:
            out = os.path.join(tmp, codec + ".parquet")
            best = float("inf")
            for _ in range(a.runs):
                start = time.perf_counter()
                pq.write_table(table, out, compression=codec, row_group_size=65536,
                               use_dictionary=dictionary)
                best = min(best, time.perf_counter() - start)
            print(f"{codec:7s} {best:.2f} s  {os.path.getsize(out) / 1e6:.0f} MB")


if __name__ == "__main__":
    main()
