"""Header reading with pydicom (the fallback) and the choice between the two readers.

`read_values(path)` tries the fast scanner first and falls back to pydicom for what the
scanner refuses (big endian, no preamble, enhanced multi-frame, DICOMDIR, exotic
character sets, Siemens mosaics without the (0019,100A) count). Both produce the same
`{keyword: value}` shape (see `tags.py`), so normalization is reader-independent.

pydicom errors are turned into `ValueError`s whose message names the problem, because
they reach curators verbatim in harvest reports.
"""

from __future__ import annotations

import os
import struct
from typing import Any, BinaryIO

from harvesters.dicom import tags as T
from harvesters.dicom.scanner import Unsure, scan_file

NOT_DICOM = "not a DICOM file: no DICM preamble and no valid group 0008 element"

#: Where enhanced (multi-frame) objects keep what classic objects hold at the top level:
#: keyword -> [(functional group macro sequence, attribute inside it)].
FUNCTIONAL_GROUP_PATHS: dict[str, tuple[tuple[str, str], ...]] = {
    "RepetitionTime": (("MRTimingAndRelatedParametersSequence", "RepetitionTime"),),
    "FlipAngle": (("MRTimingAndRelatedParametersSequence", "FlipAngle"),),
    "EchoTime": (("MREchoSequence", "EffectiveEchoTime"),),
    "InversionTime": (("MRModifierSequence", "InversionTimes"),),
    "SliceThickness": (("PixelMeasuresSequence", "SliceThickness"),),
    "PixelSpacing": (("PixelMeasuresSequence", "PixelSpacing"),),
    "AcquisitionContrast": (("MRImageFrameTypeSequence", "AcquisitionContrast"),),
}


def read_values(path: str) -> tuple[dict[str, Any], str]:
    """The needed attributes of one file and the reader that produced them.

    Raises ValueError (not DICOM, truncated, unreadable header) or OSError (cannot open).
    """
    try:
        values = scan_file(path)
    except Unsure:
        return read_with_pydicom(path), "pydicom"
    if _is_mosaic(values) and values.get("NumberOfImagesInMosaic") is None:
        return read_with_pydicom(path), "pydicom"
    return values, "scanner"


def _is_mosaic(values: dict[str, Any]) -> bool:
    image_type = values.get("ImageType")
    items = image_type if isinstance(image_type, list) else [image_type]
    return "MOSAIC" in items


def read_with_pydicom(path: str) -> dict[str, Any]:
    """Read with pydicom (headers only), checking plausibility and pixel-data length."""
    import pydicom
    from pydicom.errors import InvalidDicomError

    with open(path, "rb") as fh:
        _check_plausible(fh)
        fh.seek(0)
        try:
            ds = pydicom.dcmread(fh, stop_before_pixels=True, force=True)
        except InvalidDicomError as exc:
            raise ValueError(f"not a DICOM file: {exc}") from exc
        except Exception as exc:  # pydicom raises many types on garbage; never crash
            raise ValueError(f"unreadable DICOM header: {type(exc).__name__}: {exc}") from exc
        _check_pixel_length(fh, ds)
    if len(ds) == 0:
        raise ValueError(NOT_DICOM)
    return dataset_values(ds)


def _check_plausible(fh: BinaryIO) -> None:
    """Refuse empty files and files that neither have a preamble nor start like a dataset."""
    head = fh.read(132)
    if not head:
        raise ValueError("empty file (0 bytes): not a DICOM file")
    if head[128:132] == b"DICM":
        return
    if len(head) >= 8 and {struct.unpack_from(o + "H", head)[0] for o in "<>"} & {0x0002, 0x0008}:
        return  # a dataset without preamble, little- or big-endian
    raise ValueError(NOT_DICOM)


def _check_pixel_length(fh: BinaryIO, ds: Any) -> None:
    """After a `stop_before_pixels` read the file sits at the pixel data tag, if any."""
    pos = fh.tell()
    header = fh.read(12)
    if len(header) < 8:
        return
    implicit, little = getattr(ds, "original_encoding", (False, True))
    order = "<" if little is not False else ">"
    group = struct.unpack_from(order + "H", header, 0)[0]
    if group != 0x7FE0:
        return
    if implicit or header[4:6] not in (b"OB", b"OW", b"OF", b"OD", b"OL", b"OV", b"UN"):
        length, start = struct.unpack_from(order + "I", header, 4)[0], pos + 8
    else:
        length, start = struct.unpack_from(order + "I", header, 8)[0], pos + 12
    size = os.fstat(fh.fileno()).st_size
    if length != 0xFFFFFFFF and start + length > size:
        raise ValueError(
            f"truncated DICOM file: pixel data declares {length} bytes "
            f"but only {size - start} remain"
        )


