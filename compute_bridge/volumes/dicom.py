"""A DICOM MR series as one volume (x, y, z, n).

Classic MR Image Storage has one file per slice and echo / inversion time / flip angle;
enhanced MR (multi-frame) puts every frame in one file and its per-frame values in the
Per-frame Functional Groups (PlanePositionSequence, MREchoSequence > EffectiveEchoTime,
MRTimingAndRelatedParametersSequence > FlipAngle / RepetitionTime, MRModifierSequence >
InversionTimes, PixelValueTransformationSequence > RescaleSlope / RescaleIntercept),
with the Shared Functional Groups as the default of every frame. Both become `Frame`s:
frames are grouped into slices by their position along the slice normal, and ordered
within a slice by (InversionTime, FlipAngle, EchoNumbers, EchoTime, InstanceNumber), so
the n-th frame of every slice is the same echo / inversion / flip angle (checked).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from catalog.domain.errors import ValidationError
from compute_bridge.volumes import Samples, Volume, uniform

#: list field -> (frame attribute, DICOM keyword and tag as error messages name them)
_SAMPLED = {
    "echo_times_ms": ("te", "EchoTime (0018,0081)"),
    "inversion_times_ms": ("ti", "InversionTime (0018,0082)"),
    "flip_angles_deg": ("fa", "FlipAngle (0018,1314)"),
}
_POSITION_DECIMALS = 3  # slices closer than 1 micrometre are the same slice


@dataclass
class Frame:
    """One 2-D image and the values that place and describe it."""

    file: str
    pixels: np.ndarray  # (rows, columns) float32 after rescale
    position: list[float] | None
    orientation: list[float] | None
    spacing: list[float] | None
    thickness: float | None
    te: float | None
    ti: float | None
    fa: float | None
    tr: float | None
    echo_number: int | None
    instance: int

    @property
    def normal(self) -> np.ndarray:
        o = self.orientation or [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
        return np.cross(np.asarray(o[:3], float), np.asarray(o[3:], float))

    def key(self) -> tuple[float, ...]:
        inf = math.inf
        return (
            inf if self.ti is None else self.ti,
            inf if self.fa is None else self.fa,
            inf if self.echo_number is None else float(self.echo_number),
            inf if self.te is None else self.te,
            float(self.instance),
        )


def load_dicom_series(paths: list[str]) -> Volume:
    frames = [frame for path in paths for frame in read_frames(path)]
    if not frames:
        raise ValidationError("the DICOM series has no image files", field="records")
    slices = _slices(frames)
    count = len(next(iter(slices.values())))
    for position, members in slices.items():
        if len(members) != count:
            raise ValidationError(
                f"{members[0].file}: the DICOM series has {len(members)} image(s) at slice "
                f"position {position:g} mm but {count} at another; a file is missing or "
                "belongs to another series",
                field="records",
            )
    ordered = [sorted(members, key=Frame.key) for _pos, members in sorted(slices.items())]
    shapes = {f.pixels.shape for column in ordered for f in column}
    if len(shapes) != 1:
        raise ValidationError(
            f"{frames[0].file}: images of one series differ in size: {sorted(shapes)}",
            field="records",
        )
    data = np.stack(
        [np.stack([f.pixels.T for f in column], axis=-1) for column in ordered], axis=2
    ).astype(np.float32)
    return Volume(data=data, affine=_affine(ordered), samples=_samples(ordered))


# ----- reading files -----------------------------------------------------------------------
def read_frames(path: str) -> list[Frame]:
    import pydicom

    try:
        ds = pydicom.dcmread(path)
        pixels = np.asarray(ds.pixel_array, dtype=np.float32)
    except Exception as exc:  # pydicom raises many types for bad or compressed files
        raise ValidationError(
            f"{path}: cannot read the DICOM image ({exc})", field="records"
        ) from None
    if "PerFrameFunctionalGroupsSequence" in ds:
        return _enhanced_frames(path, ds, pixels)
    slope, intercept = _rescale(ds)
    return [
        Frame(
            file=path,
            pixels=pixels * slope + intercept,
            position=_floats(ds.get("ImagePositionPatient")),
            orientation=_floats(ds.get("ImageOrientationPatient")),
            spacing=_floats(ds.get("PixelSpacing")),
            thickness=_float(ds.get("SliceThickness")),
            te=_float(ds.get("EchoTime")),
            ti=_float(ds.get("InversionTime")),
            fa=_float(ds.get("FlipAngle")),
            tr=_float(ds.get("RepetitionTime")),
            echo_number=_int(ds.get("EchoNumbers")),
            instance=_int(ds.get("InstanceNumber")) or 0,
        )
    ]


def _enhanced_frames(path: str, ds: Any, pixels: np.ndarray) -> list[Frame]:
    groups = ds.PerFrameFunctionalGroupsSequence
    shared = (
        ds.SharedFunctionalGroupsSequence[0] if "SharedFunctionalGroupsSequence" in ds else None
    )
    if pixels.ndim == 2:
        pixels = pixels[None]
    if len(groups) != pixels.shape[0]:
        raise ValidationError(
            f"{path}: {len(groups)} per-frame functional groups for {pixels.shape[0]} frames",
            field="records",
        )
    frames = []
    for index, group in enumerate(groups):

        def value(sequence: str, keyword: str, group: Any = group) -> Any:
            return _group_value(group, shared, sequence, keyword)

        slope = _float(value("PixelValueTransformationSequence", "RescaleSlope"))
        intercept = _float(value("PixelValueTransformationSequence", "RescaleIntercept"))
        inversions = _floats(value("MRModifierSequence", "InversionTimes"))
        frames.append(
            Frame(
                file=path,
                pixels=pixels[index] * (1.0 if slope is None else slope) + (intercept or 0.0),
                position=_floats(value("PlanePositionSequence", "ImagePositionPatient")),
                orientation=_floats(value("PlaneOrientationSequence", "ImageOrientationPatient")),
                spacing=_floats(value("PixelMeasuresSequence", "PixelSpacing")),
                thickness=_float(value("PixelMeasuresSequence", "SliceThickness")),
                te=_float(value("MREchoSequence", "EffectiveEchoTime")),
                ti=inversions[0] if inversions else _float(ds.get("InversionTime")),
                fa=_float(value("MRTimingAndRelatedParametersSequence", "FlipAngle")),
                tr=_float(value("MRTimingAndRelatedParametersSequence", "RepetitionTime")),
                echo_number=None,
                instance=index,
            )
        )
    return frames


def _group_value(group: Any, shared: Any, sequence: str, keyword: str) -> Any:
    """A functional-group attribute: the frame's own, else the shared one."""
    for holder in (group, shared):
        if holder is not None and sequence in holder and len(holder[sequence].value):
            item = holder[sequence].value[0]
            if keyword in item:
                return item[keyword].value
    return None


