"""The layout of a job's work directory, shared by the service, executors and runner.

```
<data dir>/compute/jobs/<job id>/
    job.json          the JobSpec (written at submission)
    log.txt           stdout + stderr of the runner (and of the local supervisor)
    runner.pid        the runner's process id, written first thing
    output.partial/   where the pipeline writes; never read by the catalogue
    output/           renamed from output.partial/ only when the pipeline finished
    result.json       RunOutcome, written last by the runner (ok or error)
    exit.json         local executor only: the runner's exit status / time-out
```
"""

from __future__ import annotations

import os
from pathlib import Path

from compute_bridge.base import JobSpec, RunOutcome

JOB_FILE = "job.json"
LOG_FILE = "log.txt"
PID_FILE = "runner.pid"
PARTIAL_DIR = "output.partial"
OUTPUT_DIR = "output"
RESULT_FILE = "result.json"
EXIT_FILE = "exit.json"
METADATA_FILE = "metadata.json"
LOG_TAIL_LINES = 40


def write_atomic(path: Path, text: str) -> None:
    """Readers never see half a file: write beside it, then rename."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write_spec(spec: JobSpec) -> None:
    spec.path.mkdir(parents=True, exist_ok=True)
    write_atomic(spec.path / JOB_FILE, spec.model_dump_json(indent=2))


def read_spec(work_dir: Path) -> JobSpec:
    return JobSpec.model_validate_json((work_dir / JOB_FILE).read_text(encoding="utf-8"))


def read_outcome(work_dir: Path) -> RunOutcome | None:
    """The runner's report, or None when it did not write one (killed, not started)."""
    path = work_dir / RESULT_FILE
    try:
        return RunOutcome.model_validate_json(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def log_tail(work_dir: Path, lines: int = LOG_TAIL_LINES, max_bytes: int = 16_384) -> str:
    """The last lines of the job's log (read from the end: logs can be large)."""
    path = work_dir / LOG_FILE
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - max_bytes))
            data = handle.read()
    except OSError:
        return ""
    text = data.decode("utf-8", errors="replace")
    return "\n".join(text.splitlines()[-lines:])