def dataset_values(ds: Any) -> dict[str, Any]:
    """The `tags.TOP_LEVEL` attributes of a pydicom Dataset, in the scanner's shape."""
    values: dict[str, Any] = {}
    for spec in T.TOP_LEVEL:
        element = ds.get(spec.tag)
        if element is not None:
            values[spec.keyword] = element_value(element, spec)
    meta = getattr(ds, "file_meta", None)
    syntax = meta.get("TransferSyntaxUID") if meta is not None else None
    values["TransferSyntaxUID"] = str(syntax) if syntax else None
    media_class = meta.get("MediaStorageSOPClassUID") if meta is not None else None
    if media_class is not None:
        values["MediaStorageSOPClassUID"] = str(media_class)
        if str(media_class) == T.MEDIA_STORAGE_DIRECTORY:
            values["ReferencedFiles"] = _referenced_files(ds)
    _fill_from_functional_groups(ds, values)
    if _is_mosaic(values) and values.get("NumberOfImagesInMosaic") is None:
        values["NumberOfImagesInMosaic"] = _csa_mosaic_count(ds)
    return values


def _referenced_files(ds: Any) -> list[str]:
    """ReferencedFileID of every DICOMDIR record, as "/"-joined relative paths."""
    files = []
    for record in ds.get("DirectoryRecordSequence") or []:
        file_id = record.get("ReferencedFileID")
        if file_id:
            parts = [file_id] if isinstance(file_id, str) else list(file_id)
            files.append("/".join(str(p) for p in parts))
    return files


def element_value(element: Any, spec: T.TagSpec) -> Any:
    """pydicom's decoded value in the scanner's shape: str / list / number / [item]."""
    value = element.value
    if spec.vr == "SQ":
        nested = T.NESTED.get(spec.keyword, ())
        return [_item_values(value[0], nested)] if value else []
    if isinstance(value, bytes):
        return _unpack_bytes(value, spec)
    if value is None or value == "":
        return None
    if isinstance(value, list | tuple) or type(value).__name__ == "MultiValue":
        return [_scalar(v) for v in value]
    return _scalar(value)


def _item_values(item: Any, specs: tuple[T.TagSpec, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for spec in specs:
        element = item.get(spec.tag)
        if element is not None:
            out[spec.keyword] = element_value(element, spec)
    return out


def _scalar(value: Any) -> Any:
    if isinstance(value, int | float) and type(value) in (int, float):
        return value
    return str(value)


def _unpack_bytes(value: bytes, spec: T.TagSpec) -> Any:
    fmt = T.BINARY_FORMATS.get(spec.vr)
    if fmt is None:
        return value.decode("latin-1").strip(" \x00") or None
    count = len(value) // struct.calcsize(fmt)
    if count == 0:
        return None
    numbers = struct.unpack_from(f"<{count}{fmt}", value)
    return numbers[0] if count == 1 else list(numbers)


def _fill_from_functional_groups(ds: Any, values: dict[str, Any]) -> None:
    """Copy TR/TE/flip/voxel size from Shared, then first PerFrame, functional groups."""
    groups = [
        sequence[0]
        for keyword in ("SharedFunctionalGroupsSequence", "PerFrameFunctionalGroupsSequence")
        if (sequence := ds.get(keyword))
    ]
    for keyword, paths in FUNCTIONAL_GROUP_PATHS.items():
        if values.get(keyword) is not None:
            continue
        found = _first_in_groups(groups, paths)
        if found is not None:
            values[keyword] = found


def _first_in_groups(groups: list[Any], paths: tuple[tuple[str, str], ...]) -> Any:
    for group in groups:
        for macro, keyword in paths:
            sequence = group.get(macro)
            if not sequence or keyword not in sequence[0]:
                continue
            element = sequence[0][keyword]
            return element_value(element, T.TagSpec(element.tag, keyword, element.VR))
    return None


def _csa_mosaic_count(ds: Any) -> int | None:
    """NumberOfImagesInMosaic from the Siemens CSA image header (0029,xx10), if present."""
    for element in ds:
        if element.tag.group == 0x0029 and element.tag.element & 0xFF == 0x10:
            if not isinstance(element.value, bytes):
                continue
            text = csa_value(element.value, "NumberOfImagesInMosaic")
            if text:
                try:
                    return int(float(text))
                except ValueError:
                    return None
    return None


def csa_value(blob: bytes, name: str) -> str | None:
    """First item of element `name` in a Siemens CSA2 ("SV10") header, or None."""
    if not blob.startswith(b"SV10") or len(blob) < 16:
        return None
    count = struct.unpack_from("<I", blob, 8)[0]
    pos = 16
    for _ in range(min(count, 1000)):
        if pos + 84 > len(blob):
            return None
        tag_name = blob[pos : pos + 64].split(b"\x00", 1)[0].decode("latin-1")
        n_items = struct.unpack_from("<i", blob, pos + 76)[0]
        pos += 84
        first: str | None = None
        for index in range(max(n_items, 0)):
            if pos + 16 > len(blob):
                return None
            item_len = struct.unpack_from("<i", blob, pos + 4)[0]
            pos += 16
            if index == 0 and item_len > 0:
                first = blob[pos : pos + item_len].split(b"\x00", 1)[0].decode("latin-1").strip()
            pos += (item_len + 3) // 4 * 4
        if tag_name == name:
            return first or None
    return None
