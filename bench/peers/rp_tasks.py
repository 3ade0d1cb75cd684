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
(unless --keep). A watchdog ends the run after --timeout seconds, whatever RP does.
"""

import argparse
import glob
import json
import os
import shutil
import signal
import sys
import tempfile
import threading
import time


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

# All of RP's files in one place that we remove afterwards.
os.makedirs(ARGS.workdir, exist_ok=True)
BASE = tempfile.mkdtemp(prefix='rp-bench-', dir=ARGS.workdir)
os.chdir(BASE)  # RP puts the client sandbox (logs, profiles) into the cwd ...
os.environ['PWD'] = BASE  # ... which it reads from $PWD
# RP and radical.utils also write under $HOME (~/.radical/utils ID counters, staging tarballs in
# ~/radical.pilot.sandbox): point both $HOME and $RADICAL_BASE at our folder.
os.environ['HOME'] = BASE
os.environ['RADICAL_BASE'] = BASE
os.environ['TMPDIR'] = BASE  # and its temporary files (an empty /tmp/<session> folder per run)
# Own process group, so that the end of the run can take every process RP started with it
# (RP forks helpers that outlive their parents).
try:
    os.setsid()
except OSError:
    pass

# RP reads these at import time; forwarded to the agent as well.
os.environ['RADICAL_REPORT'] = 'FALSE'           # no progress bars on stdout
os.environ.setdefault('RADICAL_LOG_LVL', 'WARNING')
os.environ['RADICAL_PROFILE'] = 'FALSE' if ARGS.no_profile else 'TRUE'
# RP starts its helpers (radical-pilot-bridge, radical-pilot-component, the agent) by name.
os.environ['PATH'] = os.path.join(sys.prefix, 'bin') + os.pathsep + os.environ.get('PATH', '')
# local.localhost has virtenv_mode 'local': the agent runs in $VIRTUAL_ENV (this venv) when set,
# else in whatever `python3` the login shell finds.
if sys.prefix != sys.base_prefix:
    os.environ['VIRTUAL_ENV'] = sys.prefix

import radical.pilot as rp  # noqa: E402
import radical.utils as ru  # noqa: E402

SESSION = None
RESULT_PRINTED = threading.Event()


def cleanup():
    if ARGS.keep:
        print('rp_tasks.py: kept %s' % BASE, file=sys.stderr)
        return
    shutil.rmtree(BASE, ignore_errors=True)


def kill_children():
    """Ends every process this run started: descendants, processes of our session (RP's
    helpers that were orphaned), and anything whose command line names our folder (the pilot
    bootstrap and agent)."""
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
        print('rp_tasks.py: kill_children: %s' % e, file=sys.stderr)


def watchdog():
    print('rp_tasks.py: timeout after %.0f s, ending the run' % ARGS.timeout,
          file=sys.stderr)
    if not RESULT_PRINTED.is_set():
        print(json.dumps({'system': 'radical.pilot', 'version': rp.version,
                          'tasks': ARGS.n, 'error': 'timeout after %.0f s' % ARGS.timeout}),
              flush=True)
    closer = threading.Thread(target=lambda: SESSION and SESSION.close(download=False),
                              daemon=True)
    closer.start()
    closer.join(30)
    kill_children()
    cleanup()
    os._exit(3)


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
    global SESSION
    timer = threading.Timer(ARGS.timeout, watchdog)
    timer.daemon = True
    timer.start()

    result = {'system': 'radical.pilot', 'version': rp.version, 'tasks': ARGS.n,
              'cores': ARGS.cores, 'workdir': ARGS.workdir,
              'profiling': not ARGS.no_profile}
    t_setup = time.time()
    t_submit = None
    session = None
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
            states = {}
            for t in tasks:
                states[t.state] = states.get(t.state, 0) + 1
            result['states'] = states
    except BaseException as e:  # noqa: BLE001
        result['error'] = '%s: %s' % (type(e).__name__, e)
        t_submit = None
    finally:
        if session is not None:
            session.close(download=False)

    if t_submit is not None and not ARGS.no_profile:
        first = read_profiles(BASE)
        if 'AGENT_EXECUTING' in first:
            result['time_to_first_task_s'] = first['AGENT_EXECUTING'] - t_submit
        if 'rank_start' in first:
            result['first_rank_start_s'] = first['rank_start'] - t_submit

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
