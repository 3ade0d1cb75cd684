"""The command line and the timing shared by the prepare-stage peer scripts (prepare_peers.py,
features_peers.py): parse `--system NAME INPUT... OUT`, import the system first, time its run
from reading to the written file, print one JSON object (system, version, seconds, rows,
threads)."""
import argparse
import json
import os
import time


def main(doc, runners, inputs):
    """runners: system name -> run(*inputs, out) returning (rows written, version)."""
    p = argparse.ArgumentParser(description=doc.splitlines()[0])
    p.add_argument("--system", required=True, choices=list(runners))
    for name in inputs:
        p.add_argument(name)
    p.add_argument("out")
    a = p.parse_args()
    # Import first, so that the time is the work's.
    __import__(a.system)
    start = time.perf_counter()
    rows, version = runners[a.system](*(getattr(a, name) for name in inputs), a.out)
    seconds = time.perf_counter() - start
    print(json.dumps({"system": a.system, "version": version, "seconds": seconds, "rows": rows,
                      "threads": os.cpu_count() if a.system != "pandas" else 1}))
