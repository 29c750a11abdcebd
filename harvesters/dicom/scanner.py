"""A fast DICOM header scanner for the common case: little-endian files with a preamble.

pydicom builds a full `Dataset` (every element decoded into Python objects) even with
`stop_before_pixels`; a harvester only needs ~45 attributes. This scanner walks the
elements of an explicit- or implicit-VR little-endian file in order, decodes only the
attributes listed in `tags.TOP_LEVEL` (and the PET radiopharmaceutical item), skips every
other value by its length (undefined-length sequences by walking their items), and stops
at the pixel data, whose declared length it checks against the file size so that a
truncated file is reported, not silently half-read.

Anything it is not sure about (no preamble, big endian, deflated, DICOMDIR, enhanced or
multi-frame objects, an unusual character set, malformed structure) raises `Unsure`; the
caller then falls back to pydicom. Real errors (truncation) raise `ValueError`.

The result is a plain `{keyword: value}` dict: text as `str` or `list[str]`, binary
numbers as `int`/`float` or lists, sequences as a list holding their first item's dict.
"""

from __future__ import annotations

import os
import struct
from typing import Any, BinaryIO

from harvesters.dicom import tags as T

_EXPLICIT_HEADER = struct.Struct("<I2sH")  # (element << 16 | group), VR, short length
_IMPLICIT_HEADER = struct.Struct("<II")  # (element << 16 | group), length
_U32 = struct.Struct("<I")
_U16 = struct.Struct("<H")
_LONG_VRS = frozenset(
    {b"OB", b"OW", b"OF", b"OD", b"OL", b"OV", b"SQ", b"UC", b"UR", b"UT", b"UN", b"SV", b"UV"}
)
_UNDEFINED = 0xFFFFFFFF
# Keys are (element << 16 | group), the order in which a little-endian uint32 reads a tag.
_ITEM = 0xE000FFFE
_ITEM_END = 0xE00DFFFE
_SEQUENCE_END = 0xE0DDFFFE
_LAST_GROUP = 0x7FDF  # pixel data, padding and delimiters all have a group above this


def _key(tag: int) -> int:
    """(group << 16 | element) -> the key a little-endian uint32 read gives."""
    return (tag & 0xFFFF) << 16 | tag >> 16


_META_WANTED = {
    _key(spec.tag): spec
    for spec in (
        T.TagSpec(0x00020002, "MediaStorageSOPClassUID", "UI"),
        T.TagSpec(0x00020010, "TransferSyntaxUID", "UI"),
    )
}


def _index(specs: tuple[T.TagSpec, ...]) -> dict[int, T.TagSpec]:
    return {_key(s.tag): s._replace(vr_bytes=s.vr.encode("ascii")) for s in specs}


_TOP_WANTED = _index(T.TOP_LEVEL)
_NESTED_WANTED = {name: _index(specs) for name, specs in T.NESTED.items()}
_CHARSETS = {
    "": "latin-1",
    "ISO_IR 6": "latin-1",
    "ISO_IR 100": "latin-1",
    "ISO_IR 101": "iso8859_2",
    "ISO_IR 109": "iso8859_3",
    "ISO_IR 110": "iso8859_4",
    "ISO_IR 144": "iso8859_5",
    "ISO_IR 127": "iso8859_6",
    "ISO_IR 126": "iso8859_7",
    "ISO_IR 138": "iso8859_8",
    "ISO_IR 148": "iso8859_9",
    "ISO_IR 192": "utf-8",
    "GB18030": "gb18030",
    "GBK": "gbk",
}

#: First read; most headers (everything up to the pixel data) fit in it.
INITIAL_READ = 16 * 1024


class Unsure(Exception):
    """The scanner cannot read this file with confidence; use pydicom instead."""


