#!/usr/bin/env python3
"""N executable tasks of /bin/true through RADICAL-Pilot on local.localhost.

Usage: bench/peers/.venv/bin/python bench/peers/rp_tasks.py N [--cores C] [--workdir DIR]
                                                               [--timeout S] [--keep]

Prints one JSON object on stdout:
  system, version, tasks, done, seconds, tasks_per_s, time_to_first_task_s,
  first_rank_start_s, session_setup_s, cores, workdir, profiling

Measured like `drc bench tasks`: `seconds` runs from the call that submits the tasks (the
pilot is already active and attached to the task manager) until every task is final.
`time_to_first_task_s` runs from that same submit call to the earliest AGENT_EXECUTING state
transition of any task (RP's counterpart of our EXECUTING state: the task is handed to the
executor); `first_rank_start_s` goes on to the earliest `rank_start` event, written by the
task's launch script just before it execs /bin/true. Both come from RP's own profiles
(RADICAL_PROFILE=TRUE). `session_setup_s`: session creation until the pilot is PMGR_ACTIVE,
reported separately and not included in `seconds`.

Everything RP writes (the client sandbox that it creates in the current directory and the
resource/pilot/task sandboxes that it creates under `default_remote_workdir`, normally
~/radical.pilot.sandbox) goes into one fresh folder under --workdir, removed at the end
(unless --keep). A watchdog ends the run after --timeout seconds, whatever RP does (exit 3).
The folder, the environment RP is imported with, the watchdog and the clean-up come from
rp_sandbox.py, shared with rp_raptor.py.
"""

import argparse
import glob
import os
import sys
import time

# rp_sandbox.py lies next to this script (Python puts the script's folder first on sys.path
# anyway, unless -P / PYTHONSAFEPATH).
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rp_sandbox import Sandbox, count_states  # noqa: E402  (no RP import in there)


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('n', type=int, help='number of tasks')
    p.add_argument('--cores', type=int, default=os.cpu_count(),
                   help='pilot cores (default: this machine\'s, %(default)s)')
    p.add_argument('--workdir', default='/tmp',
                   help='folder for RP\'s client and pilot sandboxes (default %(default)s)')
    p.add_argument('--timeout', type=float, default=900,
                   help='seconds before the watchdog ends the run (default %(default)s)')
    p.add_argument('--no-profile', action='store_true',
                   help='run RP without profiling (no time-to-first-task then)')
    p.add_argument('--keep', action='store_true', help='keep the sandboxes')
    return p.parse_args()


ARGS = parse_args()
if ARGS.n < 1 or ARGS.cores < 1:
    sys.exit('rp_tasks.py: N and --cores must be >= 1')

# One fresh folder under --workdir for all of RP's files, and the environment that RP reads at
# import time; must come before `import radical.pilot`.
SANDBOX = Sandbox('rp_tasks.py', ARGS.workdir, prefix='rp-bench-',
                  profile=not ARGS.no_profile, keep=ARGS.keep)

import radical.pilot as rp  # noqa: E402
import radical.utils as ru  # noqa: E402


def read_profiles(root):
    """Earliest time of each (event, state) of interest over all RP profiles under root."""
    first = {}
    for path in glob.glob(os.path.join(root, '**', '*.prof'), recursive=True):
        try:
            with open(path, errors='replace') as f:
                for line in f:
                    if line.startswith('#'):
                        continue
                    parts = line.split(',')
                    if len(parts) < 6:
                        continue
                    try:
                        t = float(parts[0])
                    except ValueError:
                        continue
                    event, uid, state = parts[1], parts[4], parts[5]
                    if not uid.startswith('task.'):
                        continue
                    key = None
                    if event == 'rank_start':
                        key = 'rank_start'
                    elif event == 'exec_start':
                        key = 'exec_start'
                    elif event == 'advance' and state == rp.AGENT_EXECUTING:
                        key = 'AGENT_EXECUTING'
                    if key and (key not in first or t < first[key]):
                        first[key] = t
        except OSError:
            pass
    return first


def main():
    SANDBOX.start_watchdog(ARGS.timeout,
                           {'system': 'radical.pilot', 'version': rp.version, 'tasks': ARGS.n,
                            'error': 'timeout after %.0f s' % ARGS.timeout})

    result = {'system': 'radical.pilot', 'version': rp.version, 'tasks': ARGS.n,
              'cores': ARGS.cores, 'workdir': ARGS.workdir,
              'profiling': not ARGS.no_profile}
    t_setup = time.time()
    t_submit = None
    try:
        _, pmgr, tmgr, pilot = SANDBOX.local_pilot(rp, ARGS.cores, ARGS.timeout)
        result['session_setup_s'] = time.time() - t_setup

        tds = []
        for i in range(ARGS.n):
            td = rp.TaskDescription()
            td.executable = '/bin/true'
            td.ranks = 1
            td.cores_per_rank = 1
            tds.append(td)

        t_submit = time.time()
        tasks = tmgr.submit_tasks(tds)
        tmgr.wait_tasks(timeout=ARGS.timeout)
        seconds = time.time() - t_submit

        done = sum(1 for t in tasks if t.state == rp.DONE)
        result.update({'done': done, 'seconds': seconds, 'tasks_per_s': ARGS.n / seconds})
        if done != ARGS.n:
            result['states'] = count_states(tasks)
    except BaseException as e:  # noqa: BLE001
        result['error'] = '%s: %s' % (type(e).__name__, e)
        t_submit = None
    finally:
        if SANDBOX.session is not None:
            SANDBOX.session.close(download=False)

    if t_submit is not None and not ARGS.no_profile:
        first = read_profiles(SANDBOX.base)
        if 'AGENT_EXECUTING' in first:
            result['time_to_first_task_s'] = first['AGENT_EXECUTING'] - t_submit
        if 'rank_start' in first:
            result['first_rank_start_s'] = first['rank_start'] - t_submit

    SANDBOX.finish(result)
    return 0 if result.get('done') == ARGS.n else 1


if __name__ == '__main__':
    rc = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(rc)  # RP may leave non-daemon threads behind; do not wait for them
