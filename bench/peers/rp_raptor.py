#!/usr/bin/env python3
"""N no-op function tasks through RADICAL-Pilot Raptor (one master, one worker), local.localhost.

Usage: bench/peers/.venv/bin/python bench/peers/rp_raptor.py N [--mode eval|exec|function]
                                 [--cores C] [--worker-cores W] [--workdir DIR]
                                 [--timeout S] [--keep]

Prints one JSON object on stdout:
  system, version, mode, tasks, done, seconds, tasks_per_s, setup_s, pilot_active_s,
  raptor_executing_s, cores, worker_cores, master_cores, workdir

The counterpart of `drc bench tasks --kind function`: a pilot of --cores cores (default: this
machine's) runs one Raptor master (RAPTOR_MASTER task, 1 core) and one Raptor worker
(RAPTOR_WORKER task, RP's DefaultWorker, --worker-cores cores: default the pilot's cores less the
master's, at least 1). Then N no-op tasks go to the master in one `raptor.submit_tasks` call;
`seconds` runs from that call until every one of them is final. Task modes (--mode):
  eval      TASK_EVAL, code 'None': the worker eval()s it (default; the cheapest: no function
            look-up, no serialized callable, no asyncio loop)
  exec      TASK_EXEC, code 'pass': wrapped into a function by the worker and exec()ed
  function  TASK_FUNCTION with a no-op function serialized on the client by @rp.pythontask
            (dill), deserialized and called by the worker (inside asyncio.run)
Whatever the mode, RP's DefaultWorker forks a process per task (and that one forks the process
that runs it), and it runs at most --worker-cores tasks at a time.

`setup_s` runs from session creation until Raptor is ready: the pilot is PMGR_ACTIVE, master
and worker are AGENT_EXECUTING, and one warm-up task of the same mode has come back DONE (RP's
client has no "worker registered" event; the worker registers with the master after it starts).
The warm-up task is not counted in N or in `seconds`.

Everything RP writes goes into one fresh folder under --workdir, removed at the end (unless
--keep), as in rp_tasks.py (both get the folder, the environment RP is imported with, the
watchdog and the clean-up from rp_sandbox.py). A watchdog ends the run after --timeout seconds,
whatever RP does (exit 3). RP's profiling is off (RADICAL_PROFILE=FALSE).
Exits 0 only when all N tasks ended DONE.
"""

import argparse
import os
import sys
import time

# rp_sandbox.py lies next to this script (Python puts the script's folder first on sys.path
# anyway, unless -P / PYTHONSAFEPATH).
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rp_sandbox import Sandbox, count_states  # noqa: E402  (no RP import in there)


MODES = ('eval', 'exec', 'function')


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('n', type=int, help='number of tasks')
    p.add_argument('--mode', choices=MODES, default='eval',
                   help='Raptor task mode (default %(default)s)')
    p.add_argument('--cores', type=int, default=os.cpu_count(),
                   help='pilot cores (default: this machine\'s, %(default)s)')
    p.add_argument('--worker-cores', type=int, default=None,
                   help='cores of the one Raptor worker (default: pilot cores - 1, at least 1)')
    p.add_argument('--workdir', default='/tmp',
                   help='folder for RP\'s client and pilot sandboxes (default %(default)s)')
    p.add_argument('--timeout', type=float, default=900,
                   help='seconds before the watchdog ends the run (default %(default)s)')
    p.add_argument('--keep', action='store_true', help='keep the sandboxes')
    return p.parse_args()


ARGS = parse_args()
MASTER_CORES = 1
if ARGS.worker_cores is None:
    ARGS.worker_cores = max(1, ARGS.cores - MASTER_CORES)
if ARGS.n < 1 or ARGS.cores < 1 or ARGS.worker_cores < 1:
    sys.exit('rp_raptor.py: N, --cores and --worker-cores must be >= 1')
if ARGS.worker_cores + MASTER_CORES > ARGS.cores:
    sys.exit('rp_raptor.py: master (%d core) and worker (%d) do not fit into %d pilot cores'
             % (MASTER_CORES, ARGS.worker_cores, ARGS.cores))

# One fresh folder under --workdir for all of RP's files, and the environment that RP reads at
# import time; must come before `import radical.pilot`. Throughput only: profiling costs.
SANDBOX = Sandbox('rp_raptor.py', ARGS.workdir, prefix='rp-raptor-', profile=False,
                  keep=ARGS.keep)

