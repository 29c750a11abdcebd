"""The Slurm executor: `sbatch` a script that runs the runner, watch it with `squeue`
(then `scontrol show job`, then `sacct`), stop it with `scancel`.

The batch script asks for the job's resources (`--partition`, `--time`, `--mem`,
`--cpus-per-task`, `--gres=gpu:N`) and sends the runner's output to the job's log. It
exports the submitting environment (Slurm's default), so the runner imports the same
Imagora. Success is read from the runner's `result.json`, not from Slurm alone: a job
Slurm calls COMPLETED without a result is a failure, and a TIMEOUT or OUT_OF_MEMORY
says so in the message. `bin_dir` points at the Slurm commands when they are not on
PATH (`IMAGORA_SLURM_BIN_DIR`); a bin_dir without the command is a clear error naming
both, never a silent fall back to PATH. `partition` and `account` are the installation's
defaults (`IMAGORA_SLURM_PARTITION`, `IMAGORA_SLURM_ACCOUNT`); a job's own partition wins.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

from catalog.domain.errors import ImagoraError, PluginUnavailableError
from compute_bridge.base import Executor, ExecutorSettings, JobSpec, JobState, JobStatus
from compute_bridge.executors.local import _environment
from compute_bridge.workdir import LOG_FILE, read_outcome

_PENDING = {"PENDING", "CONFIGURING", "REQUEUED", "REQUEUE_HOLD", "RESV_DEL_HOLD", "SUSPENDED"}
_RUNNING = {"RUNNING", "COMPLETING", "STAGE_OUT", "SIGNALING", "RESIZING"}
_FAILURES = {
    "TIMEOUT": "Slurm stopped the job at its time limit",
    "OUT_OF_MEMORY": "Slurm stopped the job: it ran out of memory",
    "NODE_FAIL": "the node running the job failed",
    "BOOT_FAIL": "the node could not boot for the job",
    "DEADLINE": "the job missed its deadline",
    "PREEMPTED": "the job was preempted",
    "FAILED": "the job failed",
}


class SubmissionError(ImagoraError):
    """Slurm refused the job (its message says why, e.g. an unknown partition)."""

    status = 502
    code = "submission_failed"


class SlurmSettings(ExecutorSettings):
    """From the installation's settings (see `catalog.services.container`)."""

    bin_dir: str = ""
    partition: str = ""
    account: str = ""