class _Source:
    """A growing prefix of the file: `buf` holds bytes [0, len(buf)) of it."""

    __slots__ = ("buf", "fh", "size")

    def __init__(self, fh: BinaryIO, size: int, first: bytes) -> None:
        self.fh = fh
        self.size = size
        self.buf = first

    def ensure(self, end: int, what: str) -> bytes:
        """Make bytes up to `end` available, or raise ValueError if the file is shorter."""
        if end > self.size:
            raise ValueError(
                f"truncated DICOM file: {what} needs {end} bytes but the file has {self.size}"
            )
        more = self.fh.read(max(end - len(self.buf), 64 * 1024))
        self.buf += more
        if end > len(self.buf):
            raise ValueError(f"truncated DICOM file: read stopped at {len(self.buf)} bytes")
        return self.buf


def scan_file(path: str) -> dict[str, Any]:
    """Needed attributes of one file; `Unsure` if pydicom should read it instead."""
    with open(path, "rb") as fh:
        first = fh.read(INITIAL_READ)
        if len(first) < 144 or first[128:132] != b"DICM":
            raise Unsure("no DICM preamble")
        size = len(first) if len(first) < INITIAL_READ else os.fstat(fh.fileno()).st_size
        return scan_source(_Source(fh, size, first))


def scan_source(src: _Source) -> dict[str, Any]:
    """Read the meta group, then walk the dataset up to the pixel data."""
    pos, syntax, media_class = _read_meta(src)
    if media_class == T.MEDIA_STORAGE_DIRECTORY:
        raise Unsure("DICOMDIR")
    if syntax == T.IMPLICIT_LE:
        explicit = False
    elif T.is_explicit_le_family(syntax):
        explicit = True
    else:
        raise Unsure(f"transfer syntax {syntax or 'missing'}")
    raw: dict[str, Any] = {}
    pos = _walk(src, pos, explicit, _TOP_WANTED, raw, src.size, T.LAST_GROUP_NON_PET)
    if _modality(raw) in T.PET_MODALITIES:
        pos = _walk(src, pos, explicit, _TOP_WANTED, raw, src.size, T.LAST_GROUP)
    values = _decode_all(raw)
    values["TransferSyntaxUID"] = syntax
    _refuse_multiframe(values)
    if syntax in (T.IMPLICIT_LE, T.EXPLICIT_LE) and not _pixels_at_end(src, values, explicit):
        pos = _walk(src, pos, explicit, {}, raw, src.size)
        _check_pixel_data(src, pos, explicit)
    return values


def _modality(raw: dict[str, Any]) -> str:
    value = raw.get("Modality")
    return value[2].decode("ascii", "replace").strip(" \x00") if value else ""


def _pixels_at_end(src: _Source, values: dict[str, Any], explicit: bool) -> bool:
    """True when the file ends exactly with native pixel data of the expected length.

    This is the cheap completeness check (one 12-byte read); when it fails (padding after
    the pixels, odd layouts, a truncated file) the caller walks on to the pixel data.
    """
    try:
        frames = int(values.get("NumberOfFrames") or 1)
        bits = int(values["BitsAllocated"])
        expected = int(values["Rows"]) * int(values["Columns"]) * frames
        expected *= int(values.get("SamplesPerPixel") or 1) * bits // 8
    except (KeyError, TypeError, ValueError):
        return False
    if bits % 8 or expected <= 0:
        return False
    expected += expected % 2
    header_start = src.size - expected - (12 if explicit else 8)
    if header_start < 132:
        return False
    if header_start + 12 <= len(src.buf):
        header = src.buf[header_start : header_start + 12]
    else:
        src.fh.seek(header_start)
        header = src.fh.read(12)
    if len(header) < 8 or _U32.unpack_from(header, 0)[0] != 0x00107FE0:
        return False
    length = _U32.unpack_from(header, 8 if explicit else 4)[0]
    return length == expected


def _read_meta(src: _Source) -> tuple[int, str, str]:
    """File meta group: its end, the transfer syntax and the media storage SOP class."""
    buf = src.buf
    key, vr, _ = _EXPLICIT_HEADER.unpack_from(buf, 132)
    if key != 0x00000002 or vr != b"UL":
        raise Unsure("no (0002,0000) group length")
    end = 144 + _U32.unpack_from(buf, 140)[0]
    if end + 8 > len(buf):
        raise Unsure("file meta group longer than the first read")
    meta: dict[str, Any] = {}
    _walk(src, 144, True, _META_WANTED, meta, end)
    return end, _meta_text(meta, "TransferSyntaxUID"), _meta_text(meta, "MediaStorageSOPClassUID")


