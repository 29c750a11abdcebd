"""Window-levelling and PNG encoding of one 2-D slice (numpy and zlib only).

The window runs from the 1st percentile of all pixels to the 99th percentile of the
non-zero ones, as viewers do by default: a few bright outliers (fat, vessels, a marker)
would otherwise turn the anatomy grey, and a mostly empty field of view would wash it
out. The PNG is 8-bit greyscale, filter 0 on every row; at thumbnail size (<= 256 px)
that costs a few kilobytes and no dependency.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

#: Longest side of a thumbnail, in pixels.
THUMBNAIL_SIZE = 256
#: Pixels the window's percentiles are taken from (an even sample of bigger slices:
#: the same window within a grey level, at a quarter of the cost for 256 x 256).
MAX_SAMPLES = 16384
#: zlib level: thumbnails are small, level 1 is several times faster than 6.
PNG_LEVEL = 1
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def window_level(pixels: np.ndarray, low_pct: float = 1.0, high_pct: float = 99.0) -> np.ndarray:
    """`pixels` (any real dtype, 2-D) mapped to uint8 through a percentile window."""
    data = np.asarray(pixels, dtype=np.float64)
    if data.ndim != 2 or data.size == 0:
        raise ValueError(f"a preview needs a 2-D slice, got shape {data.shape}")
    sample = data.ravel()[:: max(1, data.size // MAX_SAMPLES)]  # percentiles of a sample
    finite = sample[np.isfinite(sample)]
    if finite.size == 0:
        return np.zeros(data.shape, dtype=np.uint8)
    # the black level from every pixel (background included); the white level from the
    # object's pixels, so a mostly empty field of view does not wash the anatomy out
    body = finite[finite != 0] if np.count_nonzero(finite) else finite
    low = float(np.percentile(finite, low_pct))
    high = float(np.percentile(body, high_pct))
    if high <= low:
        high = low + 1.0
    scaled = (np.nan_to_num(data, nan=low) - low) * (255.0 / (high - low))
    return np.clip(scaled, 0, 255).astype(np.uint8)


def thumbnail(image: np.ndarray, size: int = THUMBNAIL_SIZE) -> np.ndarray:
    """Shrink (block-average) or enlarge (repeat) so the longest side is near `size`."""
    rows, cols = image.shape
    longest = max(rows, cols)
    if longest > size:
        step = -(-longest // size)
        r, c = max(1, rows // step), max(1, cols // step)
        blocks = image[: r * step, : c * step].reshape(r, step, c, step)
        return blocks.mean(axis=(1, 3)).astype(np.uint8)
    factor = max(1, size // longest)
    return np.repeat(np.repeat(image, factor, axis=0), factor, axis=1)


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def png_bytes(image: np.ndarray) -> bytes:
    """An 8-bit greyscale PNG of a 2-D uint8 array."""
    gray = np.ascontiguousarray(image, dtype=np.uint8)
    if gray.ndim != 2 or gray.size == 0:
        raise ValueError(f"a PNG needs a non-empty 2-D image, got shape {gray.shape}")
    height, width = gray.shape
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    raw = np.hstack([np.zeros((height, 1), dtype=np.uint8), gray]).tobytes()
    return (
        PNG_SIGNATURE
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(raw, PNG_LEVEL))
        + _chunk(b"IEND", b"")
    )


def slice_png(pixels: np.ndarray, size: int = THUMBNAIL_SIZE) -> bytes:
    """The thumbnail PNG of one slice."""
    return png_bytes(thumbnail(window_level(pixels), size))
