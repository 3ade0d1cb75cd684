#!/usr/bin/env python3
"""NeuralForecast's HINT on a hierarchy, as `drc forecast --hierarchy S.csv --reconciliation R`.

    nf_hint.py Y.csv S.csv [--model NHITS] [--loss "GMM(n_components=10)"]
               [--reconciliation BottomUp] [--seed 1 [2 3]] [--threads 2] [--h 7]
               [--input-size 28] [--max-steps 100] [--freq D] [--scaler robust]
               [--level 80,90]

Y.csv has unique_id, ds, y (every series of the hierarchy, aggregates and bottom); S.csv the
summing matrix as HierarchicalForecast's S_df.to_csv() writes it, its rows ordered as NF's
dataset orders the series (by unique_id) with the aggregates first, as NF's HINT expects
(camels_hierarchy.py and tests/data/make_hierarchy.py write such files). Each series trains on
all its rows but the last h and is scored on those, over all series together, with the metrics of
nf_forecast.py (src/dl/metrics.cc); the point forecast is HINT's column (the mean of the
reconciled samples). Per level L: coverage_L (share of test points inside) and width_L (mean
hi - lo). `seconds` is fit + predict wall time.

Prints one JSON object per seed.
"""
import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from nf_forecast import metrics, quiet  # noqa: E402


def make_loss(text, levels):
    import neuralforecast.losses.pytorch as nfl
    name, _, argument = text.removesuffix(")").partition("(")
    args, kwargs = [], {"level": levels}
    for part in filter(None, (p.strip() for p in argument.split(","))):
        key, eq, value = part.partition("=")
        if eq:
            kwargs[key.strip()] = eval(value, {"True": True, "False": False})  # noqa: S307
        else:
            args.append(part.strip("'\""))
    return getattr(nfl, name)(*args, **kwargs)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("y_csv")
    p.add_argument("s_csv")
    p.add_argument("--model", default="NHITS")
    p.add_argument("--loss", default="GMM(n_components=10)")
    p.add_argument("--reconciliation", default="BottomUp")
    p.add_argument("--seed", type=int, nargs="+", default=[1])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--h", type=int, default=7)
    p.add_argument("--input-size", type=int, default=28)
    p.add_argument("--max-steps", type=int, default=100)
    p.add_argument("--freq", default="D")
    p.add_argument("--scaler", default="robust")
    p.add_argument("--level", default="80,90")
    a = p.parse_args()
    quiet()
    import torch
    torch.set_num_threads(a.threads)
    import neuralforecast.models as nfm
    from neuralforecast import NeuralForecast
    from neuralforecast.models import HINT

    df = pd.read_csv(a.y_csv, dtype={"unique_id": str}, parse_dates=["ds"])
    df = df.sort_values(["unique_id", "ds"]).reset_index(drop=True)
    s_df = pd.read_csv(a.s_csv, dtype={"unique_id": str})
    ids = sorted(df["unique_id"].unique())
    if list(s_df["unique_id"]) != ids:
        sys.exit(f"S.csv's rows {list(s_df['unique_id'])} are not the data's series in NF's "
                 f"order {ids}")
    S = s_df.drop(columns="unique_id").to_numpy(dtype=float)
    test = df.groupby("unique_id").tail(a.h)
    train = df.drop(test.index)
    levels = [int(v) for v in a.level.split(",")] if a.level else []
    for seed in a.seed:
        base = getattr(nfm, a.model)(h=a.h, input_size=a.input_size, max_steps=a.max_steps,
                                     loss=make_loss(a.loss, levels), scaler_type=a.scaler,
                                     random_seed=seed, enable_progress_bar=False,
                                     enable_model_summary=False, logger=False,
                                     accelerator="cpu")
        hint = HINT(h=a.h, S=S, model=base, reconciliation=a.reconciliation)
        nf = NeuralForecast(models=[hint], freq=a.freq)
        start = time.perf_counter()
        nf.fit(df=train)
        fc = nf.predict()
        seconds = time.perf_counter() - start
        fc = fc.reset_index() if "unique_id" not in fc.columns else fc
        merged = test.merge(fc, on=["unique_id", "ds"], how="left")
        mae, rmse, mape, smape = metrics(merged["y"].tolist(), merged["HINT"].tolist())
        line = {"model": a.model, "reconciliation": a.reconciliation, "loss": a.loss,
                "mae": mae, "rmse": rmse, "mape": mape, "smape": smape, "seconds": seconds,
                "seed": seed, "threads": a.threads}
        for level in levels:
            lo, hi = merged[f"HINT-lo-{level}"], merged[f"HINT-hi-{level}"]
            line[f"coverage_{level}"] = float(((merged["y"] >= lo) & (merged["y"] <= hi)).mean())
            line[f"width_{level}"] = float((hi - lo).mean())
        per_series = merged.assign(err=(merged["y"] - merged["HINT"]).abs())
        line["mae_by_series"] = {k: float(v) for k, v in
                                 per_series.groupby("unique_id")["err"].mean().items()}
        print(json.dumps(line), flush=True)


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
