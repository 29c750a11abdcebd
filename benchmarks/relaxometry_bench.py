"""Relaxometry fit benchmark: batched PyTorch Levenberg-Marquardt vs a curve_fit loop.

Generates a multi-echo phantom (Rician noise, SNR 50), fits every voxel with
`compute_bridge.fitting.fit_decay` (log-linear start + batched LM; both the plain
3-parameter LM and the variable-projection LM the pipeline uses) and a subset voxel by
voxel with `scipy.optimize.curve_fit` in the same run, and prints fits/s of both and
their ratio (target >= 100x on CPU). Both get one thread unless `--threads` says more.

    python benchmarks/relaxometry_bench.py                     # CPU, 64x64x16 x 32 echoes
    python benchmarks/relaxometry_bench.py --device cuda       # 256x256x128 x 8 echoes

With `--device cuda` it also reports the fraction of the memory-bandwidth bound reached:
each fit must at least read its N echoes and write its 3 parameters and R²
(4·(N+4) bytes in float32), so the bound is bandwidth / that many fits per second. Pass
the GPU's bandwidth with `--bandwidth-gbs` (H100 SXM: 3350, H200: 4800).

On a machine without a usable CUDA device (a CPU-only torch build, no GPU visible),
`--device cuda` says why on stderr and runs on the CPU at the CPU's default size (the
GPU size would take minutes there), printing no bandwidth figure: that bound is a GPU
figure. `--strict-device` makes it exit with status 2 instead.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time

import numpy as np
import torch

from compute_bridge import fitting, phantoms
from compute_bridge.devices import cpu_fallback_note, cuda_device_count


def torch_rate(
    t: torch.Tensor, y: torch.Tensor, iterations: int, repeats: int, method: str
) -> float:
    """Best fits/s over `repeats` runs (the first run warms up allocators and kernels)."""
    best = 0.0
    for _ in range(repeats):
        if y.is_cuda:
            torch.cuda.synchronize()
        start = time.perf_counter()
        result = fitting.fit_decay(t, y, iterations, method)
        if y.is_cuda:
            torch.cuda.synchronize()
        best = max(best, y.shape[0] / (time.perf_counter() - start))
        del result
    return best


def scipy_rate(t: np.ndarray, y: np.ndarray, count: int) -> float:
    from scipy.optimize import curve_fit

    def model(x: np.ndarray, a: float, rate: float, c: float) -> np.ndarray:
        return a * np.exp(-x * rate) + c

    start = time.perf_counter()
    for row in y[:count]:
        # a fit that fails to converge still cost its time
        with contextlib.suppress(RuntimeError):
            curve_fit(model, t, row, p0=(float(row[0]), 1.0 / 50.0, 0.0), maxfev=2000)
    return count / (time.perf_counter() - start)


def choose_device(requested: str, strict: bool) -> str:
    """The device to measure on: `cuda` only where one is usable (see the docstring)."""
    if requested != "cuda" or cuda_device_count() > 0:
        return requested
    note = cpu_fallback_note()
    if strict:
        print(f"relaxometry_bench: {note.split(';')[0]} (--strict-device)", file=sys.stderr)
        sys.exit(2)
    print(f"relaxometry_bench: {note}; no GPU figures are reported", file=sys.stderr)
    return "cpu"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--shape", default=None, help="X,Y,Z (default by device)")
    parser.add_argument("--echoes", type=int, default=None)
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--scipy-voxels", type=int, default=400)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--bandwidth-gbs", type=float, default=4800.0)
    parser.add_argument(
        "--strict-device", action="store_true", help="exit 2 when --device cuda has no GPU"
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = choose_device(args.device, args.strict_device)
    gpu = device == "cuda"
    shape = tuple(int(v) for v in (args.shape or ("256,256,128" if gpu else "64,64,16")).split(","))
    echoes = args.echoes or (8 if gpu else 32)
    tes = [10.0 * (i + 1) for i in range(echoes)]
    phantom = phantoms.multi_echo(shape, echo_times_ms=tes)  # type: ignore[arg-type]
    flat = phantom.images.reshape(-1, echoes)
    load = time.perf_counter()
    y = torch.from_numpy(flat).to(device)
    t = torch.tensor(tes, device=device)
    if gpu:
        torch.cuda.synchronize()
    load_s = time.perf_counter() - load
    print(f"voxels={y.shape[0]} echoes={echoes} device={device} threads={args.threads}")
    full = torch_rate(t, y, args.iterations, args.repeats, "full")
    print(f"torch batched LM, 3 parameters ({args.iterations} it): {full:,.0f} fits/s")
    rate = torch_rate(t, y, args.iterations, args.repeats, "varpro")
    print(f"torch batched LM, A and C projected out ({args.iterations} it): {rate:,.0f} fits/s")
    if gpu:
        bound = args.bandwidth_gbs * 1e9 / (4 * (echoes + 4))
        print(f"memory-bandwidth bound: {bound:,.3g} fits/s; reached {rate / bound:.1%}")
        print(f"fit time {y.shape[0] / rate:.3f} s vs host->device load {load_s:.3f} s")
    # the scipy subset: tissue voxels spread over the phantom (background noise would
    # make curve_fit wander and look slower than it is)
    tissue = np.flatnonzero(phantom.labels.reshape(-1) > 0)
    count = min(args.scipy_voxels, tissue.size)
    subset = flat[tissue[:: max(1, tissue.size // count)][:count]].astype(np.float64)
    slow = scipy_rate(np.asarray(tes), subset, count)
    print(f"scipy curve_fit loop: {slow:,.0f} fits/s ({count} tissue voxels)")
    print(f"ratio (projected LM / curve_fit): {rate / slow:,.0f}x (target >= 100x on CPU)")
    print(f"ratio (3-parameter LM / curve_fit): {full / slow:,.0f}x")


if __name__ == "__main__":
    main()
