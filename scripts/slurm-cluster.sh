#!/usr/bin/env bash
# A one-node Slurm cluster on this machine, for trying and testing `--executor slurm`.
#
#   sudo scripts/slurm-cluster.sh          # install (if missing), configure, start; waits until the node is idle
#   sudo scripts/slurm-cluster.sh stop     # stop slurmd, slurmctld and munged
#   sudo scripts/slurm-cluster.sh status   # one line: running or not
#
# Safe to run again: it skips what is already installed and running. It needs root
# (it installs Debian packages and starts daemons) and works without systemd (containers,
# CI): every daemon is started directly.
#
# Read it as a recipe for your own test cluster. A real cluster differs mainly in: several
# NodeName lines, a shared StateSaveLocation for a backup controller, slurmdbd for
# accounting (`sacct`), and cgroup-based process tracking. The harness needs none of these:
# it follows job state with `squeue` and `scontrol show job` and reads each run's results
# from its folder on the shared filesystem.
set -euo pipefail

CONF_DIR=/etc/slurm
CONF=$CONF_DIR/slurm.conf
LOG_DIR=/var/log/slurm
# How long to wait for the node to report idle before giving up (seconds).
WAIT_S=${SLURM_CLUSTER_WAIT_S:-60}

say() { echo "slurm-cluster: $*"; }
die() { echo "slurm-cluster: $*" >&2; exit 1; }

# pid of a running daemon, from its pid file; empty when it is not running.
daemon_pid() {
  local file=$1
  [[ -f $file ]] || return 0
  local pid
  pid=$(cat "$file" 2>/dev/null || true)
  [[ -n $pid && -d /proc/$pid ]] && echo "$pid"
  return 0
}

node_state() { sinfo -h -N -n localhost -o '%t' 2>/dev/null | head -n1 || true; }

stop_daemon() {
  local name=$1 file=$2 pid
  pid=$(daemon_pid "$file")
  if [[ -n $pid ]]; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do [[ -d /proc/$pid ]] || break; sleep 0.1; done
    say "stopped $name ($pid)"
  fi
  rm -f "$file"
}

cmd=${1:-start}
case $cmd in
  stop)
    stop_daemon slurmd /run/slurmd.pid
    stop_daemon slurmctld /run/slurmctld.pid
    stop_daemon munged /run/munge/munged.pid
    exit 0
    ;;
  status)
    state=$(node_state)
    if [[ -n $state ]]; then say "node localhost is $state"; exit 0; fi
    say "not running"; exit 1
    ;;
  start) ;;
  *) echo "usage: $0 [start|stop|status]" >&2; exit 2 ;;
esac

[[ $(id -u) -eq 0 ]] || die "needs root: it installs packages and starts munged, slurmctld and slurmd (run it with sudo)"

# Already up: nothing to do (idempotent).
state=$(node_state)
if [[ $state == idle || $state == mix || $state == alloc ]]; then
  say "already running: node localhost is $state ($(nproc) CPUs)"
  exit 0
fi

# --- packages -----------------------------------------------------------------------------
# slurmctld (controller), slurmd (node daemon), slurm-client (sbatch, squeue, ...) are what
# Debian's slurm-wlm meta-package pulls in; munge signs the messages between them.
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v sbatch >/dev/null \
  || ! command -v munged >/dev/null; then
  say "installing slurm-wlm and munge"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends slurmctld slurmd slurm-client munge >/dev/null
fi

# --- munge: authentication ----------------------------------------------------------------
# Every daemon and client must share one key. munged refuses a key that others can read,
# and refuses to run as root: the key belongs to user munge, mode 0400.
id munge >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin munge
mkdir -p /etc/munge /var/lib/munge /var/log/munge /run/munge
if [[ ! -s /etc/munge/munge.key ]]; then
  dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
fi
chown -R munge:munge /etc/munge /var/lib/munge /var/log/munge /run/munge
chmod 0700 /etc/munge /var/lib/munge /var/log/munge
chmod 0755 /run/munge
chmod 0400 /etc/munge/munge.key
if [[ -z $(daemon_pid /run/munge/munged.pid) ]]; then
  # --force: a stale socket left by a killed munged must not stop the start.
  runuser -u munge -- munged --force
fi
for _ in $(seq 1 50); do munge -n >/dev/null 2>&1 && break; sleep 0.1; done
munge -n | unmunge >/dev/null || die "munged does not answer (see /var/log/munge/munged.log)"