class SlurmExecutor(Executor):
    name = "slurm"
    Settings = SlurmSettings

    def submit(self, spec: JobSpec) -> str:
        script = spec.path / "job.sbatch"
        script.write_text(self.batch_script(spec), encoding="utf-8")
        try:
            out = self._run(["sbatch", "--parsable", str(script)], cwd=spec.path)
        except SubmissionError as exc:
            if spec.resources.gpus and "gres" in exc.message.lower():
                raise SubmissionError(
                    f"{exc.message} (the job asks for {spec.resources.gpus} GPU(s) with "
                    "--gres; this cluster or partition has none: run it with --device auto "
                    "or cpu, or on a partition with GPUs)"
                ) from None
            raise
        return out.strip().split(";")[0]

    def batch_script(self, spec: JobSpec) -> str:
        res = spec.resources
        partition = spec.partition or self.settings.partition  # type: ignore[attr-defined]
        lines = [
            "#!/bin/bash",
            f"#SBATCH --job-name=imagora-{spec.job_id}",
            f"#SBATCH --output={spec.path / LOG_FILE}",
            "#SBATCH --open-mode=append",
            f"#SBATCH --chdir={spec.path}",
            f"#SBATCH --time={_minutes(res.time_limit_s)}",
            f"#SBATCH --mem={max(1, int(res.memory_gb * 1024))}M",
            f"#SBATCH --cpus-per-task={res.cpus}",
        ]
        if partition:
            lines.append(f"#SBATCH --partition={partition}")
        if self.settings.account:  # type: ignore[attr-defined]
            lines.append(f"#SBATCH --account={self.settings.account}")  # type: ignore[attr-defined]
        if res.gpus:
            lines.append(f"#SBATCH --gres=gpu:{res.gpus}")
        python = spec.python or self.settings.python or sys.executable
        command = [python, "-m", "compute_bridge.runner", str(spec.path)]
        lines.append("exec " + " ".join(shlex.quote(part) for part in command))
        return "\n".join(lines) + "\n"

    def status(self, spec: JobSpec, external_id: str) -> JobStatus:
        state = self._slurm_state(external_id)
        if state in _PENDING:
            return JobStatus(state=JobState.queued, message=state.lower())
        if state in _RUNNING:
            return JobStatus(state=JobState.running)
        if state == "CANCELLED":
            return JobStatus(state=JobState.cancelled, message="cancelled in Slurm")
        outcome = read_outcome(spec.path)
        if state in _FAILURES and not (outcome and outcome.ok):
            if outcome and outcome.error:
                detail = f": {outcome.error}"
            else:
                detail = " without a result (its process was killed?)"
            return JobStatus(state=JobState.failed, message=_FAILURES[state] + detail)
        if outcome is None:
            return JobStatus(
                state=JobState.failed,
                message=f"Slurm job {external_id} ended ({state or 'unknown state'}) "
                "without a result (killed?)",
            )
        if outcome.ok:
            return JobStatus(state=JobState.succeeded, exit_code=0)
        return JobStatus(state=JobState.failed, message=outcome.error or "the job failed")

    def cancel(self, spec: JobSpec, external_id: str) -> None:
        self._run(["scancel", external_id], cwd=spec.path)

    # ----- talking to Slurm ------------------------------------------------------------
    def _slurm_state(self, job_id: str) -> str:
        """squeue while Slurm holds the job, `scontrol show job` for a while after
        (MinJobAge), `sacct` where accounting is on; '' when nobody knows any more."""
        out = self._quiet(["squeue", "-h", "-j", job_id, "-o", "%T"])
        if out:
            return out.split()[0]
        out = self._quiet(["scontrol", "show", "job", "-o", job_id])
        for field in out.split():
            if field.startswith("JobState="):
                return field.partition("=")[2]
        out = self._quiet(["sacct", "-n", "-X", "-P", "-j", job_id, "-o", "State"])
        return out.split()[0].rstrip("+") if out.split() else ""

    def _command(self, args: list[str]) -> list[str]:
        bin_dir = self.settings.bin_dir  # type: ignore[attr-defined]
        if not bin_dir:
            return args
        program = Path(bin_dir) / args[0]
        if not (program.is_file() and os.access(program, os.X_OK)):
            raise PluginUnavailableError(
                f"the slurm executor needs '{args[0]}', but IMAGORA_SLURM_BIN_DIR is "
                f"{bin_dir}, which has no executable {args[0]}; set it to the folder that "
                "holds the Slurm commands (e.g. /usr/bin), or leave it empty to use PATH"
            )
        return [str(program), *args[1:]]

    def _run(self, args: list[str], cwd: Path) -> str:
        try:
            done = subprocess.run(
                self._command(args),
                capture_output=True,
                text=True,
                timeout=60,
                cwd=cwd,
                env=_environment(),
            )
        except FileNotFoundError:
            raise PluginUnavailableError(
                f"the slurm executor needs the '{args[0]}' command, which is not installed "
                "here (install slurm-client, or set IMAGORA_SLURM_BIN_DIR)"
            ) from None
        if done.returncode != 0:
            raise SubmissionError(f"{args[0]} failed: {done.stderr.strip() or done.stdout.strip()}")
        return done.stdout

    def _quiet(self, args: list[str]) -> str:
        try:
            done = subprocess.run(
                self._command(args), capture_output=True, text=True, timeout=30, env=os.environ
            )
        except (FileNotFoundError, subprocess.TimeoutExpired):
            return ""
        return done.stdout.strip() if done.returncode == 0 else ""


def _minutes(seconds: int) -> str:
    """Slurm's --time as D-HH:MM:SS (whole seconds are kept)."""
    days, rest = divmod(int(seconds), 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{days}-{hours:02d}:{minutes:02d}:{secs:02d}"
