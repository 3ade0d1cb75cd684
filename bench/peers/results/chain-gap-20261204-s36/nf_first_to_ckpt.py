#!/usr/bin/env python3
"""NF's first link of the chain, written as our checkpoint, for drc forecast --init-from.

    nf_first_to_ckpt.py CUT.csv --seed S --template OUR.ckpt --out DIR/NBEATS.ckpt

Fits NF's first link as nf_fit_from.py's nf_first_state does (NF's conformal calibration
copy: cross_validation(n_windows=2, step_size=1) of CUT.csv, the rows before the 24 held out).
Its parameters replace those of TEMPLATE, a checkpoint that drc forecast --checkpoint-dir wrote
for NBEATS with the same hyper-parameters (names mapped and basis buffers checked as in
nf_fit_from.py), saved as OUT. drc forecast --init-from DIR then runs our second link from NF's
first.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.dirname(__file__))
from nf_forecast import quiet  # noqa: E402
from nf_fit_from import matched_parameters, nf_first_state  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("cut")
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--template", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    quiet()
    import torch
    quiet()
    torch.set_num_threads(a.threads)
    state = nf_first_state(a.cut, a.seed)
    archive = torch.jit.load(a.template)
    with torch.no_grad():
        for _, ours, theirs in matched_parameters(archive, state):
            ours.copy_(theirs)
    torch.jit.save(archive, a.out)


if __name__ == "__main__":
    main()
