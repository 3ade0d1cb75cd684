#!/usr/bin/env python3
"""NeuralHydrology's LSTM on the CAMELS-US sample, as the Deep RC hydrology LSTM runs it.

    nh_camels.py DATA_DIR [--model cudalstm|ealstm] [--epochs 10] [--seed 1] [--threads 2]
                 [--hidden 128] [--keep DIR]

DATA_DIR is /work/shared/data/camels_us_sample (forcing_daymet/, streamflow/, attributes/).
NeuralHydrology reads the original CAMELS-US layout, so a temporary folder is built with
symlinks to the sample's files:
    basin_mean_forcing/daymet/<huc_02>/<gauge>_lump_cida_forcing_leap.txt
    usgs_streamflow/<huc_02>/<gauge>_streamflow_qc.txt
    camels_attributes_v2.0/camels_*.txt
(huc_02 of each gauge from attributes/camels_name.txt). NH converts the discharge to mm/day
with the basin area of the forcing file's header, as the data README says.

Set-up (Kratzert et al. 2019, NeuralHydrology's example configs): basins 01022500 01547700
02064000 03015500; train 2000-01-01..2001-12-31, test 2002-01-01..2002-12-31; dynamic inputs
prcp(mm/day) srad(W/m2) tmax(C) tmin(C) vp(Pa) dayl(s) (daymet); the 26 static attributes of
the CAMELS benchmark; target QObs(mm/d); seq_length 365, predict_last_n 1; hidden 128,
initial forget-gate bias 3, output dropout 0.4, linear regression head; NSE* loss, Adam with
learning rate 1e-3, clip_gradient_norm 1, batch 256. Training samples need 365 days of inputs
without gaps, so with data starting 2000-01-01 the training targets are 2000-12-30..2001-12-31
(NH marks windows reaching before the data as invalid); the 2002 test windows warm up on 2001.
Validation: NH's config requires a validation period; it is set to the test period, but
validation during training is off (validate_every unset), so it does not cost time or
influence training (no early stopping, no model selection): the model after the last epoch
is evaluated once on the test period.

Prints one JSON object per basin, {"basin", "nse", "kge"}, then
{"model", "median_nse", "seconds", "train_seconds", "epochs", "seed", "threads"}, seconds =
training + test-period evaluation wall time, train_seconds = training alone (NH's start_run:
data loading and normalization included; imports and building the folder excluded).
"""
import argparse
import json
import logging
import os
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

BASINS = ["01022500", "01547700", "02064000", "03015500"]
DYNAMIC = ["prcp(mm/day)", "srad(W/m2)", "tmax(C)", "tmin(C)", "vp(Pa)", "dayl(s)"]
STATIC = ["elev_mean", "slope_mean", "area_gages2", "frac_forest", "lai_max", "lai_diff",
          "gvf_max", "gvf_diff", "soil_depth_pelletier", "soil_depth_statsgo", "soil_porosity",
          "soil_conductivity", "max_water_content", "sand_frac", "silt_frac", "clay_frac",
          "carbonate_rocks_frac", "geol_permeability", "p_mean", "pet_mean", "aridity",
          "frac_snow", "high_prec_freq", "high_prec_dur", "low_prec_freq", "low_prec_dur"]


def build_camels_layout(sample: Path, root: Path):
    """Symlinks the sample's files into the folder layout NeuralHydrology's camels_us reads."""
    huc = {}
    with open(sample / "attributes" / "camels_name.txt") as f:
        next(f)
        for line in f:
            gauge, h = line.split(";")[:2]
            huc[gauge] = h.zfill(2)
    attrs = root / "camels_attributes_v2.0"
    attrs.mkdir(parents=True)
    for f in sorted((sample / "attributes").glob("camels_*.txt")):
        (attrs / f.name).symlink_to(f.resolve())
    for basin in BASINS:
        forcing = root / "basin_mean_forcing" / "daymet" / huc[basin]
        flow = root / "usgs_streamflow" / huc[basin]
        forcing.mkdir(parents=True, exist_ok=True)
        flow.mkdir(parents=True, exist_ok=True)
        name = f"{basin}_lump_cida_forcing_leap.txt"
        (forcing / name).symlink_to((sample / "forcing_daymet" / name).resolve())
        name = f"{basin}_streamflow_qc.txt"
        (flow / name).symlink_to((sample / "streamflow" / name).resolve())