def _meta_text(meta: dict[str, Any], keyword: str) -> str:
    value = meta.get(keyword)
    return value[2].decode("ascii", "replace").strip(" \x00") if value else ""


def _refuse_multiframe(values: dict[str, Any]) -> None:
    if values.get("SOPClassUID") in T.ENHANCED_SOP_CLASSES:
        raise Unsure("enhanced multi-frame object")
    frames = values.get("NumberOfFrames")
    if isinstance(frames, str) and frames.strip() not in ("", "0", "1"):
        raise Unsure("multi-frame object")


def _walk(  # noqa: C901 - the hot loop: a function call per element would cost ~30%
    src: _Source,
    pos: int,
    explicit: bool,
    wanted: dict[int, T.TagSpec],
    out: dict[str, Any],
    end: int,
    last_group: int = _LAST_GROUP,
) -> int:
    """Walk elements from `pos` to `end`; return where it stopped.

    Stops early (returning the position of that element) at the first element of a group
    above `last_group`; with the default that is the pixel data, trailing padding, or an
    item / sequence delimiter.
    Wanted values are stored raw as (spec, VR, bytes); wanted sequences as item lists.
    """
    buf = src.buf
    header = _EXPLICIT_HEADER.unpack_from if explicit else _IMPLICIT_HEADER.unpack_from
    long_vrs = _LONG_VRS if explicit else ()
    get = wanted.get
    while pos < end:
        try:
            if explicit:
                key, vr, length = header(buf, pos)
            else:
                key, length = header(buf, pos)
                vr = b""
            if vr in long_vrs:
                length = _U32.unpack_from(buf, pos + 8)[0]
                start = pos + 12
            else:
                start = pos + 8
        except struct.error:
            buf = _more(src, pos)
            continue
        if key & 0xFFFF > last_group:
            return pos
        spec = get(key)
        if length == _UNDEFINED or (spec is not None and spec.vr == "SQ"):
            if vr == b"UN":
                raise Unsure(f"undefined-length UN element at byte {pos}")
            stop = None if length == _UNDEFINED else start + length
            pos = _read_sequence(src, start, stop, explicit, spec, out)
            buf = src.buf
            continue
        pos = start + length
        if spec is not None:
            if pos > len(buf):
                buf = src.ensure(pos, f"attribute {spec.keyword}")
            out[spec.keyword] = (spec, vr, buf[start:pos])
    if pos > end:
        raise Unsure(f"element overruns its container at byte {pos}")
    return pos


def _more(src: _Source, pos: int) -> bytes:
    """Extend the buffer so an element header at `pos` fits, or report truncation."""
    if len(src.buf) >= src.size or pos + 8 > src.size:
        raise ValueError(f"truncated DICOM file: element header at byte {pos} is cut off")
    return src.ensure(min(pos + 12, src.size), "an element header")


def _read_sequence(
    src: _Source,
    pos: int,
    end: int | None,
    explicit: bool,
    spec: T.TagSpec | None,
    out: dict[str, Any],
) -> int:
    """Walk a sequence's items; keep the first item's wanted attributes if `spec` asks."""
    nested = _NESTED_WANTED.get(spec.keyword, {}) if spec is not None else {}
    first: dict[str, Any] | None = None
    limit = src.size if end is None else end
    while pos < limit:
        buf = src.buf if pos + 8 <= len(src.buf) else src.ensure(pos + 8, "a sequence item")
        key, length = _IMPLICIT_HEADER.unpack_from(buf, pos)
        pos += 8
        if key == _SEQUENCE_END:
            break
        if key != _ITEM:
            raise Unsure(f"malformed sequence: no item tag at byte {pos - 8}")
        item: dict[str, Any] = {}
        wanted = nested if first is None else {}
        if length == _UNDEFINED:
            pos = _walk(src, pos, explicit, wanted, item, src.size)
            pos = _item_end(src, pos)
        elif wanted:
            _walk(src, pos, explicit, wanted, item, pos + length)
            pos += length
        else:
            pos += length
        if first is None:
            first = item
    if spec is not None and spec.vr == "SQ":
        out[spec.keyword] = [first] if first is not None else []
    return pos


