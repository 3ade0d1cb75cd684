#!/usr/bin/env python3
"""The published system's shape of a forecasting pipeline: a RADICAL-Pilot pilot on this machine
that runs one NeuralForecast task per model (bench/peers/nf_forecast.py in the NF virtual
environment, one core and one torch thread each), the peer of `drc run` on a pipeline file.

Usage: bench/peers/.venv/bin/python bench/peers/rp_nf_pipeline.py CSV --models M1,M2,...
           [--cores C] [--seed S] [--python PY] [--workdir DIR] [--timeout S] [--keep]
           [--hydro CAMELS_DIR [--hydro-epochs E]]

With --hydro, one more task trains NeuralHydrology's CudaLSTM on the CAMELS-US folder
(bench/peers/nh_camels.py, one core and one torch thread, submitted first), the hydrology half
of the published evaluation; its lines (per basin, then median_nse) join `results`.

Prints one JSON object on stdout:
  system, version, models, done, cores, wall_s, session_setup_s, tasks_s, results
`wall_s` runs from the creation of the RP session until every task is final (what a user of the
pilot waits for, without the session's close); `session_setup_s` is its part until the pilot is
active, `tasks_s` the part from the submission of the tasks. `results` holds each task's JSON
line from nf_forecast.py (model, mae, rmse, mape, smape, seconds, ...). The NF tasks run with
the published settings (h=24, input_size=24, 100 steps, freq ME; NF's defaults otherwise).

RP's files go into one fresh folder under --workdir (rp_sandbox.py), removed at the end unless
--keep; a watchdog ends the run after --timeout seconds.
"""

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rp_sandbox import Sandbox  # noqa: E402  (no RP import in there)

HERE = os.path.dirname(os.path.abspath(__file__))


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('csv', help='the long-format series (y, ds, unique_id)')
    p.add_argument('--models', required=True, help='comma-separated NeuralForecast models')
    p.add_argument('--cores', type=int, default=os.cpu_count(),
                   help='pilot cores (default: this machine\'s, %(default)s)')
    p.add_argument('--seed', type=int, default=1)
    p.add_argument('--python', default=os.path.join(HERE, '.venv-dl', 'bin', 'python'),
                   help='the Python with neuralforecast (default %(default)s)')
    p.add_argument('--workdir', default='/tmp',
                   help='folder for RP\'s client and pilot sandboxes (default %(default)s)')
    p.add_argument('--timeout', type=float, default=3600)
    p.add_argument('--keep', action='store_true', help='keep the sandboxes')
    p.add_argument('--hydro', default=None,
                   help='a CAMELS-US folder: also train NeuralHydrology\'s CudaLSTM on it')
    p.add_argument('--hydro-epochs', type=int, default=30)
    return p.parse_args()


ARGS = parse_args()
MODELS = [m for m in ARGS.models.split(',') if m]
if not MODELS or ARGS.cores < 1:
    sys.exit('rp_nf_pipeline.py: --models and --cores must name at least one')

SANDBOX = Sandbox('rp_nf_pipeline.py', ARGS.workdir, prefix='rp-nf-',
                  profile=False, keep=ARGS.keep)

import radical.pilot as rp  # noqa: E402
import radical.utils as ru  # noqa: E402


def main():
    record = {'system': 'radical.pilot+neuralforecast', 'version': rp.version, 'models': MODELS,
              'cores': ARGS.cores}
    SANDBOX.start_watchdog(ARGS.timeout, dict(record, error='timeout after %.0f s' % ARGS.timeout))
    result = dict(record)
    t_start = time.time()
    try:
        _, pmgr, tmgr, pilot = SANDBOX.local_pilot(rp, ARGS.cores, ARGS.timeout)
        result['session_setup_s'] = time.time() - t_start

        tds = []
        if ARGS.hydro:
            td = rp.TaskDescription()
            td.uid = 'hydrology.cudalstm'
            td.executable = ARGS.python
            td.arguments = [os.path.join(HERE, 'nh_camels.py'), ARGS.hydro, '--model', 'cudalstm',
                            '--epochs', str(ARGS.hydro_epochs), '--seed', str(ARGS.seed),
                            '--threads', '1']
            td.ranks = 1
            td.cores_per_rank = 1
            td.environment = {'OMP_NUM_THREADS': '1'}
            tds.append(td)
        for model in MODELS:
            td = rp.TaskDescription()
            td.uid = 'forecast.' + model
            td.executable = ARGS.python
            td.arguments = [os.path.join(HERE, 'nf_forecast.py'), ARGS.csv, '--models', model,
                            '--threads', '1', '--seed', str(ARGS.seed), '--freq', 'ME']
            td.ranks = 1
            td.cores_per_rank = 1
            td.environment = {'OMP_NUM_THREADS': '1'}
            tds.append(td)
        t_submit = time.time()
        tasks = tmgr.submit_tasks(tds)
        tmgr.wait_tasks(timeout=ARGS.timeout)
        now = time.time()
        result['tasks_s'] = now - t_submit
        result['wall_s'] = now - t_start
        result['done'] = sum(1 for t in tasks if t.state == rp.DONE)
        results = []
        for t in tasks:
            out = os.path.join(ru.Url(t.sandbox).path, t.uid + '.out')
            try:
                with open(out) as f:
                    for line in f:
                        line = line.strip()
                        if line.startswith('{') and ('"mae"' in line or '"nse"' in line
                                                     or '"median_nse"' in line):
                            results.append(json.loads(line))
            except OSError as e:
                results.append({'model': t.uid, 'state': t.state, 'error': str(e)})
        result['results'] = results
    except BaseException as e:  # noqa: BLE001
        result['error'] = '%s: %s' % (type(e).__name__, e)
    finally:
        if SANDBOX.session is not None:
            SANDBOX.session.close(download=False)
    SANDBOX.finish(result)
    return 0 if result.get('done') == len(MODELS) + (1 if ARGS.hydro else 0) else 1


if __name__ == '__main__':
    rc = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(rc)  # RP may leave non-daemon threads behind; do not wait for them
