#!/usr/bin/env python3
"""NeuralForecast with exogenous variables, as `drc forecast --futr-exog/--stat-exog` runs it.

    nf_exog.py CSV [--models MLP] [--seed 1 [2 3]] [--threads 2] [--h 7] [--input-size 28]
               [--max-steps 500] [--freq D] [--scaler standard]
               [--futr-exog prcp,srad,tmax,tmin,vp,dayl] [--hist-exog COLS] [--stat-exog area]
               [--cat-exog COLS [--cat-emb-dim fastai]] [--cv-windows 52 --cv-step 7]
               [--param MODEL.KEY=VALUE ...]

CSV is long format, unique_id,ds,y plus exogenous columns (camels_long.py writes one). Each
series trains on all its rows but the last h and is scored on those (drc forecast's split).
Future exogenous columns (--futr-exog) go into the model's futr_exog_list, and predict gets
futr_df = the last h rows' unique_id, ds and those columns; --hist-exog columns go into
hist_exog_list (past values only); --stat-exog columns go into stat_exog_list with
static_df = one row per unique_id (the column's first value of the series). --cat-exog names
those of them that are categorical (cat_exog_list, with categorical_cardinalities = each
column's distinct values in the training rows, as drc forecast counts them, and cat_emb_dim).
Without any of the three it is the plain model, so the gain from the exogenous variables shows on both sides.
--importances FILE (without --cv-windows) writes the variable importances of a model that has
them (NF's TFT.feature_importances(), over the windows predict() forecast from) as drc forecast
--importances writes them: model,kind,variable,step,importance, the steps -L..-1 over the input
and 1..H over the horizon, the static rows without a step, then the horizon rows of NF's
TFT.attention_weights() (kind attention: per horizon step, the weight of each step t-L..t+H it
attends to). NF names the historic columns
hist + futr + observed_target (+ repeated_target without future variables, though its tensor holds
that one before the target); they are written as NF names them.
--cv-windows N [--cv-step S] runs cross_validation(df, n_windows=N, step_size=S) instead (one
fit without the last h + S * (N - 1) rows, forecasts from N cutoffs, each reading the future
columns after it) and scores every window's points, as drc forecast --cv-windows does.
Every other hyper-parameter is NeuralForecast's default for the model (--scaler sets
scaler_type; --param MODEL.KEY=VALUE, as drc forecast's, sets one of MODEL's: VALUE is a Python
literal, or a comma-separated list of names, e.g. NBEATSx.stack_types=trend,seasonality,exogenous).
CPU only, torch.set_num_threads(--threads); seconds = fit + predict wall time.

NeuralForecast refuses missing values: a missing y of the training rows is given to it as
available_mask = 0 (y filled with 0; NF's way of marking gaps) and skipped when scoring; a
missing exogenous value stops the script. The script runs itself under PYTHONHASHSEED=0 so
that a seed gives the same numbers in every run (see main).

Prints one JSON object per model and seed, metrics as nf_forecast.py (src/dl/metrics.cc):
    {"model", "mae", "rmse", "mape", "smape", "seconds", "seed", "threads", "exog"}
"""
import argparse
import json
import os
import sys
import time

from nf_forecast import metrics, model_param, quiet


def columns(text):
    return [c for c in text.split(",") if c] if text else []


def write_importances(path, name, importances, input_size, attention=None):
    """NF's feature_importances() dict as drc forecast --importances rows (appended), and the
    horizon rows of its attention_weights() [L + H, L + H] as its attention rows: per horizon
    step (the query, 1..H) the weight of each step it attends to, t-L..t-1 and t+1..t+H."""
    import csv
    new = not os.path.exists(path)
    with open(path, "a", newline="") as f:
        w = csv.writer(f)
        if new:
            w.writerow(["model", "kind", "variable", "step", "importance"])
        for key, frame in importances.items():
            if key.startswith("Past"):
                kind, first = "history", -input_size
            elif key.startswith("Future"):
                kind, first = "future", 1
            else:  # "Static covariates": one row per variable, column "importance"
                for variable, row in frame.iterrows():
                    w.writerow([name, "static", variable, "", float(row["importance"])])
                continue
            for step, (_, row) in enumerate(frame.iterrows()):
                for variable in frame.columns:
                    w.writerow([name, kind, variable, first + step, float(row[variable])])
        if attention is not None:
            total = attention.shape[1]
            keys = [f"t{k}" if k < 0 else f"t+{k}"
                    for k in range(-input_size, total - input_size + 1) if k != 0]
            for step, row in enumerate(attention[input_size:]):
                for key, weight in zip(keys, row):
                    w.writerow([name, "attention", key, step + 1, float(weight)])


