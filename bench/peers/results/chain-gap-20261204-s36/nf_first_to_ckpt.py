#!/usr/bin/env python3
"""NF's first link of the chain, written as our checkpoint, for drc forecast --init-from.

    nf_first_to_ckpt.py CUT.csv --seed S --template OUR.ckpt --out DIR/NBEATS.ckpt

Fits NF's NBEATS (h=24, input_size=24, max_steps=100, seed S, as nf_fit_from.py builds it) as
NF's conformal calibration does: cross_validation(n_windows=2, step_size=1) of CUT.csv (the rows
before the 24 held out). Its parameters replace those of TEMPLATE, a checkpoint that drc
forecast --checkpoint-dir wrote for NBEATS with the same hyper-parameters (names mapped as in
nf_fit_from.py; the basis buffers checked equal), saved as OUT. drc forecast --init-from
DIR then runs our second link from NF's first.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.dirname(__file__))
from nf_forecast import quiet  # noqa: E402
from nf_fit_from import nbeats, nf_name  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("cut")
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--template", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    quiet()
    import pandas as pd
    import torch
    from neuralforecast import NeuralForecast
    quiet()
    torch.set_num_threads(a.threads)
    cut = pd.read_csv(a.cut, parse_dates=["ds"]).sort_values(["unique_id", "ds"])
    nf = NeuralForecast(models=[nbeats(a.seed)], freq="ME")
    nf.cross_validation(df=cut.reset_index(drop=True), n_windows=2, step_size=1)
    state = nf.models[0].state_dict()
    archive = torch.jit.load(a.template)
    for kind in ("param", "buffer"):
        names = bytes(getattr(archive, f"{kind}_names").tolist()).decode().split("\n")[:-1]
        for i, name in enumerate(names):
            ours = getattr(archive, f"{kind}_{i}")
            if kind == "param":
                theirs = state[nf_name(name)]
                if theirs.shape != ours.shape:
                    sys.exit(f"{name}: {tuple(ours.shape)} ours, {tuple(theirs.shape)} NF's")
                with torch.no_grad():
                    ours.copy_(theirs)
            else:
                block, what = name.split(".")
                theirs = state[f"blocks.{block.removeprefix('block')}.basis.{what}"]
                if not torch.allclose(theirs, ours, atol=1e-6):
                    sys.exit(f"{name}: our basis differs from NF's")
    torch.jit.save(archive, a.out)


if __name__ == "__main__":
    main()