def _item_end(src: _Source, pos: int) -> int:
    buf = src.buf if pos + 8 <= len(src.buf) else src.ensure(pos + 8, "an item delimiter")
    if _U32.unpack_from(buf, pos)[0] != _ITEM_END:
        raise Unsure(f"undefined-length item without a delimiter at byte {pos}")
    return pos + 8


def _check_pixel_data(src: _Source, pos: int, explicit: bool) -> None:
    """Raise ValueError if the pixel data's declared length runs past the end of the file."""
    if pos + 8 > src.size:
        return
    buf = src.buf if pos + 12 <= len(src.buf) else src.ensure(min(pos + 12, src.size), "pixels")
    key = _U32.unpack_from(buf, pos)[0]
    if key & 0xFFFF != 0x7FE0:
        return
    if explicit and buf[pos + 4 : pos + 6] in _LONG_VRS:
        length, start = _U32.unpack_from(buf, pos + 8)[0], pos + 12
    elif explicit:
        length, start = _U16.unpack_from(buf, pos + 6)[0], pos + 8
    else:
        length, start = _U32.unpack_from(buf, pos + 4)[0], pos + 8
    if length != _UNDEFINED and start + length > src.size:
        raise ValueError(
            f"truncated DICOM file: pixel data declares {length} bytes "
            f"but only {src.size - start} remain"
        )


def _decode_all(raw: dict[str, Any]) -> dict[str, Any]:
    """Decode raw (spec, VR, bytes) values once the character set is known."""
    charset_raw = raw.get("SpecificCharacterSet")
    charset = charset_raw[2].decode("ascii", "replace").strip(" \x00") if charset_raw else ""
    encoding = _CHARSETS.get(charset)
    out: dict[str, Any] = {}
    for keyword, value in raw.items():
        if type(value) is not tuple:
            out[keyword] = [_decode_all(value[0])] if value else []
            continue
        spec, vr, data = value
        code = spec.vr if not vr or vr == spec.vr_bytes or vr == b"UN" else vr.decode("latin-1")
        if code in _MULTI_TEXT_VRS and encoding is not None:
            text = data.decode(encoding, "replace")  # the common case, inlined
            if "\\" in text:
                out[keyword] = [part.strip(" \x00") for part in text.split("\\")]
            else:
                out[keyword] = text.strip(" \x00") or None
        elif code in T.TEXT_VRS:
            out[keyword] = decode_text(data, code, encoding, charset)
        else:
            out[keyword] = _decode_binary(spec, code, data)
    return out


_MULTI_TEXT_VRS = T.TEXT_VRS - T.SINGLE_VALUE_TEXT_VRS


def _decode_binary(spec: T.TagSpec, code: str, data: bytes) -> Any:
    fmt = T.BINARY_FORMATS.get(code)
    if fmt is None:
        raise Unsure(f"{spec.keyword}: unexpected VR {code}")
    count = len(data) // struct.calcsize(fmt)
    if count == 0:
        return None
    values = struct.unpack_from(f"<{count}{fmt}", data)
    return values[0] if count == 1 else list(values)


def decode_text(
    data: bytes, vr: str, encoding: str | None, charset: str = ""
) -> str | list[str] | None:
    """Decode a text value like pydicom does: strip padding, split multiple values."""
    if encoding is None:
        try:
            text = data.decode("ascii")
        except UnicodeDecodeError:
            raise Unsure(f"character set {charset!r} needs pydicom") from None
    else:
        text = data.decode(encoding, "replace")
    if vr in T.SINGLE_VALUE_TEXT_VRS:
        return text.rstrip(" \x00") or None
    if "\\" not in text:
        return text.strip(" \x00") or None
    return [part.strip(" \x00") for part in text.split("\\")]