def write_config(work: Path, data_dir: Path, a) -> Path:
    basin_file = work / "basins.txt"
    basin_file.write_text("\n".join(BASINS) + "\n")
    lst = lambda xs: "[" + ", ".join(f'"{x}"' for x in xs) + "]"
    cfg = f"""\
experiment_name: nh_camels_{a.model}
run_dir: {work / "runs"}
train_basin_file: {basin_file}
validation_basin_file: {basin_file}
test_basin_file: {basin_file}
train_start_date: "01/01/2000"
train_end_date: "31/12/2001"
validation_start_date: "01/01/2002"
validation_end_date: "31/12/2002"
test_start_date: "01/01/2002"
test_end_date: "31/12/2002"
device: cpu
metrics: [NSE, KGE]
model: {a.model}
head: regression
output_activation: linear
hidden_size: {a.hidden}
initial_forget_bias: 3
output_dropout: 0.4
optimizer: Adam
loss: NSE
learning_rate:
  0: 1.0e-3
batch_size: 256
epochs: {a.epochs}
clip_gradient_norm: 1
predict_last_n: 1
seq_length: 365
num_workers: 0
log_interval: 1000
log_tensorboard: False
log_n_figures: 0
save_weights_every: {a.epochs}
save_validation_results: False
verbose: 0
seed: {a.seed}
dataset: camels_us
data_dir: {data_dir}
forcings: [daymet]
dynamic_inputs: {lst(DYNAMIC)}
target_variables: ["QObs(mm/d)"]
static_attributes: {lst(STATIC)}
"""
    path = work / "config.yml"
    path.write_text(cfg)
    return path


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("data_dir", type=Path, help="camels_us_sample folder")
    p.add_argument("--model", default="cudalstm", choices=["cudalstm", "ealstm"])
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--keep", type=Path, default=None,
                   help="build the layout, config and run folder here and keep them")
    a = p.parse_args()

    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)  # NH logs every epoch at INFO; keep stdout JSON only
    import pandas as pd
    import torch
    from neuralhydrology.nh_run import eval_run, start_run

    torch.set_num_threads(a.threads)
    if a.keep:
        a.keep.mkdir(parents=True, exist_ok=False)
        work = a.keep
    else:
        work = Path(tempfile.mkdtemp(prefix="nh_camels_"))
    try:
        data = work / "camels_us"
        build_camels_layout(a.data_dir.resolve(), data)
        config = write_config(work, data, a)
        t0 = time.perf_counter()
        start_run(config_file=config, gpu=-1)
        train_seconds = time.perf_counter() - t0
        run_dir = next((work / "runs").iterdir())
        eval_run(run_dir=run_dir, period="test", gpu=-1)
        seconds = time.perf_counter() - t0
        csv = next(run_dir.glob(f"test/model_epoch{a.epochs:03d}/test_metrics.csv"))
        df = pd.read_csv(csv, dtype={"basin": str}).set_index("basin")
        nse_col = next(c for c in df.columns if c.endswith("NSE"))
        kge_col = next(c for c in df.columns if c.endswith("KGE"))
        for basin in BASINS:
            print(json.dumps({"basin": basin, "nse": float(df.loc[basin, nse_col]),
                              "kge": float(df.loc[basin, kge_col])}), flush=True)
        print(json.dumps({"model": a.model, "median_nse": statistics.median(df[nse_col]),
                          "seconds": round(seconds, 3),
                          "train_seconds": round(train_seconds, 3), "epochs": a.epochs, "seed": a.seed,
                          "threads": a.threads}), flush=True)
    finally:
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
