"""The job runner: `python -m compute_bridge.runner <work dir>`, the one command every
executor starts.

It reads `job.json`, reserves a device, runs the pipeline into `output.partial/`, writes
`metadata.json` there, renames the folder to `output/` and writes `result.json` last.
Anything that goes wrong becomes `result.json` with `ok: false` and the message (the
traceback goes to the log) and exit status 1; a killed runner writes nothing, which the
executors report as such. Outputs carry no timestamps or host names (those go to
`result.json`), and the thread count comes from the job, so the same job gives the same
bytes under any executor.
"""

from __future__ import annotations

import os
import resource
import shutil
import socket
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

from compute_bridge.base import JobSpec, PipelineResult, ResourceUse, RunOutcome
from compute_bridge.workdir import (
    METADATA_FILE,
    OUTPUT_DIR,
    PARTIAL_DIR,
    PID_FILE,
    RESULT_FILE,
    read_spec,
    write_atomic,
)


def run_job(spec: JobSpec) -> RunOutcome:
    """Run the job's pipeline; never raises for a pipeline failure."""
    import torch

    from compute_bridge.devices import acquire_device
    from compute_bridge.registry import pipelines

    started, clock = datetime.now(UTC), time.perf_counter()
    outcome = RunOutcome(
        ok=False,
        started=started,
        host=socket.gethostname(),
        torch_version=torch.__version__,
        cuda_version=torch.version.cuda,
    )
    torch.set_num_threads(spec.resources.cpus)
    torch.use_deterministic_algorithms(True, warn_only=True)
    work = spec.path
    partial, final = work / PARTIAL_DIR, work / OUTPUT_DIR
    shutil.rmtree(partial, ignore_errors=True)
    shutil.rmtree(final, ignore_errors=True)
    partial.mkdir(parents=True)
    lease = None
    try:
        lease = acquire_device(spec.device, work.parent.parent / "devices")
        outcome.device, outcome.device_note = lease.device, lease.note
        if lease.note:
            print(f"imagora runner: {lease.note}", flush=True)
        print(f"imagora runner: job {spec.job_id}, {spec.pipeline}, device {lease.device}")
        result = pipelines.get(spec.pipeline)().run(spec, partial, lease.device)
        _write_metadata(spec, partial, result)
        partial.rename(final)
        outcome.ok = True
    except Exception as exc:  # a failed job is a report, not a crash
        traceback.print_exc()
        outcome.error = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
    finally:
        if lease is not None:
            lease.release()
    outcome.finished = datetime.now(UTC)
    outcome.use = _resource_use(time.perf_counter() - clock, outcome.device)
    return outcome


def _write_metadata(spec: JobSpec, out_dir: Path, result: PipelineResult) -> None:
    """The job's description for the output harvester: deterministic (no job id, no
    timestamps), so the same job run twice, or under two executors, gives equal bytes."""
    import orjson

    payload = {
        "pipeline": spec.pipeline,
        "pipeline_version": spec.pipeline_version,
        "params": spec.params,
        "inputs": [{"record_id": i.record_id, "checksum": i.checksum} for i in spec.inputs],
        "outputs": [o.model_dump(mode="json") for o in result.outputs],
    }
    data = orjson.dumps(payload, option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2)
    (out_dir / METADATA_FILE).write_bytes(data)


def _resource_use(wall_s: float, device: str) -> ResourceUse:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    gpu_peak = None
    if device.startswith("cuda"):
        import torch

        gpu_peak = torch.cuda.max_memory_allocated() / 2**20
    return ResourceUse(
        wall_s=round(wall_s, 3),
        cpu_s=round(usage.ru_utime + usage.ru_stime, 3),
        max_rss_mb=round(usage.ru_maxrss / 1024, 1),
        gpu_peak_mb=gpu_peak,
    )


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m compute_bridge.runner WORK_DIR", file=sys.stderr)
        return 2
    work = Path(argv[0])
    (work / PID_FILE).write_text(str(os.getpid()))  # first: lets operators find the process
    spec = read_spec(work)
    outcome = run_job(spec)
    write_atomic(work / RESULT_FILE, outcome.model_dump_json(indent=2))
    if not outcome.ok:
        print(f"imagora runner: job {spec.job_id} failed: {outcome.error}", file=sys.stderr)
    return 0 if outcome.ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
