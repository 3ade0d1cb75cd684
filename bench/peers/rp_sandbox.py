"""The sandbox, watchdog, local pilot and clean-up shared by the RADICAL-Pilot peer benchmarks
(rp_tasks.py, rp_raptor.py, rp_nf_pipeline.py).

A script makes one `Sandbox` before it imports radical.pilot: RP reads its environment at
import time, so this module does not import RP itself. The sandbox

  - makes one fresh folder under the script's --workdir and points the current directory,
    $PWD, $HOME, $RADICAL_BASE and $TMPDIR at it, so that everything RP writes (the client
    sandbox in the current directory, the ~/.radical/utils ID counters, staging tarballs,
    temporary files) lands there; the script also points the resource sandbox
    (`default_remote_workdir`) at `Sandbox.base`;
  - puts the process into a session of its own (os.setsid), so that the end of the run can
    take every process RP started with it;
  - sets RADICAL_REPORT=FALSE, RADICAL_LOG_LVL (WARNING unless already set) and
    RADICAL_PROFILE (TRUE or FALSE, the script's choice), puts the venv's bin first on $PATH
    and sets $VIRTUAL_ENV to the venv.

`local_pilot` starts an RP session with an active pilot of this machine whose sandboxes are in
the folder. `start_watchdog` arms a timer that, after the script's --timeout, prints the script's
timeout record as its one JSON line (unless the result is out already), closes the RP
session (`Sandbox.session`, set by the script), ends RP's processes, removes the folder and
exits 3. `finish` prints the result and does the same clean-up at a normal end.
"""

import json
import os
import shutil
import sys
import tempfile
import threading


def count_states(tasks):
    """How many of the RP tasks are in each state: {state: count}."""
    counts = {}
    for t in tasks:
        counts[t.state] = counts.get(t.state, 0) + 1
    return counts


