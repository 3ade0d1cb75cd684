#!/usr/bin/env bash
# A single-node Slurm cluster on this machine, for tests: munged, slurmctld and slurmd, all
# started by hand (no systemd) with every file under STATE_DIR.
#
#   scripts/slurm-local.sh start  [STATE_DIR]   start (idempotent; quick when already up)
#   scripts/slurm-local.sh stop   [STATE_DIR]   stop the daemons this script started
#   scripts/slurm-local.sh status [STATE_DIR]   exit 0 when the node is up, 1 when not
#
# STATE_DIR defaults to /tmp/drc-slurm. Clients find the cluster through SLURM_CONF, which
# `start` prints. The cluster has its own munged (socket, key, pid and log under STATE_DIR), so
# it never clashes with a system munged, and its own ports, derived from STATE_DIR so that
# clusters of different build trees can run side by side (override: DRC_SLURM_PORT=N uses N
# for slurmctld and N+1 for slurmd). Needs root (slurmd runs jobs as their users) and Debian's
# packages slurmctld slurmd slurm-client munge (scripts/setup.sh installs them).
set -euo pipefail

usage() {
  echo "usage: $0 start|stop|status [STATE_DIR]" >&2
  exit 2
}

if [ $# -lt 1 ] || [ $# -gt 2 ]; then usage; fi
action=$1
state=${2:-/tmp/drc-slurm}
case "$state" in
  /*) ;;
  *) state="$PWD/$state" ;;
esac
conf="$state/slurm.conf"
munge_dir="$state/munge"
munge_socket="$munge_dir/munge.socket"
wait_s=${DRC_SLURM_WAIT_S:-30}

die() {
  echo "slurm-local: $*" >&2
  exit 1
}

# True when process $1 exists and is not a zombie (daemons are reparented to PID 1, which may
# take a while to reap them).
alive() {
  kill -0 "$1" 2>/dev/null || return 1
  ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}

# The pid of daemon $1 (munged, slurmctld, slurmd) from its pid file in STATE_DIR when that
# process is alive and is that daemon (not a recycled pid), else nothing (and status 1).
live_pid() {
  local file="$state/$1.pid" pid
  [ -r "$file" ] || return 1
  pid=$(cat "$file" 2>/dev/null) || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  alive "$pid" || return 1
  [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$1" ] || return 1
  echo "$pid"
}

# Sends TERM to daemon $1 (from its pid file) and waits (bounded) for it to go; then KILL.
stop_daemon() {
  local name=$1 file="$state/$1.pid" pid
  if ! pid=$(live_pid "$name"); then
    rm -f "$file"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do
    alive "$pid" || break
    sleep 0.1
  done
  if alive "$pid"; then
    echo "slurm-local: $name (pid $pid) ignored TERM for 5 s; sending KILL" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$file"
  echo "slurm-local: stopped $name (pid $pid)"
}

# State of this cluster's node as sinfo reports it ("idle", "mixed", "down*", ...), or nothing.
node_state() {
  SLURM_CONF="$conf" timeout 10 sinfo --noheader --nodes="$node" --format='%T' 2>/dev/null |
    head -n 1 || true
}

is_up() {
  [ -r "$conf" ] || return 1
  node=$(sed -n 's/^NodeName=\([^ ]*\).*/\1/p' "$conf")
  live_pid munged >/dev/null || return 1
  live_pid slurmctld >/dev/null || return 1
  live_pid slurmd >/dev/null || return 1
  case "$(node_state)" in
    idle | mixed | allocated | completing) return 0 ;;
    *) return 1 ;;
  esac
}

show_logs() {
  local f
  for f in "$state/munged.log" "$state/slurmctld.log" "$state/slurmd.log"; do
    [ -r "$f" ] || continue
    echo "----- last lines of $f -----" >&2
    tail -n 30 "$f" >&2
  done
}

# True when something listens on TCP port $1 of this machine.
port_busy() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

cmd_stop() {
  stop_daemon slurmd
  stop_daemon slurmctld
  stop_daemon munged
  rm -f "$munge_socket" "$munge_socket.lock"
}

cmd_status() {
  if is_up; then
    echo "slurm-local: cluster drc-test is up (node $node: $(node_state)); export SLURM_CONF=$conf"
    return 0
  fi
  echo "slurm-local: cluster in $state is not running"
  return 1
}

require_tools() {
  local missing=() t
  for t in munged mungekey munge unmunge slurmctld slurmd sinfo srun salloc sbatch scontrol; do
    command -v "$t" >/dev/null 2>&1 || missing+=("$t")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    die "missing programs: ${missing[*]} (install Debian's packages slurmctld slurmd" \
      "slurm-client munge: run scripts/setup.sh)"
  fi
  [ "$(id -u)" -eq 0 ] || die "must run as root (slurmd starts job steps as their users)"
}

