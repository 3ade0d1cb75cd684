#!/usr/bin/env python3
"""The training windows NF 3.3 draws at random_seed=1, as src/dl/windows_test.cc checks them.

    nf_train_draws.py LENGTHS STEPS INPUT_SIZE H [STEP_SIZE]

Trains NF's MLP (its defaults otherwise: batch_size 32 series, windows_batch_size 1024) for
STEPS steps on a panel of series with the comma-separated LENGTHS, series k counting
1000 k + 1, 1000 k + 2, ... daily. Per step it prints the order of the batch's series (as NF's
data loader gives them), the number of usable windows, the series and start of the first eight
windows drawn (a start is relative to the series' first point: negative in the front padding
NF gives a series shorter than the longest), and, with `all`, those of every usable window,
sorted. Recorded from inside NF's training_step by wrapping its _create_windows and
_sample_windows; nothing else of NF's training changes.
"""
import argparse
import logging
import warnings

import pandas as pd


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("lengths", help="series lengths, e.g. 60,60,60")
    p.add_argument("steps", type=int)
    p.add_argument("input_size", type=int)
    p.add_argument("h", type=int)
    p.add_argument("step_size", type=int, nargs="?", default=1)
    a = p.parse_args()
    lengths = [int(x) for x in a.lengths.split(",")]

    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    from neuralforecast import NeuralForecast
    from neuralforecast.models import MLP
    import neuralforecast.common._base_model as base

    start = pd.Timestamp("2000-01-01")
    df = pd.DataFrame(
        [(f"s{k:03d}", start + pd.Timedelta(days=i), 1000.0 * k + i + 1)
         for k, n in enumerate(lengths) for i in range(n)],
        columns=["unique_id", "ds", "y"])

    batch_of_step = {}
    steps = []
    create_windows = base.BaseModel._create_windows
    sample_windows = base.BaseModel._sample_windows

    def recording_create_windows(self, batch, step):
        out = create_windows(self, batch, step)
        if step == "train":
            y = batch["temporal"][:, batch["y_idx"], :]
            batch_of_step.update(order=[int(row.max().item() // 1000) for row in y],
                                 per_series=out[0].shape[0] // y.shape[0], padded=y.shape[1])
        return out

    def series_start(g):
        row, w = divmod(g, batch_of_step["per_series"])
        k = batch_of_step["order"][row]
        return k, w * a.step_size - (batch_of_step["padded"] - lengths[k])

    def recording_sample_windows(self, *args, **kwargs):
        usable = kwargs["final_condition"]
        drawn = usable[kwargs["w_idxs"]].tolist()
        steps.append((list(batch_of_step["order"]), len(usable),
                      [series_start(g) for g in drawn[:8]],
                      sorted(series_start(g) for g in usable.tolist())))
        return sample_windows(self, *args, **kwargs)

    base.BaseModel._create_windows = recording_create_windows
    base.BaseModel._sample_windows = recording_sample_windows
    model = MLP(h=a.h, input_size=a.input_size, max_steps=a.steps, step_size=a.step_size,
                random_seed=1, enable_progress_bar=False, enable_model_summary=False,
                logger=False)
    NeuralForecast(models=[model], freq="D").fit(df)
    for order, usable, drawn, every in steps:
        print("order", order)
        print("usable", usable, "drawn", drawn)
        print("all", every)


if __name__ == "__main__":
    main()