class Sandbox:
    def __init__(self, script, workdir, prefix, profile, keep):
        """script: name in messages ('rp_tasks.py'); workdir: parent of the fresh folder;
        prefix: of the fresh folder's name ('rp-bench-'); profile: RADICAL_PROFILE on or off;
        keep: leave the folder in place at the end."""
        self.script = script
        self.keep = keep
        self.session = None  # the rp.Session, once the script has one, for the watchdog
        self.result_printed = threading.Event()
        self.timer = None

        # All of RP's files in one place that we remove afterwards.
        os.makedirs(workdir, exist_ok=True)
        self.base = tempfile.mkdtemp(prefix=prefix, dir=workdir)
        os.chdir(self.base)  # RP puts the client sandbox (logs, profiles) into the cwd ...
        os.environ['PWD'] = self.base  # ... which it reads from $PWD
        # RP and radical.utils also write under $HOME (~/.radical/utils ID counters, staging
        # tarballs in ~/radical.pilot.sandbox): point both $HOME and $RADICAL_BASE at our folder.
        os.environ['HOME'] = self.base
        os.environ['RADICAL_BASE'] = self.base
        # and its temporary files (an empty /tmp/<session> folder per run)
        os.environ['TMPDIR'] = self.base
        # Own process group, so that the end of the run can take every process RP started with
        # it (RP forks helpers that outlive their parents).
        try:
            os.setsid()
        except OSError:
            pass

        # RP reads these at import time; forwarded to the agent as well.
        os.environ['RADICAL_REPORT'] = 'FALSE'           # no progress bars on stdout
        os.environ.setdefault('RADICAL_LOG_LVL', 'WARNING')
        os.environ['RADICAL_PROFILE'] = 'TRUE' if profile else 'FALSE'
        # RP starts its helpers (radical-pilot-bridge, -component, the agent, and with Raptor
        # radical-pilot-raptor-master/-worker) by name.
        os.environ['PATH'] = (os.path.join(sys.prefix, 'bin') + os.pathsep
                              + os.environ.get('PATH', ''))
        # local.localhost has virtenv_mode 'local': the agent (and a Raptor master and worker,
        # which run in the agent's Python) runs in $VIRTUAL_ENV (this venv) when set, else in
        # whatever `python3` the login shell finds.
        if sys.prefix != sys.base_prefix:
            os.environ['VIRTUAL_ENV'] = sys.prefix

    def cleanup(self):
        """Removes the folder, or with keep says on stderr where it is."""
        if self.keep:
            print('%s: kept %s' % (self.script, self.base), file=sys.stderr)
            return
        shutil.rmtree(self.base, ignore_errors=True)

    def kill_children(self):
        """Ends every process this run started: descendants, processes of our session (RP's
        helpers that were orphaned), and anything whose command line names our folder (the
        pilot bootstrap, the agent, a Raptor master and worker)."""
        try:
            import psutil
            me = psutil.Process()
            mine = {p.pid: p for p in me.children(recursive=True)}
            sid = os.getsid(0)
            for p in psutil.process_iter(['pid', 'cmdline']):
                if p.pid == me.pid or p.pid in mine:
                    continue
                try:
                    if (os.getsid(p.pid) == sid
                            or self.base in ' '.join(p.info['cmdline'] or [])):
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
            print('%s: kill_children: %s' % (self.script, e), file=sys.stderr)

    def local_pilot(self, rp, cores, timeout):
        """A session, pilot manager, task manager and PMGR_ACTIVE pilot of `cores` cores on this
        machine: (session, pmgr, tmgr, pilot). `rp` is the imported radical.pilot. The session is
        kept in `self.session` as soon as it exists (close it from there)."""
        self.session = rp.Session()
        # local.localhost describes a fake 8-core node; make it this machine, and put the
        # resource sandbox into our folder instead of ~/radical.pilot.sandbox.
        rcfg = self.session.rcfgs['local']['localhost']
        rcfg['cores_per_node'] = cores
        rcfg['gpus_per_node'] = 0
        rcfg['fake_resources'] = False
        rcfg['default_remote_workdir'] = self.base
        pmgr = rp.PilotManager(session=self.session)
        tmgr = rp.TaskManager(session=self.session)
        pd = rp.PilotDescription({'resource': 'local.localhost',
                                  'cores': cores,
                                  'gpus': 0,
                                  'exit_on_error': False,
                                  'runtime': max(10, int(timeout / 60) + 5)})
        pilot = pmgr.submit_pilots(pd)
        tmgr.add_pilots(pilot)
        pilot.wait(state=[rp.PMGR_ACTIVE] + rp.FINAL, timeout=timeout)
        if pilot.state != rp.PMGR_ACTIVE:
            raise RuntimeError('pilot did not become active: %s' % pilot.state)
        return self.session, pmgr, tmgr, pilot

    def start_watchdog(self, timeout, record):
        """Arms the watchdog: after timeout seconds it prints record (a dict, the script's
        JSON line for a run that timed out) unless the result is out, closes self.session,
        ends RP's processes, removes the folder and exits 3."""
        self.timer = threading.Timer(timeout, self._watchdog, args=(timeout, record))
        self.timer.daemon = True
        self.timer.start()

    def _watchdog(self, timeout, record):
        print('%s: timeout after %.0f s, ending the run' % (self.script, timeout),
              file=sys.stderr)
        if not self.result_printed.is_set():
            print(json.dumps(record), flush=True)
        closer = threading.Thread(
            target=lambda: self.session and self.session.close(download=False), daemon=True)
        closer.start()
        closer.join(30)
        self.kill_children()
        self.cleanup()
        os._exit(3)

    def finish(self, result):
        """Normal end: disarms the watchdog, prints result (a dict) as the one JSON line on
        stdout, ends RP's processes and removes the folder."""
        if self.timer is not None:
            self.timer.cancel()
        self.result_printed.set()
        print(json.dumps(result), flush=True)
        self.kill_children()
        self.cleanup()
