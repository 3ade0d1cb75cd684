#!/usr/bin/env python3
"""NeuralForecast models on the US-carrier passenger series, as `drc forecast` runs them.

    nf_forecast.py CSV [--models MLP,RNN,...] [--seed 1 [2 3]] [--threads 2]
                   [--h 24] [--input-size 24] [--max-steps 100] [--freq ME]
                   [--scaler standard] [--level 80,90] [--conformal-windows 2]
                   [--cv-windows 3 --cv-step 12 [--cv-refit 1 [--cv-refit-from-init]]]
                   [--param MODEL.KEY=VALUE ...]
                   [--val-size 24 [--val-check-steps 10] [--early-stop-patience 3]
                    [--valid-loss MAE]]

CSV has columns y,ds,unique_id (monthly series, ds at month ends; the carrier file has one).
Each series trains on all its rows but the last h and is scored on those (drc forecast's
split). The published set-up (Deep RC evaluation): train on all rows but the last h (274 of
298), forecast the last h=24,
input_size=24, max_steps=100; every other hyper-parameter is NeuralForecast's default for the
model (loss, scaler, learning rate, batch sizes, early stopping off). Runs on the CPU with
torch.set_num_threads(--threads). Each model is fitted in its own NeuralForecast object, so
`seconds` is fit + predict wall time of that model alone (imports and data loading excluded).

Prints one JSON object per model and seed:
    {"model", "mae", "rmse", "mape", "smape", "seconds", "seed", "threads"}
Metrics are those of src/dl/metrics.cc (drc forecast), over the h test points of every series
together, skipping NaN:
    MAE   = mean |y - yhat|
    RMSE  = sqrt(mean (y - yhat)^2)
    MAPE  = 100 * mean |y - yhat| / |y|                      (points with y == 0 skipped)
    sMAPE = 100 * mean 2 |y - yhat| / (|y| + |yhat|)         (points with |y|+|yhat| == 0 skipped)
For probabilistic models (DeepAR) the point forecast is NeuralForecast's default output
column: the model's column if present, else its median column ("<model>-median"), else the
one column NF names after the model and its loss ("<model>_ql0.9" for QuantileLoss(0.9)).

--scaler sets every model's scaler_type (default: each model's own). --loss NAME sets every
model's loss (MSE, RMSE, MAPE, SMAPE, HuberLoss(DELTA), QuantileLoss(Q), MQLoss,
MQLoss(level=[L, ...]), MQLoss(quantiles=[Q, ...]), HuberMQLoss(level=[...], delta=D),
DistributionLoss(StudentT|Normal|Poisson|NegativeBinomial[, level=[...]]),
DistributionLoss(Tweedie, rho=R), GMM|PMM|NBMM(n_components=K, weighted=True, level=[...]),
HuberQLoss(Q, delta=D), IQLoss(...), HuberIQLoss(...), MASE(M);
MAE is NF's default), as drc forecast --loss names them; its valid_loss is then that loss too
(NF's default). Under MQLoss the point forecast is the "<model>-median" column, under a
DistributionLoss the model's column (the mean of its samples), under IQLoss and HuberIQLoss
predict()'s column (the median). --level L1,L2 predicts
with predict(level=[...]) (DeepAR: intervals from its distribution) and adds, per level,
"coverage_L" (share of test points with lo <= y <= hi, as src/dl/metrics.cc's Coverage) and
"width_L" (mean hi - lo). --conformal-windows N fits with
prediction_intervals=PredictionIntervals(n_windows=N, method=--conformal-method), NF's conformal
intervals for point models. --cv-windows N [--cv-step S] runs
cross_validation(df, n_windows=N, step_size=S) (refit=False: one fit without the last
h + S * (N - 1) points, forecasts from N cutoffs) on the whole series instead, and scores every
window's points ("cv_windows": N in the line), as drc forecast --cv-windows does.
--cv-refit K passes refit=K (1: True): NF fits again at every K-th window, going on from the
previous fit's weights with a new optimizer, and with --conformal-windows each fit calibrates
its own intervals (prediction_intervals=...). --cv-refit-from-init instead fits each of those
windows from the model's initial weights and seed (what drc forecast --cv-refit does): a new
NeuralForecast object per fit, run as cross_validation(refit=K) over that fit's K windows of the
series cut after them ("cv_refit" and "cv_refit_from_init" in the line).
--val-size N fits (and cross-validates) with val_size=N, the model built with
val_check_steps=--val-check-steps and early_stop_patience_steps=--early-stop-patience (and
valid_loss=--valid-loss, written as --loss), and adds "steps" (steps trained) and "val_losses"
(the model's valid_trajectories without Lightning's sanity check at step 0), as drc forecast
--val-size ... --json reports them.
"""
import argparse
import json
import logging
import math
import os
import sys
import time
import warnings

