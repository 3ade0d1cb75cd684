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
--keep), as in rp_tasks.py. A watchdog ends the run after --timeout seconds, whatever RP does.
Exits 0 only when all N tasks ended DONE.
"""

import argparse
import json
import os
import shutil
import sys
import tempfile
import threading
import time


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

# All of RP's files in one place that we remove afterwards.
os.makedirs(ARGS.workdir, exist_ok=True)
BASE = tempfile.mkdtemp(prefix='rp-raptor-', dir=ARGS.workdir)
os.chdir(BASE)  # RP puts the client sandbox (logs, profiles) into the cwd ...
os.environ['PWD'] = BASE  # ... which it reads from $PWD
# RP and radical.utils also write under $HOME (~/.radical/utils ID counters, staging tarballs in
# ~/radical.pilot.sandbox): point both $HOME and $RADICAL_BASE at our folder.
os.environ['HOME'] = BASE
os.environ['RADICAL_BASE'] = BASE
os.environ['TMPDIR'] = BASE  # and its temporary files
# Own process group, so that the end of the run can take every process RP started with it.
try:
    os.setsid()
except OSError:
    pass

# RP reads these at import time; forwarded to the agent as well.
os.environ['RADICAL_REPORT'] = 'FALSE'           # no progress bars on stdout
os.environ.setdefault('RADICAL_LOG_LVL', 'WARNING')
os.environ['RADICAL_PROFILE'] = 'FALSE'          # throughput only; profiling costs
# RP starts its helpers (radical-pilot-bridge, -component, -raptor-master/-worker) by name.
os.environ['PATH'] = os.path.join(sys.prefix, 'bin') + os.pathsep + os.environ.get('PATH', '')
# local.localhost has virtenv_mode 'local': the agent (and the Raptor master and worker, which
# run in the agent's Python) use $VIRTUAL_ENV (this venv) when set.
if sys.prefix != sys.base_prefix:
    os.environ['VIRTUAL_ENV'] = sys.prefix

import radical.pilot as rp  # noqa: E402

SESSION = None
RESULT_PRINTED = threading.Event()


@rp.pythontask
def noop():
    return None


def cleanup():
    if ARGS.keep:
        print('rp_raptor.py: kept %s' % BASE, file=sys.stderr)
        return
    shutil.rmtree(BASE, ignore_errors=True)


def kill_children():
    """Ends every process this run started: descendants, processes of our session (RP's
    helpers that were orphaned), and anything whose command line names our folder (the pilot
    bootstrap, the agent, the Raptor master and worker)."""
    try:
        import psutil
        me = psutil.Process()
        mine = {p.pid: p for p in me.children(recursive=True)}
        sid = os.getsid(0)
        for p in psutil.process_iter(['pid', 'cmdline']):
            if p.pid == me.pid or p.pid in mine:
                continue
            try:
                if os.getsid(p.pid) == sid or BASE in ' '.join(p.info['cmdline'] or []):
                    mine[p.pid] = p
            except (OSError, psutil.Error):
                pass
        kids = list(mine.values())
        for k in kids:
            try:
                k.terminate()
            except psutil.Error:
                pass
        _, alive = psutil.wait_procs(kids, timeout=5)
        for k in alive:
            try:
                k.kill()
            except psutil.Error:
                pass
    except Exception as e:  # noqa: BLE001
        print('rp_raptor.py: kill_children: %s' % e, file=sys.stderr)


def watchdog():
    print('rp_raptor.py: timeout after %.0f s, ending the run' % ARGS.timeout,
          file=sys.stderr)
    if not RESULT_PRINTED.is_set():
        print(json.dumps({'system': 'radical.pilot.raptor', 'version': rp.version,
                          'mode': ARGS.mode, 'tasks': ARGS.n,
                          'error': 'timeout after %.0f s' % ARGS.timeout}),
              flush=True)
    closer = threading.Thread(target=lambda: SESSION and SESSION.close(download=False),
                              daemon=True)
    closer.start()
    closer.join(30)
    kill_children()
    cleanup()
    os._exit(3)


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
    global SESSION
    timer = threading.Timer(ARGS.timeout, watchdog)
    timer.daemon = True
    timer.start()
    deadline = time.time() + ARGS.timeout

    result = {'system': 'radical.pilot.raptor', 'version': rp.version, 'mode': ARGS.mode,
              'tasks': ARGS.n, 'cores': ARGS.cores, 'master_cores': MASTER_CORES,
              'worker_cores': ARGS.worker_cores, 'workdir': ARGS.workdir}
    t_setup = time.time()
    t_submit = None
    session = None
    raptor = None
    try:
        session = rp.Session()
        SESSION = session
        # local.localhost describes a fake 8-core node; make it this machine, and put the
        # resource sandbox into our folder instead of ~/radical.pilot.sandbox.
        rcfg = session.rcfgs['local']['localhost']
        rcfg['cores_per_node'] = ARGS.cores
        rcfg['gpus_per_node'] = 0
        rcfg['fake_resources'] = False
        rcfg['default_remote_workdir'] = BASE

        pmgr = rp.PilotManager(session=session)
        tmgr = rp.TaskManager(session=session)
        pd = rp.PilotDescription({'resource': 'local.localhost',
                                  'cores': ARGS.cores,
                                  'gpus': 0,
                                  'exit_on_error': False,
                                  'runtime': max(10, int(ARGS.timeout / 60) + 5)})
        pilot = pmgr.submit_pilots(pd)
        tmgr.add_pilots(pilot)
        pilot.wait(state=[rp.PMGR_ACTIVE] + rp.FINAL, timeout=ARGS.timeout)
        if pilot.state != rp.PMGR_ACTIVE:
            raise RuntimeError('pilot did not become active: %s' % pilot.state)
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
            states = {}
            for t in tasks:
                states[t.state] = states.get(t.state, 0) + 1
            result['states'] = states
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
        if session is not None:
            session.close(download=False)

    timer.cancel()
    RESULT_PRINTED.set()
    print(json.dumps(result), flush=True)
    kill_children()
    cleanup()
    return 0 if result.get('done') == ARGS.n else 1


if __name__ == '__main__':
    rc = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(rc)  # RP may leave non-daemon threads behind; do not wait for them
