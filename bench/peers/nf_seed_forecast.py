#!/usr/bin/env python3
"""NF's model at random_seed=1, its eval-mode forecast of the windows our model tests feed.

    nf_seed_forecast.py MODEL [--hist N] [--futr N] [--stat] [--h 12] [--input-size 24]
                        [--param KEY=VALUE ...] [--output 0] [--count] [--train]
                        [--n-series 2] [--loss EXPR]

Builds NeuralForecast's MODEL(h, input_size, random_seed=1, ...) with N historic and future
variables (0 to 2) and, with --stat, one static variable, and feeds its forward the two windows
of src/dl/models_test.cc's NfWindows as a windows_batch dict (the layout NF's _parse_windows
gives a univariate model). Prints what Models.*LayersAreNfs compare ours with: window 0's
steps 0-3, window 1's steps 9-11 and the sum of all 24, in C++ initializer form, then (with
--count) NF's trainable parameter count. --output K prints the K-th output per step (the forward
of a distribution loss gives its parameters per step before NF's domain map; a recurrent model's
forward, DeepAR's, gives those of the steps after the window's last h values). KEY=VALUE is one of MODEL's hyper-parameters: a Python
literal, or a comma-separated list of names (e.g. stack_types=trend,seasonality,exogenous).
--n-series 2 builds a multivariate model (TSMixer) for two series and feeds it the two
windows as the two series of one window, [1, L, 2] (variables as NF's [1, C, T, 2], statics
[2, S]), printing series 0's steps 0-3, series 1's last 3 and the sum. Every other hyper-parameter is NF's default. The seed is set as NF's BaseModel sets it, before
the layers are built, so the initial weights are the ones NF trains from.

--predict runs NF's recurrent prediction instead of the forward (a RECURRENT model: DeepAR, or RNN,
LSTM and GRU with --param recurrent=True): the windows then hold input_size + 1 values, as NF's
recurrent models read (NfWindows with 25 inputs), their variables shifted as NF's _parse_windows
shifts them, and NF's _predict_step_recurrent_batch forecasts the h steps, each fed the last, in
the scaled space (the scaler's inverse is left out).

--loss EXPR builds the model with that loss (a Python expression over neuralforecast.losses.pytorch,
e.g. "MQLoss(level=[80])" or "DistributionLoss('Normal')"). With --n-series 2 and more than one
output per step, --output K prints each series' K-th output as ours lays them out (src/dl/model.h,
MultivariateRows): a series' own token's outputs, NF's [1, h, Q * N] read as Q groups of N, which
is how NF's DistributionLoss reads them. NF's MQLoss and mixtures read them as N groups of Q, which
for the models that project each series' token mixes the series; only MLPMultivariate and
TimeMixer, whose last layer mixes the series anyway, are read as NF's loss reads them there.
"""
import argparse
import ast

import torch


def windows(hist, futr, stat, input_size, h):
    """NfWindows of src/dl/models_test.cc, as NF's windows_batch for a univariate model."""
    t = torch.arange(input_size + h, dtype=torch.float32)
    x = t[:input_size]
    y = torch.stack([torch.sin(0.3 * x), torch.cos(0.2 * x)])
    batch = {"insample_y": y.unsqueeze(-1), "insample_mask": torch.ones(2, input_size, 1),
             "hist_exog": None, "futr_exog": None, "stat_exog": None}
    if hist:
        batch["hist_exog"] = torch.stack([torch.stack([0.1 * x, torch.sin(0.2 * x)], -1),
                                          torch.stack([-0.05 * x, torch.cos(0.7 * x)], -1)
                                          ])[:, :, :hist]
    if futr:
        batch["futr_exog"] = torch.stack([torch.stack([torch.cos(0.5 * t), 0.02 * t], -1),
                                          torch.stack([torch.sin(0.1 * t), -0.03 * t], -1)
                                          ])[:, :, :futr]
    if stat:
        batch["stat_exog"] = torch.tensor([[0.5], [-1.0]])
    return batch


