"""The result files of the bench scripts: JSON objects one per line, among other lines.

`drc ... --json`, nf_forecast.py, nh_camels.py and the data benchmarks print one JSON object per
line; log lines and version banners may stand between them. Imported by the table scripts
beside this file (run as `python3 bench/peers/<script>.py`, so this folder is on sys.path).
"""
import json


def read(*paths):
    """Every JSON object (a line starting with "{") of the files, in order."""
    for path in paths:
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line.startswith("{"):
                    yield json.loads(line)
