"""PNG previews of maps, written with zlib only (no plotting library, same bytes every
time: a preview is an output whose checksum goes into the provenance)."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np


def to_grey(image: np.ndarray, high: float | None = None) -> np.ndarray:
    """Scale a 2-D map to 0-255 between 0 and its 99th percentile (or `high`)."""
    finite = np.nan_to_num(image.astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    top = high if high is not None else float(np.percentile(finite, 99)) if finite.size else 0.0
    if top <= 0:
        return np.zeros(finite.shape, dtype=np.uint8)
    return (np.clip(finite / top, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def middle_slice(volume: np.ndarray) -> np.ndarray:
    """The middle axial slice, rotated so that the first voxel axis runs left to right."""
    plane = volume[:, :, volume.shape[2] // 2] if volume.ndim == 3 else volume
    return np.rot90(plane)


def write_png(path: Path, panels: list[np.ndarray], gap: int = 4) -> None:
    """Grey panels side by side, as an 8-bit greyscale PNG."""
    height = max(p.shape[0] for p in panels)
    width = sum(p.shape[1] for p in panels) + gap * (len(panels) - 1)
    canvas = np.zeros((height, width), dtype=np.uint8)
    x = 0
    for panel in panels:
        canvas[: panel.shape[0], x : x + panel.shape[1]] = panel
        x += panel.shape[1] + gap
    raw = b"".join(b"\x00" + row.tobytes() for row in canvas)
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(raw, 9))
        + _chunk(b"IEND", b"")
    )


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)