import radical.pilot as rp  # noqa: E402


@rp.pythontask
def noop():
    return None


def task_description():
    if ARGS.mode == 'eval':
        return rp.TaskDescription({'mode': rp.TASK_EVAL, 'code': 'None'})
    if ARGS.mode == 'exec':
        return rp.TaskDescription({'mode': rp.TASK_EXEC, 'code': 'pass'})
    return rp.TaskDescription({'mode': rp.TASK_FUNCTION, 'function': noop()})


def wait_executing(tmgr, tasks, deadline):
    """Waits until every task in tasks is AGENT_EXECUTING (or beyond); raises if one is final."""
    while True:
        for t in tasks:
            if t.state in rp.FINAL:
                raise RuntimeError('%s ended %s before tasks ran: %s'
                                   % (t.uid, t.state, (t.stderr or '')[-2000:]))
        if all(t.state == rp.AGENT_EXECUTING for t in tasks):
            return
        if time.time() > deadline:
            raise RuntimeError('not executing in time: %s'
                               % ', '.join('%s %s' % (t.uid, t.state) for t in tasks))
        time.sleep(0.1)


def main():
    SANDBOX.start_watchdog(ARGS.timeout,
                           {'system': 'radical.pilot.raptor', 'version': rp.version,
                            'mode': ARGS.mode, 'tasks': ARGS.n,
                            'error': 'timeout after %.0f s' % ARGS.timeout})
    deadline = time.time() + ARGS.timeout

    result = {'system': 'radical.pilot.raptor', 'version': rp.version, 'mode': ARGS.mode,
              'tasks': ARGS.n, 'cores': ARGS.cores, 'master_cores': MASTER_CORES,
              'worker_cores': ARGS.worker_cores, 'workdir': ARGS.workdir}
    t_setup = time.time()
    t_submit = None
    raptor = None
    try:
        _, pmgr, tmgr, pilot = SANDBOX.local_pilot(rp, ARGS.cores, ARGS.timeout)
        result['pilot_active_s'] = time.time() - t_setup

        raptor = pilot.submit_raptors(rp.TaskDescription(
            {'mode': rp.RAPTOR_MASTER, 'ranks': 1, 'cores_per_rank': MASTER_CORES}))[0]
        worker = raptor.submit_workers(rp.TaskDescription(
            {'mode': rp.RAPTOR_WORKER, 'ranks': 1, 'cores_per_rank': ARGS.worker_cores}))[0]
        wait_executing(tmgr, [raptor, worker], deadline)
        result['raptor_executing_s'] = time.time() - t_setup

        # Raptor is ready when a task comes back through master and worker.
        warm = raptor.submit_tasks([task_description()])
        tmgr.wait_tasks(uids=[t.uid for t in warm], timeout=ARGS.timeout)
        if warm[0].state != rp.DONE:
            raise RuntimeError('warm-up task %s: %s: %s %s'
                               % (warm[0].uid, warm[0].state, warm[0].stderr,
                                  warm[0].exception))
        result['setup_s'] = time.time() - t_setup

        tds = [task_description() for _ in range(ARGS.n)]

        t_submit = time.time()
        tasks = raptor.submit_tasks(tds)
        tmgr.wait_tasks(uids=[t.uid for t in tasks], timeout=ARGS.timeout)
        seconds = time.time() - t_submit

        done = sum(1 for t in tasks if t.state == rp.DONE)
        result.update({'done': done, 'seconds': seconds, 'tasks_per_s': ARGS.n / seconds})
        if done != ARGS.n:
            result['states'] = count_states(tasks)
            bad = next((t for t in tasks if t.state != rp.DONE), None)
            if bad is not None:
                result['first_failure'] = '%s %s: %s %s' % (bad.uid, bad.state,
                                                           (bad.stderr or '')[-500:],
                                                           bad.exception)
    except BaseException as e:  # noqa: BLE001
        result['error'] = '%s: %s' % (type(e).__name__, e)
    finally:
        if raptor is not None:
            try:
                raptor.rpc('stop')
            except Exception:  # noqa: BLE001
                pass
        if SANDBOX.session is not None:
            SANDBOX.session.close(download=False)

    SANDBOX.finish(result)
    return 0 if result.get('done') == ARGS.n else 1


if __name__ == '__main__':
    rc = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(rc)  # RP may leave non-daemon threads behind; do not wait for them
