#!/usr/bin/env python3
"""NF's NBEATS fit from given weights: the second link of session 35's chain, run by NF.

    nf_fit_from.py CSV --seed S [--ckpt NBEATS.ckpt | --nf-first CUT.csv] [--threads 2]

Trains NF's NBEATS (h=24, input_size=24, max_steps=100, seed S, NF's other defaults, as
bench/peers/nf_forecast.py builds it) on every row of CSV but each series' last 24, and scores
its forecast of those 24 as nf_forecast.py does. With --ckpt (a checkpoint that drc forecast
--checkpoint-dir wrote for NBEATS), the fit starts from that checkpoint's weights instead of
NF's initial ones: NF's fit(use_init_models=False) on a model whose parameters were set from it.
Our parameter names map onto NF's by position (block<i>.in/hidden<j>/theta -> blocks.<i>.layers
.<0, 1, 3, 5, 7>); the basis buffers must agree with NF's (checked). With --nf-first, the
weights are those of NF's own first link (nf_first_state): copied into a new model, which then
fits as above, they give NF's chained forecast bit for bit. Prints one JSON line.

nf_first_to_ckpt.py imports the helpers below.
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", ".."))
from nf_forecast import metrics, quiet  # noqa: E402


def nbeats(seed):
    """NF's NBEATS as nf_forecast.py builds it for the carrier runs."""
    from neuralforecast.models import NBEATS
    return NBEATS(h=24, input_size=24, max_steps=100, random_seed=seed, accelerator="cpu",
                  devices=1, enable_progress_bar=False, logger=False,
                  enable_model_summary=False, enable_checkpointing=False)


def nf_first_state(cut_csv, seed):
    """NF's first link: the state_dict of NF's cross_validation(n_windows=2, step_size=1) fit of
    CUT.csv (the rows before the 24 held out), the calibration copy that NF's
    fit(prediction_intervals=PredictionIntervals(n_windows=2)) trains."""
    import pandas as pd
    from neuralforecast import NeuralForecast
    nf = NeuralForecast(models=[nbeats(seed)], freq="ME")
    cut = pd.read_csv(cut_csv, parse_dates=["ds"]).sort_values(["unique_id", "ds"])
    nf.cross_validation(df=cut.reset_index(drop=True), n_windows=2, step_size=1)
    return nf.models[0].state_dict()


def matched_parameters(archive, state):
    """(name, ours, NF's) for each parameter of our checkpoint `archive` (torch.jit.load of a
    drc checkpoint) and the NF NBEATS `state`, after checking their shapes and that our basis
    buffers equal NF's; exits naming the tensor otherwise."""
    import torch

    def tensors(kind):
        names = bytes(getattr(archive, f"{kind}_names").tolist()).decode().split("\n")[:-1]
        return [(n, getattr(archive, f"{kind}_{i}")) for i, n in enumerate(names)]
    for name, ours in tensors("buffer"):
        block, what = name.split(".")
        if not torch.allclose(state[f"blocks.{block.removeprefix('block')}.basis.{what}"], ours,
                              atol=1e-6):
            sys.exit(f"{name}: our basis differs from NF's")
    pairs = []
    for name, ours in tensors("param"):
        block, layer, what = name.split(".")
        index = {"in": 0, "hidden0": 1, "hidden1": 3, "hidden2": 5, "theta": 7}[layer]
        theirs = state[f"blocks.{block.removeprefix('block')}.layers.{index}.{what}"]
        if theirs.shape != ours.shape:
            sys.exit(f"{name}: {tuple(ours.shape)} ours, {tuple(theirs.shape)} NF's")
        pairs.append((name, ours, theirs))
    return pairs


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("csv")
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--ckpt")
    p.add_argument("--nf-first")
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    quiet()
    import pandas as pd
    import torch
    from neuralforecast import NeuralForecast
    quiet()
    torch.set_num_threads(a.threads)
    df = pd.read_csv(a.csv, parse_dates=["ds"]).sort_values(["unique_id", "ds"])
    df = df.reset_index(drop=True)
    last = df.groupby("unique_id").cumcount(ascending=False) < 24
    train, test = df[~last], df[last]
    nf = NeuralForecast(models=[nbeats(a.seed)], freq="ME")
    model = nf.models[0]  # NeuralForecast fits copies of the models it is given
    if a.ckpt:
        state = model.state_dict()  # shares the parameters' storage
        for _, ours, theirs in matched_parameters(torch.jit.load(a.ckpt), state):
            theirs.copy_(ours)
    elif a.nf_first:
        model.load_state_dict(nf_first_state(a.nf_first, a.seed))
    nf.fit(df=train, use_init_models=False)
    fc = nf.predict()
    evaluated = test.merge(fc, on=["unique_id", "ds"], how="left")
    mae, rmse, mape, smape = metrics(evaluated["y"].astype(float).tolist(),
                                     evaluated["NBEATS"].astype(float).tolist())
    print(json.dumps({"model": "NBEATS", "mae": mae, "rmse": rmse, "mape": mape,
                      "smape": smape, "seed": a.seed,
                      "from": "ours" if a.ckpt else "nf" if a.nf_first else "init"}), flush=True)


if __name__ == "__main__":
    main()
