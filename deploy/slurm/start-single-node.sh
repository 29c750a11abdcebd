#!/usr/bin/env bash
# A one-node Slurm cluster on this machine, for the compute bridge's Slurm executor
# (CI and developers; operators: read it as the smallest working configuration).
#
#   sudo deploy/slurm/start-single-node.sh          # start (idempotent), ~5-30 s
#   sudo deploy/slurm/start-single-node.sh stop     # stop the daemons it started
#
# Needs the Debian packages slurm-wlm and munge (installed with apt when missing and
# INSTALL=1). Writes /etc/slurm/slurm.conf only when it is absent or was written by this
# script: one node (this host, its CPUs and memory), ProctrackType=proctrack/linuxproc
# and TaskPlugin=task/none (no cgroups needed: works in containers), SlurmUser=root, no
# accounting; two partitions on the node: `debug` (the default) and `imaging` (what the
# tests configure as IMAGORA_SLURM_PARTITION, to see jobs land where the setting says).
# A changed configuration is applied to running daemons with `scontrol reconfigure`.
# Starts munged, slurmctld and slurmd, then waits until the node is idle.
# On success prints `IMAGORA_TEST_SLURM=1` (what the tests look for).
set -euo pipefail

CONF_DIR=${SLURM_CONF_DIR:-/etc/slurm}
CONF=$CONF_DIR/slurm.conf
MARK="# written by imagora deploy/slurm/start-single-node.sh"
STATE=${SLURM_STATE_DIR:-/var/spool/slurmctld}
SPOOL=${SLURM_SPOOL_DIR:-/var/spool/slurmd}
LOGS=${SLURM_LOG_DIR:-/var/log/slurm}

if [ "${1:-start}" = stop ]; then
  for daemon in slurmd slurmctld munged; do
    pidfile=/run/imagora-$daemon.pid
    [ -f "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null || true
    rm -f "$pidfile"
  done
  exit 0
fi

[ "$(id -u)" -eq 0 ] || { echo "run as root (slurmd and munged need it)" >&2; exit 1; }
if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
  if [ "${INSTALL:-0}" = 1 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      slurm-wlm munge >/dev/null
  else
    echo "slurm-wlm and munge are not installed (run with INSTALL=1 to apt-get them)" >&2
    exit 1
  fi
fi

host=$(hostname -s)
cpus=$(nproc)
mem_mb=$(awk '/MemTotal/ {print int($2 / 1024 * 0.9)}' /proc/meminfo)
mkdir -p "$CONF_DIR" "$STATE" "$SPOOL" "$LOGS" /run/munge /var/lib/munge /var/log/munge

changed=0
if [ ! -f "$CONF" ] || grep -qF "$MARK" "$CONF"; then
  old=$(cat "$CONF" 2>/dev/null || true)
  cat >"$CONF.new" <<CONF
$MARK
ClusterName=imagora
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
StateSaveLocation=$STATE
SlurmdSpoolDir=$SPOOL
SlurmctldPidFile=/run/imagora-slurmctld.pid
SlurmdPidFile=/run/imagora-slurmd.pid
SlurmctldLogFile=$LOGS/slurmctld.log
SlurmdLogFile=$LOGS/slurmd.log
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MinJobAge=600
KillWait=5
NodeName=$host CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
PartitionName=imaging Nodes=$host Default=NO MaxTime=INFINITE State=UP
CONF
  [ "$old" = "$(cat "$CONF.new")" ] || changed=1
  mv "$CONF.new" "$CONF"
fi

# munge: a key once, then the daemon (as root: CI containers have no munge user setup)
if [ ! -s /etc/munge/munge.key ]; then
  mkdir -p /etc/munge
  dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key status=none
  chmod 400 /etc/munge/munge.key
fi
if ! munge -n >/dev/null 2>&1; then
  munged --force --pid-file=/run/imagora-munged.pid 2>/dev/null \
    || munged --force
fi

if pgrep -x slurmctld >/dev/null; then
  [ "$changed" = 0 ] || scontrol reconfigure
else
  slurmctld -f "$CONF"
fi
pgrep -x slurmd >/dev/null || slurmd -f "$CONF"

for _ in $(seq 1 60); do
  state=$(sinfo -h -N -o '%t' 2>/dev/null | head -n 1 || true)
  case "$state" in
    idle*|mix*|alloc*) echo "slurm: node $host $state"; echo "IMAGORA_TEST_SLURM=1"; exit 0 ;;
    down*|drain*) scontrol update NodeName="$host" State=RESUME 2>/dev/null || true ;;
  esac
  sleep 1
done
echo "slurm did not become ready; see $LOGS/slurmctld.log and $LOGS/slurmd.log" >&2
exit 1
