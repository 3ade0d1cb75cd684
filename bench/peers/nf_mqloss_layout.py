#!/usr/bin/env python3
"""NF 3.3's multivariate iTransformer under MQLoss: which series a quantile comes from.

    bench/peers/.venv-dl/bin/python bench/peers/nf_mqloss_layout.py

1. Untrained, n_series=3, MQLoss(level=[80]) (3 quantiles): series 1's window at level ~5 000, the
   others near 0. Prints NF's forecast after its loss's domain map, [h, series, quantile]: values
   near 5 000 in other series' rows are series 1's token's outputs.
2. Trained 300 steps (seed 1) on three series at levels 10, 5 000 and 100, MQLoss(level=[80]) and
   then DistributionLoss("Normal", level=[80]): prints each series' mean forecast, median and
   80 % bounds.
docs/dl-benchmarks.md, "Multivariate models with MQLoss and DistributionLoss", quotes both.
"""
import logging
import warnings

import numpy as np
import pandas as pd
import torch

warnings.filterwarnings("ignore")
logging.getLogger("pytorch_lightning").setLevel(logging.ERROR)
logging.getLogger("lightning_fabric").setLevel(logging.ERROR)
from neuralforecast import NeuralForecast  # noqa: E402
from neuralforecast.losses.pytorch import DistributionLoss, MQLoss  # noqa: E402
from neuralforecast.models import iTransformer  # noqa: E402


def untrained():
    torch.manual_seed(0)
    model = iTransformer(h=2, input_size=8, n_series=3, loss=MQLoss(level=[80]))
    model.eval()
    x = torch.randn(1, 8, 3)
    x[:, :, 1] = x[:, :, 1] * 1000 + 5000
    batch = {"insample_y": x, "insample_mask": torch.ones_like(x), "futr_exog": None,
             "hist_exog": None, "stat_exog": None}
    with torch.no_grad():
        print(model.loss.domain_map(model(batch))[0])


def trained():
    rng = np.random.default_rng(0)
    rows = [(f"s{k}", t, level * (1 + 0.1 * np.sin(2 * np.pi * t / 12)) + rng.normal(0, level * 0.01))
            for k, level in enumerate([10.0, 5000.0, 100.0]) for t in range(120)]
    df = pd.DataFrame(rows, columns=["unique_id", "ds", "y"])
    for loss in [MQLoss(level=[80]), DistributionLoss("Normal", level=[80])]:
        model = iTransformer(h=12, input_size=24, n_series=3, loss=loss, max_steps=300,
                             random_seed=1, enable_progress_bar=False,
                             enable_model_summary=False, logger=False)
        nf = NeuralForecast(models=[model], freq=1)
        nf.fit(df[df.ds < 108])
        print(type(loss).__name__)
        print(nf.predict().groupby("unique_id").mean(numeric_only=True).round(1).to_string())


if __name__ == "__main__":
    untrained()
    trained()