start_munged() {
  mkdir -p "$munge_dir"
  chmod 0700 "$munge_dir"
  if [ ! -s "$munge_dir/munge.key" ]; then
    mungekey --create --keyfile="$munge_dir/munge.key" 2>/dev/null ||
      dd if=/dev/urandom of="$munge_dir/munge.key" bs=1024 count=1 status=none
    chmod 0400 "$munge_dir/munge.key"
  fi
  if live_pid munged >/dev/null; then
    return 0
  fi
  rm -f "$munge_socket" "$munge_socket.lock"
  # --force: the state directory may sit below a world-writable directory such as /tmp.
  munged --force --socket="$munge_socket" --key-file="$munge_dir/munge.key" \
    --pid-file="$state/munged.pid" --log-file="$state/munged.log" \
    --seed-file="$munge_dir/munged.seed" ||
    { show_logs; die "munged did not start"; }
  for _ in $(seq 1 50); do
    if munge --socket="$munge_socket" --no-input 2>/dev/null |
      unmunge --socket="$munge_socket" >/dev/null 2>&1; then
      return 0
    fi
    sleep 0.1
  done
  show_logs
  die "munged on $munge_socket does not answer after 5 s"
}

write_conf() {
  local host cpus mem_kb mem_mb port
  host=$(hostname -s)
  cpus=$(nproc)
  mem_kb=$(sed -n 's/^MemTotal: *\([0-9]*\) kB/\1/p' /proc/meminfo)
  # Slurm drains a node that has less memory than configured: claim 90 % of it.
  mem_mb=$((mem_kb * 9 / 10 / 1024))
  if [ -n "${DRC_SLURM_PORT:-}" ]; then
    port=$DRC_SLURM_PORT
  else
    port=$((20000 + $(printf '%s' "$state" | cksum | cut -d' ' -f1) % 5000 * 2))
  fi
  mkdir -p "$state/spool" "$state/ctld" "$state/tmp"
  cat >"$conf.tmp" <<EOF
# Generated by scripts/slurm-local.sh: a single-node test cluster with its state in $state.
ClusterName=drc-test
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$munge_socket
CredType=cred/munge
StateSaveLocation=$state/ctld
SlurmdSpoolDir=$state/spool
TmpFS=$state/tmp
SlurmctldPidFile=$state/slurmctld.pid
SlurmdPidFile=$state/slurmd.pid
SlurmctldLogFile=$state/slurmctld.log
SlurmdLogFile=$state/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
SlurmdTimeout=60
InactiveLimit=0
KillWait=5
MinJobAge=30
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=debug Default=YES Nodes=ALL MaxTime=INFINITE State=UP
EOF
  mv "$conf.tmp" "$conf"
}

cmd_start() {
  require_tools
  # A Unix socket path holds at most 107 bytes.
  [ ${#munge_socket} -le 100 ] ||
    die "state directory path too long for munge's socket ($munge_socket); use a shorter one"
  mkdir -p "$state"
  if is_up; then
    echo "slurm-local: already running (node $node: $(node_state))"
    echo "export SLURM_CONF=$conf"
    return 0
  fi
  # A half-started cluster (a daemon died, a stale pid file): start over, keeping the key.
  stop_daemon slurmd
  stop_daemon slurmctld
  start_munged
  write_conf
  node=$(sed -n 's/^NodeName=\([^ ]*\).*/\1/p' "$conf")
  local port p
  port=$(sed -n 's/^SlurmctldPort=//p' "$conf")
  for p in "$port" $((port + 1)); do
    if port_busy "$p"; then
      die "TCP port $p is in use by another program; set DRC_SLURM_PORT to a free port pair"
    fi
  done
  export SLURM_CONF=$conf
  # -c: a clean start (no jobs or node state from an earlier run of this cluster).
  slurmctld -c -f "$conf" || { show_logs; die "slurmctld did not start"; }
  slurmd -f "$conf" || { show_logs; die "slurmd did not start"; }
  local deadline=$((SECONDS + wait_s)) s=""
  while [ $SECONDS -lt $deadline ]; do
    s=$(node_state)
    case "$s" in
      idle | mixed | allocated)
        echo "slurm-local: cluster drc-test up: node $node ($s), state in $state"
        echo "export SLURM_CONF=$conf"
        return 0
        ;;
    esac
    sleep 0.2
  done
  show_logs
  die "node $node is not idle after ${wait_s} s (sinfo state: '${s:-no answer}'); logs above"
}

case "$action" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  *) usage ;;
esac