def param(text):
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    try:
        return key, ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return key, [v.strip() for v in value.split(",")] if "," in value else value


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("model", help="a NeuralForecast model class, e.g. VanillaTransformer")
    p.add_argument("--hist", type=int, default=0, choices=range(3))
    p.add_argument("--futr", type=int, default=0, choices=range(3))
    p.add_argument("--stat", action="store_true")
    p.add_argument("--h", type=int, default=12)
    p.add_argument("--input-size", type=int, default=24)
    p.add_argument("--param", action="append", default=[], type=param)
    p.add_argument("--output", type=int, default=0,
                   help="which of the model's outputs per step to print (DeepAR's loc: 1)")
    p.add_argument("--count", action="store_true", help="also print the trainable parameters")
    p.add_argument("--train", action="store_true",
                   help="the training-mode forward instead (dropout on, batch statistics), "
                        "torch seeded with 1 just before it, as our NfDropoutMasks tests")
    p.add_argument("--n-series", type=int, default=0, choices=(0, 2),
                   help="a multivariate model: the two windows as two series of one window")
    p.add_argument("--predict", action="store_true",
                   help="a recurrent model's prediction, fed back step by step, from windows of "
                        "input_size + 1 values")
    p.add_argument("--loss", default="",
                   help="the model's loss, e.g. \"MQLoss(level=[80])\" (default: NF's MAE)")
    a = p.parse_args()

    import logging
    logging.getLogger("pytorch_lightning").setLevel(logging.ERROR)
    logging.getLogger("lightning_fabric").setLevel(logging.ERROR)
    from slstm_vanilla import use_vanilla_slstm
    use_vanilla_slstm()  # NF's sLSTM backbone on a CPU
    from neuralforecast import models

    cls = getattr(models, a.model)
    names = {"hist_exog_list": [f"h{i}" for i in range(a.hist)],
             "futr_exog_list": [f"f{i}" for i in range(a.futr)],
             "stat_exog_list": ["s0"] if a.stat else []}
    # An empty list is left out, as a user would: TimeMixer takes futr_exog_list=[] for variables.
    names = {key: value for key, value in names.items() if value}
    mv = {"n_series": a.n_series} if a.n_series else {}
    if a.loss:
        from neuralforecast.losses import pytorch as nf_losses
        mv["loss"] = eval(a.loss, dict(vars(nf_losses)))
    model = cls(h=a.h, input_size=a.input_size, random_seed=1, **names, **mv, **dict(a.param))
    if a.predict:
        batch = windows(a.hist, a.futr, a.stat, a.input_size + 1, a.h)
        if batch["hist_exog"] is not None:  # NF's recurrent windows: zeros after the input, shifted
            hist = batch["hist_exog"]
            batch["hist_exog"] = torch.cat([hist, torch.zeros(2, a.h, hist.shape[2])], 1)[:, 1:]
        if batch["futr_exog"] is not None:
            batch["futr_exog"] = batch["futr_exog"][:, 1:]
        model.eval()
        model._inv_normalization = lambda y_hat, y_idx: y_hat
        with torch.no_grad():
            out = model._predict_step_recurrent_batch(
                insample_y=batch["insample_y"], insample_mask=batch["insample_mask"],
                futr_exog=batch["futr_exog"], hist_exog=batch["hist_exog"],
                stat_exog=batch["stat_exog"], y_idx=0)
        out = out.reshape(2, a.h, -1)[:, :, a.output]
        print_forecast(out)
        if a.count:
            print(sum(q.numel() for q in model.parameters() if q.requires_grad))
        return
    batch = windows(a.hist, a.futr, a.stat, a.input_size, a.h)
    if a.n_series:  # [2, L, 1] -> [1, L, 2]; variables [2, T, C] -> NF's [1, C, T, 2]
        batch["insample_y"] = batch["insample_y"].permute(2, 1, 0)
        batch["insample_mask"] = batch["insample_mask"].permute(2, 1, 0)
        for key in ("hist_exog", "futr_exog"):
            if batch[key] is not None:
                batch[key] = batch[key].permute(2, 1, 0).unsqueeze(0)
    if a.train:
        model.train()
        torch.manual_seed(1)
    else:
        model.eval()
    with torch.no_grad():
        out = model(batch)
    if a.n_series:  # [1, h, 2 * Q] -> [2, h, Q]
        q = out.shape[-1] // a.n_series
        series_major = a.model in ("MLPMultivariate", "TimeMixer") and a.loss.startswith(
            ("MQLoss", "HuberMQLoss", "GMM", "PMM", "NBMM"))
        if series_major:
            out = out.reshape(1, a.h, a.n_series, q).permute(2, 1, 0, 3)
        else:
            out = out.reshape(1, a.h, q, a.n_series).permute(3, 1, 0, 2)
    out = out.reshape(2, a.h, -1)[:, :, a.output]
    print_forecast(out)
    if a.count:
        print(sum(q.numel() for q in model.parameters() if q.requires_grad))


def print_forecast(out):
    def floats(v):
        return "{" + ", ".join(f"{x:.7f}f" for x in v.tolist()) + "}"

    print(f"{{{floats(out[0, :4])},\n {floats(out[1, -3:])},\n {out.sum().item():.7f}}}")


if __name__ == "__main__":
    main()