# --- slurm.conf ---------------------------------------------------------------------------
# The node's real size as slurmd detects it. slurmd drains a node whose configured CPUs or
# memory exceed what it finds, so take the numbers from `slurmd -C` rather than guessing.
detected=$(slurmd -C | head -n1)
field() { sed -n "s/.*\b$1=\([0-9]*\).*/\1/p" <<<"$detected"; }
CPUS=$(field CPUs)
BOARDS=$(field Boards)
SOCKETS=$(field SocketsPerBoard)
CORES=$(field CoresPerSocket)
THREADS=$(field ThreadsPerCore)
MEM=$(field RealMemory)
[[ -n $CPUS && -n $MEM ]] || die "could not read CPUs / RealMemory from 'slurmd -C': $detected"
# Leave a little memory to the OS so the node is never drained for "Low RealMemory".
MEM=$((MEM * 95 / 100))
# Without a per-CPU default, a job that does not ask for memory would be given the whole
# node's memory and jobs would run one at a time.
DEF_MEM_PER_CPU=$((MEM / CPUS))

# GPUs: one generic resource per device so that `sbatch --gres=gpu:1` works on a GPU machine.
GPUS=0
if command -v nvidia-smi >/dev/null; then GPUS=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU' || true); fi
GRES_NODE=""
GRES_TYPES=""
if ((GPUS > 0)); then
  GRES_TYPES="GresTypes=gpu"
  GRES_NODE="Gres=gpu:$GPUS"
  {
    echo "# One line per GPU device file; written by scripts/slurm-cluster.sh."
    echo "NodeName=localhost Name=gpu File=/dev/nvidia[0-$((GPUS - 1))]"
  } >"$CONF_DIR/gres.conf.new"
fi

mkdir -p "$CONF_DIR" "$LOG_DIR" /var/spool/slurmctld /var/spool/slurmd
[[ -f $CONF_DIR/gres.conf.new ]] && mv "$CONF_DIR/gres.conf.new" "$CONF_DIR/gres.conf"
cat >"$CONF.new" <<EOF
# One-node test cluster; written by scripts/slurm-cluster.sh (edits are overwritten).
ClusterName=inrank-local
# The controller and the only compute node are this machine, reached as localhost so the
# file does not depend on the machine's host name.
SlurmctldHost=localhost
# Daemons run as root here (a test machine); a real cluster uses a dedicated slurm user.
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CryptoType=crypto/munge
MpiDefault=none
# Track a job's processes through their parent pids: cgroup tracking needs a writable
# cgroup tree and systemd, which containers and CI machines usually lack.
ProctrackType=proctrack/linuxproc
# No CPU binding or cgroup confinement of tasks, for the same reason.
TaskPlugin=task/none
# No accounting storage (no slurmdbd): sacct will not work; squeue / scontrol do.
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
# Jobs share the node: allocate individual cores and memory, not whole nodes.
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=$DEF_MEM_PER_CPU
SchedulerType=sched/backfill
# A node that went down (e.g. slurmd restarted) comes back by itself once it registers.
ReturnToService=2
# Keep finished jobs visible to 'scontrol show job' for an hour: without slurmdbd this is
# the only place their final state and exit code can be read.
MinJobAge=3600
# State and spool files (StateSaveLocation must survive a controller restart).
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=$LOG_DIR/slurmctld.log
SlurmdLogFile=$LOG_DIR/slurmd.log
$GRES_TYPES
# The node: its real CPUs and memory (from 'slurmd -C').
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$CPUS Boards=$BOARDS SocketsPerBoard=$SOCKETS CoresPerSocket=$CORES ThreadsPerCore=$THREADS RealMemory=$MEM $GRES_NODE State=UNKNOWN
# One partition, the default one, with no time limit of its own.
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
mv "$CONF.new" "$CONF"

# --- daemons ------------------------------------------------------------------------------
if [[ -z $(daemon_pid /run/slurmctld.pid) ]]; then
  # -i: ignore state files from an older configuration instead of refusing to start.
  slurmctld -i
fi
if [[ -z $(daemon_pid /run/slurmd.pid) ]]; then
  # -N localhost: this machine is the node named localhost, whatever its host name.
  slurmd -N localhost
else
  scontrol reconfigure >/dev/null 2>&1 || true
fi

# --- wait until the node takes jobs ---------------------------------------------------------
deadline=$((SECONDS + WAIT_S))
while ((SECONDS < deadline)); do
  state=$(node_state)
  case $state in
    idle | mix | alloc)
      say "ready: node localhost is $state ($CPUS CPUs, ${MEM} MB, $GPUS GPUs), partition debug"
      exit 0
      ;;
    down* | drain* | drng*)
      # A node left down by an earlier run: ReturnToService covers registration, this covers the rest.
      scontrol update nodename=localhost state=resume >/dev/null 2>&1 || true
      ;;
  esac
  sleep 1
done
die "node localhost not idle after ${WAIT_S}s (state '${state:-none}'); see $LOG_DIR/slurmctld.log and $LOG_DIR/slurmd.log"