DEFAULT_MODELS = ["MLP", "RNN", "LSTM", "GRU", "TCN", "DilatedRNN", "DeepAR", "NBEATS", "NHITS",
                  "PatchTST", "TimesNet", "Autoformer", "FEDformer", "VanillaTransformer"]


def metrics(y, yhat):
    """MAE, RMSE, MAPE (%), sMAPE (%) exactly as src/dl/metrics.cc defines them."""
    pairs = [(a, b) for a, b in zip(y, yhat) if not (math.isnan(a) or math.isnan(b))]
    if not pairs:
        raise ValueError("no (y, yhat) pair without NaN")

    def mean_ratio(num, den):
        terms = [num(a, b) / den(a, b) for a, b in pairs if den(a, b) != 0]
        return sum(terms) / len(terms) if terms else float("nan")

    mae = mean_ratio(lambda a, b: abs(a - b), lambda a, b: 1.0)
    mse = mean_ratio(lambda a, b: (a - b) ** 2, lambda a, b: 1.0)
    mape = 100.0 * mean_ratio(lambda a, b: abs(a - b), lambda a, b: abs(a))
    smape = 100.0 * mean_ratio(lambda a, b: 2.0 * abs(a - b), lambda a, b: abs(a) + abs(b))
    return mae, math.sqrt(mse), mape, smape


def model_param(text):
    """MODEL.KEY=VALUE -> (MODEL, KEY, value): a Python literal, else a list of the names."""
    import ast
    target, sep, value = text.partition("=")
    model, dot, key = target.partition(".")
    if not sep or not dot or not model or not key:
        raise argparse.ArgumentTypeError(f"expected MODEL.KEY=VALUE, got {text!r}")
    try:
        parsed = ast.literal_eval(value)
    except (ValueError, SyntaxError):
        parsed = [v.strip() for v in value.split(",")] if "," in value else value
    return model, key, parsed


def parse_loss(text):
    """`--loss` text -> (NF's loss class, args, kwargs), in Python's call syntax: HuberLoss(0.5)
    or HuberLoss(delta=0.5), MQLoss(level=[80, 90]), HuberMQLoss(quantiles=[...], delta=0.5),
    DistributionLoss(StudentT, level=[80, 90], num_samples=500), MASE(12)."""
    import ast
    import neuralforecast.losses.pytorch as nfl
    name, _, argument = text.removesuffix(")").partition("(")
    args, kwargs = [], {}
    if argument:
        call = ast.parse(f"f({argument})", mode="eval").body

        def value(node):  # a bare name (StudentT) is the distribution's
            return node.id if isinstance(node, ast.Name) else ast.literal_eval(node)
        args = [value(n) for n in call.args]
        kwargs = {k.arg: value(k.value) for k in call.keywords}
    return getattr(nfl, name), args, kwargs


def quiet():
    """No progress bars, model summaries, logger output or warnings."""
    warnings.filterwarnings("ignore")
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    for name in ("pytorch_lightning", "lightning", "lightning.pytorch", "lightning_fabric",
                 "lightning.pytorch.utilities.rank_zero", "lightning_fabric.utilities.seed",
                 "pytorch_lightning.utilities.rank_zero", "neuralforecast", "torch"):
        logging.getLogger(name).setLevel(logging.ERROR)


