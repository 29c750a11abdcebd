"""Train the small segmentation model shipped with Imagora (no downloads).

    python -m compute_bridge.segmentation_train [--out compute_bridge/models/tissue_seg.pt]

The training data are generated phantoms (`compute_bridge.phantoms`): one spin-echo
image (TE 20 ms) of the five-tissue phantom with Rician noise at SNR 50, intensities
scaled to the slice's 99th percentile, the tissue labels as targets. The network is a
per-slice 2-D CNN (3x3 convolutions, ~2.6k parameters): enough for tissues that differ
in intensity, small enough to ship (a few tens of KiB) and to train on a CPU in seconds.
It exists to exercise the segmentation pipeline end to end. To register a real model,
copy its TorchScript file (a module mapping (B, 1, H, W) scaled images to (B, C, H, W)
class scores) to `<data dir>/compute/models/NAME.pt` and run with `--param model=NAME`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from compute_bridge import phantoms

CLASSES = 1 + len(phantoms.TISSUES)
DEFAULT_MODEL = Path(__file__).parent / "models" / "tissue_seg.pt"


class TissueNet(torch.nn.Module):
    def __init__(self, width: int = 12, classes: int = CLASSES) -> None:
        super().__init__()
        self.body = torch.nn.Sequential(
            torch.nn.Conv2d(1, width, 3, padding=1),
            torch.nn.ReLU(),
            torch.nn.Conv2d(width, width, 3, padding=1),
            torch.nn.ReLU(),
            torch.nn.Conv2d(width, classes, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


def scale(slices: np.ndarray) -> np.ndarray:
    """(B, H, W) -> intensities divided by each volume's 99th percentile."""
    top = float(np.percentile(slices, 99)) or 1.0
    return (slices / top).astype(np.float32)


def training_batch(seed: int, size: int = 48) -> tuple[torch.Tensor, torch.Tensor]:
    ph = phantoms.multi_echo((size, size, 2), echo_times_ms=[20.0], seed=seed)
    images = scale(np.moveaxis(ph.images[..., 0], 2, 0))
    labels = np.moveaxis(ph.labels, 2, 0).astype(np.int64)
    return torch.from_numpy(images)[:, None], torch.from_numpy(labels)


def train(steps: int = 300, seed: int = 0) -> torch.jit.ScriptModule:
    torch.manual_seed(seed)
    net = TissueNet()
    optimiser = torch.optim.Adam(net.parameters(), lr=0.02)
    for step in range(steps):
        images, labels = training_batch(seed + step % 16)
        loss = torch.nn.functional.cross_entropy(net(images), labels)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    net.eval()
    return torch.jit.script(net)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--steps", type=int, default=300)
    args = parser.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    train(args.steps).save(str(args.out))
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