def _rescale(ds: Any) -> tuple[float, float]:
    slope = _float(ds.get("RescaleSlope"))
    intercept = _float(ds.get("RescaleIntercept"))
    return (1.0 if slope is None else slope), (intercept or 0.0)


def _float(value: Any) -> float | None:
    """A number from a DICOM value; the first of a multi-value."""
    if value is None or isinstance(value, str | bytes):
        return _number(value)
    if hasattr(value, "__len__"):
        return _number(next(iter(value), None))
    return _number(value)


def _number(value: Any) -> float | None:
    if value is None or value == "":
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _floats(value: Any) -> list[float] | None:
    if value is None or value == "":
        return None
    try:
        items = (
            list(value) if hasattr(value, "__iter__") and not isinstance(value, str) else [value]
        )
        return [float(v) for v in items]
    except (TypeError, ValueError):
        return None


def _int(value: Any) -> int | None:
    number = _float(value)
    return None if number is None else int(number)


# ----- assembling ----------------------------------------------------------------------
def _slices(frames: list[Frame]) -> dict[float, list[Frame]]:
    """Frames grouped by their position along the slice normal."""
    missing = next((f for f in frames if f.position is None), None)
    if missing is not None and len(frames) > 1:
        raise ValidationError(
            f"{missing.file}: ImagePositionPatient (0020,0032) is missing, so its slice "
            "cannot be placed in the volume",
            field="records",
        )
    normal = frames[0].normal
    slices: dict[float, list[Frame]] = {}
    for frame in frames:
        where = float(np.dot(np.asarray(frame.position or [0.0, 0.0, 0.0]), normal))
        slices.setdefault(round(where, _POSITION_DECIMALS), []).append(frame)
    return slices


def _samples(ordered: list[list[Frame]]) -> Samples:
    """Values per volume index, the same at every slice (else an error). A value that
    no frame has is simply absent; one that some frames lack is reported as missing,
    naming the first file without it."""
    samples = Samples(tr_ms=uniform([f.tr for column in ordered for f in column]))
    first = ordered[0][0].file
    for name, (attribute, label) in _SAMPLED.items():
        frames = [f for column in ordered for f in column]
        have = [getattr(f, attribute) is not None for f in frames]
        if not any(have):
            samples.missing[name] = f"{first}: no file of the series gives {label}"
            continue
        if not all(have):
            lacking = frames[have.index(False)].file
            samples.missing[name] = f"{lacking}: {label} is missing"
            samples.axis = samples.axis or name
            continue
        setattr(samples, name, _per_index(ordered, attribute, label))
    if samples.axis is None:
        varying = [n for n in _SAMPLED if len(set(getattr(samples, n) or [])) > 1]
        samples.axis = varying[0] if varying else None
    return samples


def _per_index(ordered: list[list[Frame]], attribute: str, label: str) -> list[float]:
    out = []
    for k in range(len(ordered[0])):
        values = [float(getattr(column[k], attribute)) for column in ordered]
        if max(values) - min(values) > 1e-3:
            raise ValidationError(
                f"{ordered[0][k].file}: volume {k + 1} of the series has {label} "
                f"{min(values):g} at one slice and {max(values):g} at another",
                field="records",
            )
        out.append(values[0])
    return out


def _affine(ordered: list[list[Frame]]) -> np.ndarray:
    """Voxel (i = column, j = row, k = slice) -> RAS mm, from the first frames' geometry."""
    first = ordered[0][0]
    o = first.orientation or [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    rows, cols = (first.spacing or [1.0, 1.0])[:2]
    step = first.normal * (first.thickness or 1.0)
    if len(ordered) > 1 and ordered[1][0].position and first.position:
        step = np.asarray(ordered[1][0].position) - np.asarray(first.position)
    lps = np.eye(4)
    lps[:3, 0] = np.asarray(o[:3]) * cols
    lps[:3, 1] = np.asarray(o[3:]) * rows
    lps[:3, 2] = step
    lps[:3, 3] = first.position or [0.0, 0.0, 0.0]
    return np.diag([-1.0, -1.0, 1.0, 1.0]) @ lps