def point_column(fc, name):
    """The forecast column of model `name` in NF's output `fc` (see the module docstring)."""
    if name in fc.columns:
        return name
    if f"{name}-median" in fc.columns:
        return f"{name}-median"
    named = [c for c in fc.columns if c.startswith(f"{name}_")]
    if len(named) != 1:
        sys.exit(f"{name}: no single forecast column among {list(fc.columns)}")
    return named[0]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("csv", help="y,ds,unique_id CSV (e.g. us_carrier_passenger.csv)")
    p.add_argument("--models", default=",".join(DEFAULT_MODELS),
                   help="comma-separated NeuralForecast model classes")
    p.add_argument("--seed", type=int, nargs="+", default=[1],
                   help="one or more seeds (random_seed of each model); one line per seed")
    p.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    p.add_argument("--h", type=int, default=24)
    p.add_argument("--input-size", type=int, default=24)
    p.add_argument("--max-steps", type=int, default=100)
    p.add_argument("--freq", default="ME",
                   help="pandas frequency of ds (the carrier CSV has month-end dates: ME)")
    p.add_argument("--scaler", default=None,
                   help="scaler_type of every model (default: each model's own)")
    p.add_argument("--level", default=None,
                   help="comma-separated prediction interval levels, e.g. 80,90")
    p.add_argument("--conformal-windows", type=int, default=0,
                   help="PredictionIntervals(n_windows) in fit (0: none)")
    p.add_argument("--conformal-method", default="conformal_distribution")
    p.add_argument("--cv-windows", type=int, default=0,
                   help="cross_validation(n_windows, step_size, refit=False) on the whole series "
                        "instead of one held-out window (0: none)")
    p.add_argument("--cv-step", type=int, default=1, help="cross_validation's step_size")
    p.add_argument("--cv-refit", type=int, default=0, help="cross_validation's refit (0: False)")
    p.add_argument("--cv-refit-from-init", action="store_true",
                   help="each refit from the initial weights (a new model per fit)")
    p.add_argument("--loss", default=None, help="MSE, HuberLoss(0.5), ... (default: MAE)")
    p.add_argument("--param", action="append", default=[], type=model_param,
                   help="MODEL.KEY=VALUE: one of MODEL's hyper-parameters, as drc forecast's")
    p.add_argument("--val-size", type=int, default=0, help="fit's val_size (0: none)")
    p.add_argument("--val-check-steps", type=int, default=100, help="val_check_steps")
    p.add_argument("--early-stop-patience", type=int, default=-1,
                   help="early_stop_patience_steps (-1: never)")
    p.add_argument("--valid-loss", default=None, help="valid_loss, written as --loss")
    p.add_argument("--precision", default="32-true",
                   help="Lightning trainer precision (32-true is its default; bf16-mixed "
                        "runs the forward under torch.autocast with bfloat16)")
    a = p.parse_args()

    quiet()
    import pandas as pd
    import torch
    from slstm_vanilla import use_vanilla_slstm
    use_vanilla_slstm()  # NF's sLSTM backbone on a CPU
    import neuralforecast
    import neuralforecast.models as nfm
    from neuralforecast import NeuralForecast
    quiet()  # again: lightning sets its loggers' levels when imported

    torch.set_num_threads(a.threads)
    df = pd.read_csv(a.csv, parse_dates=["ds"])
    df = df.sort_values(["unique_id", "ds"]).reset_index(drop=True)
    last = df.groupby("unique_id").cumcount(ascending=False) < a.h  # each series' last h rows
    train, test = df[~last], df[last]
    first = df["unique_id"].iloc[0]
    inferred = pd.infer_freq(df.loc[df["unique_id"] == first, "ds"])
    if inferred is not None and pd.tseries.frequencies.to_offset(inferred) != \
            pd.tseries.frequencies.to_offset(a.freq):
        sys.exit(f"--freq {a.freq} does not fit the dates (pandas infers {inferred})")

    trainer = dict(accelerator="cpu", devices=1, enable_progress_bar=False, logger=False,
                   enable_model_summary=False, enable_checkpointing=False,
                   precision=a.precision)
    # Whole levels as ints: NF names conformal columns after the level as given (80 -> "-lo-80").
    levels = [int(float(x)) if float(x).is_integer() else float(x)
              for x in a.level.split(",")] if a.level else []
    extra = {"scaler_type": a.scaler} if a.scaler else {}
    if a.loss:
        import neuralforecast.losses.pytorch as nfl
        loss_class, args, kwargs = parse_loss(a.loss)
        extra["loss"] = loss_class(*args, **kwargs)
    if a.val_size:
        extra.update(val_check_steps=a.val_check_steps,
                     early_stop_patience_steps=a.early_stop_patience)
    if a.valid_loss:
        valid_class, valid_args, valid_kwargs = parse_loss(a.valid_loss)
        extra["valid_loss"] = valid_class(*valid_args, **valid_kwargs)
    # NF's implicit quantile losses hold the IQN head's layers, initialised when the loss is
    # built: before the model seeds torch, so from an unseeded generator, and a run would not
    # repeat. Each model gets its own, built right after torch.manual_seed(seed).
    implicit = (nfl.IQLoss, nfl.HuberIQLoss) if a.loss else ()
    if a.cv_refit_from_init and not a.cv_refit:
        sys.exit("--cv-refit-from-init needs --cv-refit K >= 1")
    for seed in a.seed:
        for name in a.models.split(","):
            cls = getattr(nfm, name)
            if isinstance(extra.get("loss"), implicit):
                torch.manual_seed(seed)
                extra["loss"] = loss_class(*args, **kwargs)

            # A multivariate model (TSMixer, ...) is told how many series its windows hold.
            n_series = ({"n_series": df["unique_id"].nunique()}
                        if getattr(cls, "MULTIVARIATE", False) else {})

            params = {key: value for model, key, value in a.param if model == name}

            def new_nf():
                model = cls(h=a.h, input_size=a.input_size, max_steps=a.max_steps,
                            random_seed=seed, **n_series, **params, **extra, **trainer)
                return NeuralForecast(models=[model], freq=a.freq)
            # A from-init refit builds one per fit below.
            nf = None if a.cv_refit_from_init else new_nf()
            t0 = time.perf_counter()
            validation = {"val_size": a.val_size} if a.val_size else {}
            if a.cv_windows:
                kw = {"level": levels, **validation} if levels else dict(validation)
                if a.cv_refit:
                    kw["refit"] = a.cv_refit
                if a.conformal_windows:
                    from neuralforecast.utils import PredictionIntervals
                    kw["prediction_intervals"] = PredictionIntervals(
                        n_windows=a.conformal_windows, method=a.conformal_method)
                if a.cv_refit_from_init:
                    # Fit w (every K-th window) sees each series up to its cutoff and forecasts
                    # its K windows: the series without the windows after them.
                    folds = []
                    for w in range(0, a.cv_windows, a.cv_refit):
                        k = min(a.cv_refit, a.cv_windows - w)
                        after = (a.cv_windows - w - k) * a.cv_step
                        keep = df.groupby("unique_id").cumcount(ascending=False) >= after
                        folds.append(new_nf().cross_validation(
                            df=df[keep], n_windows=k, step_size=a.cv_step, **kw))
                    fc = pd.concat(folds, ignore_index=True)
                else:
                    fc = nf.cross_validation(df=df, n_windows=a.cv_windows, step_size=a.cv_step,
                                             **kw)
                seconds = time.perf_counter() - t0
                col = point_column(fc, name)
                evaluated = fc
            elif a.conformal_windows:
                from neuralforecast.utils import PredictionIntervals
                nf.fit(df=train, prediction_intervals=PredictionIntervals(
                    n_windows=a.conformal_windows, method=a.conformal_method))
            else:
                nf.fit(df=train, **validation)
            if not a.cv_windows:
                fc = nf.predict(level=levels) if levels else nf.predict()
                if levels and isinstance(extra.get("loss"), implicit):
                    # NF's implicit quantile models give no point column with levels: the
                    # point forecast is predict()'s, the head at the median.
                    fc = nf.predict().merge(fc, on=["unique_id", "ds"])
                seconds = time.perf_counter() - t0
                fc = fc.reset_index() if "ds" not in fc.columns else fc
                col = point_column(fc, name)
                evaluated = test.merge(fc, on=["unique_id", "ds"], how="left")
            if evaluated[col].isna().all():
                sys.exit(f"{name}: forecast dates do not match the test dates")
            mae, rmse, mape, smape = metrics(evaluated["y"].astype(float).tolist(),
                                             evaluated[col].astype(float).tolist())
            line = {"model": name, "mae": mae, "rmse": rmse, "mape": mape, "smape": smape,
                    "seconds": round(seconds, 3), "seed": seed, "threads": a.threads,
                    "precision": a.precision}
            if params:
                line["params"] = params
            if a.cv_windows:
                line["cv_windows"] = a.cv_windows
                line["cv_refit"] = a.cv_refit
                if a.cv_refit_from_init:
                    line["cv_refit_from_init"] = True
            if a.loss:
                line["loss"] = a.loss
            if a.val_size and nf is not None:
                fitted = nf.models[0]
                line["steps"] = fitted.train_trajectories[-1][0] + 1
                line["val_losses"] = [float(v) for step, v in fitted.valid_trajectories
                                      if step > 0]  # step 0: Lightning's sanity check
            if a.valid_loss:
                line["valid_loss"] = a.valid_loss
            for level in levels:
                tag = f"{level:g}"
                lo, hi = f"{name}-lo-{tag}", f"{name}-hi-{tag}"
                if lo not in fc.columns:  # NF rounds the level in its column names
                    lo, hi = f"{name}-lo-{round(level)}", f"{name}-hi-{round(level)}"
                band = evaluated
                inside = (band[lo] <= band["y"]) & (band["y"] <= band[hi])
                line[f"coverage_{tag}"] = float(inside.mean())
                line[f"width_{tag}"] = float((band[hi] - band[lo]).mean())
            print(json.dumps(line), flush=True)
    print(json.dumps({"neuralforecast": neuralforecast.__version__, "torch": torch.__version__,
                      "pandas": pd.__version__}), file=sys.stderr)


if __name__ == "__main__":
    main()
