"""The local executor: each job in its own worker process on this machine.

`submit` starts a small supervisor (`python -m compute_bridge.executors.local <work
dir>`) in a new session, so it outlives the command or request that submitted it. The
supervisor runs the runner with the job's time limit, then writes `exit.json` (exit
status, signal, time-out). Status needs no daemon: a live supervisor means running; an
`exit.json` plus the runner's `result.json` tell how it ended; a supervisor gone without
`exit.json` was killed. GPUs: the runner reserves a device per job (one GPU job per
device, CPU fallback; see `compute_bridge.devices`).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from compute_bridge.base import Executor, ExecutorSettings, JobSpec, JobState, JobStatus
from compute_bridge.workdir import EXIT_FILE, LOG_FILE, read_outcome, read_spec, write_atomic


class LocalSettings(ExecutorSettings):
    """`python`: the interpreter for the worker ('' = the one running Imagora)."""


class LocalExecutor(Executor):
    name = "local"
    Settings = LocalSettings

    def submit(self, spec: JobSpec) -> str:
        python = spec.python or self.settings.python or sys.executable
        with (spec.path / LOG_FILE).open("ab") as log:
            process = subprocess.Popen(
                [python, "-m", "compute_bridge.executors.local", str(spec.path)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: cancel stops it all
                env=_environment(),
            )
        return str(process.pid)

    def status(self, spec: JobSpec, external_id: str) -> JobStatus:
        report = _read_exit(spec.path)
        if report is None:
            if _alive(int(external_id)):
                return JobStatus(state=JobState.running)
            return JobStatus(
                state=JobState.failed,
                message="the worker process ended without a report (killed?)",
            )
        return finished_status(spec.path, report)

    def cancel(self, spec: JobSpec, external_id: str) -> None:
        pid = int(external_id)
        if _alive(pid):
            try:
                os.killpg(pid, signal.SIGTERM)
            except ProcessLookupError:
                return


def finished_status(work: Path, report: dict[str, int | bool | None]) -> JobStatus:
    """How a job ended, from the supervisor's exit report and the runner's result."""
    code = report.get("returncode")
    if report.get("timed_out"):
        limit = report.get("time_limit_s")
        return JobStatus(
            state=JobState.failed, message=f"the job ran past its time limit of {limit} s"
        )
    outcome = read_outcome(work)
    if outcome is not None and outcome.ok and code == 0:
        return JobStatus(state=JobState.succeeded, exit_code=0)
    if outcome is not None and outcome.error:
        return JobStatus(state=JobState.failed, message=outcome.error, exit_code=code)  # type: ignore[arg-type]
    if isinstance(code, int) and code < 0:
        name = signal.Signals(-code).name if -code in signal.valid_signals() else str(-code)
        return JobStatus(
            state=JobState.failed, message=f"the job's process was killed by signal {name}"
        )
    return JobStatus(
        state=JobState.failed,
        message=f"the job ended with exit status {code} and no result",
        exit_code=code if isinstance(code, int) else None,
    )


def _environment() -> dict[str, str]:
    """The worker imports Imagora from where this process does."""
    env = dict(os.environ)
    roots = [str(Path(__file__).resolve().parents[2])]
    if env.get("PYTHONPATH"):
        roots.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(roots)
    return env


def _read_exit(work: Path) -> dict[str, int | bool | None] | None:
    try:
        return json.loads((work / EXIT_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _alive(pid: int) -> bool:
    """True for a running process; reaps our own finished children (no zombies)."""
    try:
        done, _status = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    except ChildProcessError:
        pass  # not our child: ask the kernel
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state not in ("Z", "X")


def supervise(work: Path) -> int:
    """Run the runner under the job's time limit and write `exit.json`."""
    spec = read_spec(work)
    limit = spec.resources.time_limit_s
    started = time.monotonic()
    child = subprocess.Popen([sys.executable, "-m", "compute_bridge.runner", str(work)])

    def forward(signum: int, _frame: object) -> None:
        child.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    timed_out = False
    try:
        returncode = child.wait(timeout=limit)
    except subprocess.TimeoutExpired:
        child.kill()
        returncode = child.wait()
        timed_out = True
        print(f"imagora local executor: time limit of {limit} s reached; job killed", flush=True)
    report = {
        "returncode": returncode,
        "timed_out": timed_out,
        "time_limit_s": limit,
        "wall_s": round(time.monotonic() - started, 3),
    }
    write_atomic(work / EXIT_FILE, json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(supervise(Path(sys.argv[1])))
