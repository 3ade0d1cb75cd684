#!/usr/bin/env python3
"""The operators that take the time in a libtorch profile (`drc bench train --profile FILE`).

    torch_profile_top.py FILE [--top 25] [--steps N]

Sums the duration of every complete event per operator name (nested operators are counted
inside their parents too, as the trace records them) and prints the top ones; with --steps,
per training step.
"""
import argparse
import collections
import json


def main():
    p = argparse.ArgumentParser()
    p.add_argument("file")
    p.add_argument("--top", type=int, default=25)
    p.add_argument("--steps", type=int, default=1)
    a = p.parse_args()
    with open(a.file) as f:
        trace = json.load(f)
    events = trace if isinstance(trace, list) else trace.get("traceEvents", [])
    total, calls = collections.Counter(), collections.Counter()
    for e in events:
        if e.get("ph") == "X":
            total[e["name"]] += e.get("dur", 0)
            calls[e["name"]] += 1
    unit = "ms/step" if a.steps > 1 else "ms"
    for name, us in total.most_common(a.top):
        print(f"{us / 1000 / a.steps:10.1f} {unit} {calls[name] / a.steps:9.0f} calls  {name}")


if __name__ == "__main__":
    main()
