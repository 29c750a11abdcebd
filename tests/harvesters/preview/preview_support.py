"""Test images with a known shape (a bright disc on black, one hot outlier pixel) and a
PNG reader that checks what the encoder wrote (signature, CRCs, filter bytes)."""

from __future__ import annotations

import struct
import zlib

import numpy as np

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def phantom(rows: int, cols: int, centre: tuple[int, int], value: int = 1000) -> np.ndarray:
    """A disc of `value` (radius a quarter of the short side) and one outlier of 30000."""
    yy, xx = np.mgrid[:rows, :cols]
    radius = min(rows, cols) / 4
    image = np.where((yy - centre[0]) ** 2 + (xx - centre[1]) ** 2 <= radius**2, value, 0)
    image = image.astype(np.int16)
    image[0, 0] = 30000  # a marker: a window over min..max would make the disc dark
    return image


def read_png(data: bytes) -> np.ndarray:
    """An 8-bit greyscale PNG (filter 0 rows) as a uint8 array; asserts well-formedness."""
    assert data[:8] == PNG_SIGNATURE
    offset, idat, header = 8, b"", None
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        body = data[offset + 8 : offset + 8 + length]
        (crc,) = struct.unpack(">I", data[offset + 8 + length : offset + 12 + length])
        assert crc == zlib.crc32(kind + body) & 0xFFFFFFFF, f"bad CRC in {kind!r}"
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        offset += 12 + length
    assert header is not None and header[2:4] == (8, 0), "8-bit greyscale expected"
    width, height = header[0], header[1]
    raw = np.frombuffer(zlib.decompress(idat), dtype=np.uint8).reshape(height, width + 1)
    assert not raw[:, 0].any(), "every row uses filter 0"
    return raw[:, 1:]