def main():
    if os.environ.get("PYTHONHASHSEED") != "0":
        # NeuralForecast orders the exogenous columns it scales through a set of their names
        # (_get_temporal_exogenous_cols): with Python's random string hashing, one seed gives a
        # different MAE in every process. A fixed hash seed makes a run repeat exactly.
        env = dict(os.environ, PYTHONHASHSEED="0")
        os.execve(sys.executable, [sys.executable, *sys.argv], env)
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("csv", help="long CSV: unique_id,ds,y and exogenous columns")
    p.add_argument("--models", default="MLP", help="comma-separated NeuralForecast models")
    p.add_argument("--seed", type=int, nargs="+", default=[1])
    p.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    p.add_argument("--h", type=int, default=7)
    p.add_argument("--input-size", type=int, default=28)
    p.add_argument("--max-steps", type=int, default=500)
    p.add_argument("--freq", default="D")
    p.add_argument("--scaler", default=None, help="scaler_type (default: the model's own)")
    p.add_argument("--futr-exog", type=columns, default=[], help="future exogenous columns")
    p.add_argument("--hist-exog", type=columns, default=[], help="historic exogenous columns")
    p.add_argument("--stat-exog", type=columns, default=[], help="static exogenous columns")
    p.add_argument("--cat-exog", type=columns, default=[], help="categorical ones among them")
    p.add_argument("--cat-emb-dim", default="fastai", help="fastai, sqrt, half or a number")
    p.add_argument("--cv-windows", type=int, default=0, help="cross-validation windows")
    p.add_argument("--cv-step", type=int, default=1, help="steps between the cutoffs")
    p.add_argument("--importances", default=None, help="CSV of TFT's variable importances")
    p.add_argument("--param", action="append", default=[], type=model_param,
                   help="MODEL.KEY=VALUE: one of MODEL's hyper-parameters")
    a = p.parse_args()
    if a.importances and a.cv_windows > 0:
        sys.exit("nf_exog: --importances is for a plain fit and predict, not --cv-windows")

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
    df = pd.read_csv(a.csv, parse_dates=["ds"], dtype={"unique_id": str})
    df = df.sort_values(["unique_id", "ds"]).reset_index(drop=True)
    temporal = a.futr_exog + a.hist_exog
    missing = [c for c in temporal + a.stat_exog if c not in df.columns]
    if missing:
        sys.exit(f"nf_exog: {a.csv} has no column {', '.join(missing)}")
    gaps = [c for c in temporal + a.stat_exog if c not in a.cat_exog and df[c].isna().any()]
    if gaps:
        sys.exit(f"nf_exog: missing values in exogenous column(s) {', '.join(gaps)}")
    last = df.groupby("unique_id").cumcount(ascending=False) < a.h  # each series' last h rows
    train = df.loc[~last, ["unique_id", "ds", "y"] + temporal]
    test = df.loc[last, ["unique_id", "ds", "y"]]
    if train["y"].isna().any():
        train = train.assign(available_mask=train["y"].notna().astype(float),
                             y=train["y"].fillna(0.0))
    futr_df = df.loc[last, ["unique_id", "ds"] + a.futr_exog] if a.futr_exog else None
    static_df = (df.groupby("unique_id", as_index=False)[a.stat_exog].first()
                 if a.stat_exog else None)
    held = a.h + a.cv_step * (a.cv_windows - 1) if a.cv_windows > 0 else a.h
    trained = df.groupby("unique_id").cumcount(ascending=False) >= held
    cat = {}
    if a.cat_exog:
        dim = int(a.cat_emb_dim) if a.cat_emb_dim.isdigit() else a.cat_emb_dim
        cat = dict(cat_exog_list=a.cat_exog, cat_emb_dim=dim,
                   categorical_cardinalities={c: int(df.loc[trained, c].nunique())
                                              for c in a.cat_exog})
    exog = "; ".join(f"{kind}: {','.join(cols)}" for kind, cols in
                     (("futr", a.futr_exog), ("hist", a.hist_exog), ("stat", a.stat_exog))
                     if cols) or "none"
    if a.cat_exog:
        exog += f"; cat: {','.join(a.cat_exog)}"

    trainer = dict(accelerator="cpu", devices=1, enable_progress_bar=False, logger=False,
                   enable_model_summary=False, enable_checkpointing=False)
    extra = {"scaler_type": a.scaler} if a.scaler else {}
    for seed in a.seed:
        for name in a.models.split(","):
            params = {key: value for model, key, value in a.param if model == name}
            if getattr(getattr(nfm, name), "MULTIVARIATE", False):  # TSMixer, iTransformer, ...
                params["n_series"] = train["unique_id"].nunique()
            model = getattr(nfm, name)(h=a.h, input_size=a.input_size, max_steps=a.max_steps,
                                       random_seed=seed, futr_exog_list=a.futr_exog or None,
                                       hist_exog_list=a.hist_exog or None,
                                       stat_exog_list=a.stat_exog or None, **cat, **extra,
                                       **params, **trainer)
            nf = NeuralForecast(models=[model], freq=a.freq)
            t0 = time.perf_counter()
            if a.cv_windows > 0:
                evaluated = nf.cross_validation(
                    df=df[["unique_id", "ds", "y"] + temporal], static_df=static_df,
                    n_windows=a.cv_windows, step_size=a.cv_step, refit=False)
                seconds = time.perf_counter() - t0
                evaluated = evaluated.dropna(subset=["y"])
            else:
                nf.fit(df=train, static_df=static_df)
                fc = nf.predict(futr_df=futr_df)
                seconds = time.perf_counter() - t0
                if a.importances:
                    write_importances(a.importances, name, nf.models[0].feature_importances(),
                                      a.input_size, nf.models[0].attention_weights())
                fc = fc.reset_index() if "ds" not in fc.columns else fc
                evaluated = test.merge(fc, on=["unique_id", "ds"], how="left")
            if evaluated[name].isna().all():
                sys.exit(f"nf_exog: {name}: forecast dates do not match the test dates")
            mae, rmse, mape, smape = metrics(evaluated["y"].astype(float).tolist(),
                                             evaluated[name].astype(float).tolist())
            print(json.dumps({"model": name, "mae": mae, "rmse": rmse, "mape": mape,
                              "smape": smape, "seconds": round(seconds, 3), "seed": seed,
                              "threads": a.threads, "exog": exog,
                              "cv_windows": a.cv_windows,
                              **({"params": params} if params else {})}), flush=True)
    print(json.dumps({"neuralforecast": neuralforecast.__version__, "torch": torch.__version__,
                      "pandas": pd.__version__}), file=sys.stderr)


if __name__ == "__main__":
    main()
