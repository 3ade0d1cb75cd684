#!/usr/bin/env python3
"""The operators that take the time in a libtorch profile (`drc bench train --profile FILE`).

    torch_profile_top.py FILE [--top 25] [--steps N] [--self]

Sums the duration of every complete event per operator name (nested operators are counted
inside their parents too, as the trace records them) and prints the top ones; with --steps,
per training step. With --self, each event's time less that of the events nested in it on the
same thread (where the time is spent, not what called it); the first line is then the total of
the outermost events. Work done outside any recorded operator (a custom autograd function's
forward, for one) is not in the trace at all.
"""
import argparse
import collections
import json


def main():
    p = argparse.ArgumentParser()
    p.add_argument("file")
    p.add_argument("--top", type=int, default=25)
    p.add_argument("--steps", type=int, default=1)
    p.add_argument("--self", action="store_true", help="self time: nested events subtracted")
    a = p.parse_args()
    with open(a.file) as f:
        trace = json.load(f)
    events = trace if isinstance(trace, list) else trace.get("traceEvents", [])
    total, calls = collections.Counter(), collections.Counter()
    complete = [e for e in events if e.get("ph") == "X"]
    for e in complete:
        total[e["name"]] += e.get("dur", 0)
        calls[e["name"]] += 1
    unit = "ms/step" if a.steps > 1 else "ms"
    if a.self:
        outermost = 0
        by_thread = collections.defaultdict(list)
        for e in complete:
            by_thread[(e.get("pid"), e.get("tid"))].append(e)
        for thread in by_thread.values():
            thread.sort(key=lambda e: (e["ts"], -e.get("dur", 0)))
            stack = []
            for e in thread:
                while stack and stack[-1]["ts"] + stack[-1].get("dur", 0) <= e["ts"]:
                    stack.pop()
                if stack:
                    total[stack[-1]["name"]] -= e.get("dur", 0)
                else:
                    outermost += e.get("dur", 0)
                stack.append(e)
        print(f"{outermost / 1000 / a.steps:10.1f} {unit} in the outermost events")
    for name, us in total.most_common(a.top):
        print(f"{us / 1000 / a.steps:10.1f} {unit} {calls[name] / a.steps:9.0f} calls  {name}")


if __name__ == "__main__":
    main()
