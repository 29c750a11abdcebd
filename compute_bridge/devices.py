"""Device choice for a job: one GPU job per device, CPU fallback.

Each CUDA device has a lock file in a shared folder; a job holds the lock of the device
it computes on (`fcntl.flock`, released by the kernel if the process dies, so a killed
job never leaves a device taken). `auto` takes the first free GPU and falls back to the
CPU when every GPU is busy or none exists; `cuda` waits for a free GPU, and on a machine
with no usable CUDA device runs on the CPU with a note saying why (a CPU-only torch
build, or no GPU visible), so a job or benchmark asked for `cuda` still gives its
result; `cpu` takes no lock. The device count is a parameter so the choice can be
exercised without a GPU.
"""

from __future__ import annotations

import fcntl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from catalog.domain.errors import ValidationError


@dataclass
class DeviceLease:
    """A device and the lock that reserves it (None for the CPU)."""

    device: str
    handle: IO[bytes] | None = field(default=None, repr=False)
    #: why the device differs from the one asked for ("" when it does not)
    note: str = ""

    def release(self) -> None:
        if self.handle is not None:
            fcntl.flock(self.handle, fcntl.LOCK_UN)
            self.handle.close()
            self.handle = None


def cuda_device_count() -> int:
    try:
        import torch
    except ImportError:
        return 0
    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def no_cuda_reason() -> str:
    """Why this process sees no CUDA device, in words an operator can act on."""
    try:
        import torch
    except ImportError:
        return "PyTorch is not installed (pip install 'imagora[gpu]')"
    if torch.version.cuda is None:
        return f"this PyTorch build ({torch.__version__}) has no CUDA support"
    return (
        f"PyTorch {torch.__version__} (CUDA {torch.version.cuda}) sees no GPU: no device, "
        "no driver, or CUDA_VISIBLE_DEVICES hides them"
    )


def cpu_fallback_note(reason: str | None = None) -> str:
    return f"CUDA was asked for but {reason or no_cuda_reason()}; running on the CPU instead"


def acquire_device(
    requested: str,
    lock_dir: Path,
    device_count: Callable[[], int] = cuda_device_count,
    wait_s: float = 0.5,
    max_wait_s: float | None = None,
) -> DeviceLease:
    """Reserve a device for this process (see the module docstring for the rules)."""
    if requested == "cpu":
        return DeviceLease("cpu")
    count = device_count()
    if count == 0:
        return DeviceLease("cpu", note=cpu_fallback_note() if requested == "cuda" else "")
    lock_dir.mkdir(parents=True, exist_ok=True)
    waited = 0.0
    while True:
        lease = _try_gpus(count, lock_dir)
        if lease is not None:
            return lease
        if requested == "auto":
            return DeviceLease("cpu")
        if max_wait_s is not None and waited >= max_wait_s:
            raise ValidationError(f"no CUDA device became free within {max_wait_s:g} s")
        time.sleep(wait_s)
        waited += wait_s


def _try_gpus(count: int, lock_dir: Path) -> DeviceLease | None:
    for index in range(count):
        handle = (lock_dir / f"cuda{index}.lock").open("ab")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            continue
        return DeviceLease(f"cuda:{index}", handle)
    return None
