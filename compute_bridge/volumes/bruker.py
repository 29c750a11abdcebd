"""A Bruker ParaVision scan (`pdata/<n>/2dseq` + `visu_pars`, with the scan's `method`)
as one volume (x, y, z, n).

`2dseq` holds `VisuCoreFrameCount` frames of `VisuCoreSize` values (x fastest), as
`VisuCoreWordType` in `VisuCoreByteOrder`; the stored value of frame f times
`VisuCoreDataSlope[f]` plus `VisuCoreDataOffs[f]` is the signal. `VisuFGOrderDesc`
names the frame groups, the first varying fastest: `FG_SLICE` is z, and the one other
group with more than one element (FG_ECHO, FG_CYCLE, FG_MOVIE, FG_IRMODE, ...) is the
volume axis. Sampling values, per element of that group: echo times from
`VisuAcqEchoTime` (else the method's `EffectiveTE`), inversion times from
`VisuAcqInversionTime` (else `MultiInvTime`, else `PVM_InversionTime`), flip angles from
`VisuAcqFlipAngle`; a list counts only when it has one value per element.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from catalog.domain.errors import ValidationError
from compute_bridge.volumes import Samples, Volume

_WORD_TYPES = {
    "_8BIT_UNSGN_INT": "u1",
    "_16BIT_SGN_INT": "i2",
    "_32BIT_SGN_INT": "i4",
    "_32BIT_FLOAT": "f4",
}
_BYTE_ORDERS = {"littleEndian": "<", "bigEndian": ">"}
#: list field -> parameters that may give it (visu_pars first, then method)
_SOURCES = {
    "echo_times_ms": (("visu", "VisuAcqEchoTime"), ("method", "EffectiveTE")),
    "inversion_times_ms": (
        ("visu", "VisuAcqInversionTime"),
        ("method", "MultiInvTime"),
        ("method", "PVM_InversionTime"),
    ),
    "flip_angles_deg": (("visu", "VisuAcqFlipAngle"),),
}


def load_bruker_scan(path_2dseq: str) -> Volume:
    seq = Path(path_2dseq)
    visu_path = seq.with_name("visu_pars")
    visu = _params(visu_path, required=True)
    method = _params(seq.parents[2] / "method", required=False)
    size = _ints(visu.get("VisuCoreSize"))
    if not size or len(size) not in (2, 3):
        raise ValidationError(
            f"{visu_path}: VisuCoreSize is missing or not 2-D / 3-D ({visu.get('VisuCoreSize')})",
            field="records",
        )
    frames = _int(visu.get("VisuCoreFrameCount")) or 1
    stored = _read_2dseq(seq, visu, visu_path, size, frames)
    scaled = _scale(stored, visu, visu_path, frames)
    groups = _frame_groups(visu, frames, visu_path)
    data, samples_axis = _arrange(scaled, groups, size, visu_path)
    count = data.shape[3]
    samples = _samples(visu, method, count, samples_axis, visu_path)
    return Volume(data=data, affine=_affine(visu, size), samples=samples)


def _params(path: Path, *, required: bool) -> dict[str, Any]:
    from harvesters.bruker.jcamp import JcampError, read_jcamp

    if not path.is_file():
        if required:
            raise ValidationError(f"{path}: the scan's visu_pars file is missing", field="records")
        return {}
    try:
        return read_jcamp(path, strict=False).params
    except (JcampError, OSError) as exc:
        raise ValidationError(
            f"{path}: cannot read the parameter file ({exc})", field="records"
        ) from None


def _read_2dseq(
    seq: Path, visu: dict[str, Any], visu_path: Path, size: list[int], frames: int
) -> np.ndarray:
    word = str(visu.get("VisuCoreWordType") or "")
    if word not in _WORD_TYPES:
        raise ValidationError(
            f"{visu_path}: VisuCoreWordType '{word or '(missing)'}' is not one of "
            f"{', '.join(_WORD_TYPES)}",
            field="records",
        )
    order = str(visu.get("VisuCoreByteOrder") or "littleEndian")
    if order not in _BYTE_ORDERS:
        raise ValidationError(
            f"{visu_path}: VisuCoreByteOrder '{order}' is neither littleEndian nor bigEndian",
            field="records",
        )
    dtype = np.dtype(_BYTE_ORDERS[order] + _WORD_TYPES[word])
    expected = dtype.itemsize * int(np.prod(size)) * frames
    try:
        actual = seq.stat().st_size
    except OSError:
        raise ValidationError(
            f"{seq}: the scan has no reconstructed image (2dseq); reconstruct it in ParaVision",
            field="records",
        ) from None
    if actual != expected:
        raise ValidationError(
            f"{seq}: {actual} bytes, but visu_pars describes {frames} frame(s) of "
            f"{'x'.join(map(str, size))} {word} ({expected} bytes); complex or truncated data",
            field="records",
        )
    raw = np.fromfile(seq, dtype=dtype)
    return raw.reshape(frames, -1).astype(np.float64)


def _scale(stored: np.ndarray, visu: dict[str, Any], visu_path: Path, frames: int) -> np.ndarray:
    slope = _per_frame(visu.get("VisuCoreDataSlope"), frames, 1.0, "VisuCoreDataSlope", visu_path)
    offset = _per_frame(visu.get("VisuCoreDataOffs"), frames, 0.0, "VisuCoreDataOffs", visu_path)
    return (stored * slope[:, None] + offset[:, None]).astype(np.float32)


def _per_frame(value: Any, frames: int, default: float, name: str, visu_path: Path) -> np.ndarray:
    if value is None:
        return np.full(frames, default)
    values = _floats(value)
    if values is None or len(values) not in (1, frames):
        raise ValidationError(
            f"{visu_path}: {name} has {len(values or [])} values for {frames} frames",
            field="records",
        )
    return np.asarray(values * frames if len(values) == 1 else values, dtype=np.float64)


def _frame_groups(visu: dict[str, Any], frames: int, visu_path: Path) -> list[tuple[str, int]]:
    """(name, length) of each frame group, fastest first; checked against the frame count."""
    desc = visu.get("VisuFGOrderDesc")
    if not desc:
        return [("FG_SLICE", frames)]
    items = desc if isinstance(desc[0], list) else [desc]
    groups = [(str(g[1]), int(g[0])) for g in items if isinstance(g, list) and len(g) > 1]
    if int(np.prod([n for _name, n in groups])) != frames:
        raise ValidationError(
            f"{visu_path}: the frame groups {groups} do not multiply to VisuCoreFrameCount "
            f"{frames}",
            field="records",
        )
    return groups


def _arrange(
    frames: np.ndarray, groups: list[tuple[str, int]], size: list[int], visu_path: Path
) -> tuple[np.ndarray, str | None]:
    """frames -> (x, y, z, n) and the name of the volume-axis group (None: one volume)."""
    varying = [(name, n) for name, n in groups if n > 1 and name != "FG_SLICE"]
    if len(varying) > 1:
        raise ValidationError(
            f"{visu_path}: frame groups {', '.join(n for n, _ in varying)} both vary; a "
            "relaxometry series has one (echo, inversion or flip angle)",
            field="records",
        )
    # C order: the slowest group first; each frame is (y, x) with x fastest.
    shape = [n for _name, n in reversed(groups)] + list(reversed(size))
    cube = frames.reshape(shape)
    names = [name for name, _n in reversed(groups)]
    spatial = len(size)
    axes_x_y_z = list(range(len(names) + spatial - 1, len(names) - 1, -1))  # x, y(, z)
    slice_axis = names.index("FG_SLICE") if "FG_SLICE" in names else None
    sample_axis = names.index(varying[0][0]) if varying else None
    order = axes_x_y_z + [a for a in (slice_axis, sample_axis) if a is not None]
    rest = [a for a in range(len(names)) if a not in (slice_axis, sample_axis)]
    arranged = np.transpose(cube, order + rest)
    x, y = size[0], size[1]
    z = (size[2] if spatial == 3 else 1) * (cube.shape[slice_axis] if slice_axis is not None else 1)
    n = cube.shape[sample_axis] if sample_axis is not None else 1
    return arranged.reshape(x, y, z, n), (varying[0][0] if varying else None)


def _samples(
    visu: dict[str, Any], method: dict[str, Any], count: int, group: str | None, visu_path: Path
) -> Samples:
    params = {"visu": visu, "method": method}
    samples = Samples(
        tr_ms=_first(visu.get("VisuAcqRepetitionTime")) or _first(method.get("PVM_RepetitionTime"))
    )
    if group == "FG_ECHO":
        samples.axis = "echo_times_ms"
    for name, sources in _SOURCES.items():
        found = None
        for where, key in sources:
            values = _floats(params[where].get(key))
            if values and len(values) == count:
                found = values
                break
        if found is None and count == 1:
            found = next((v[:1] for w, k in sources if (v := _floats(params[w].get(k)))), None)
        if found is not None:
            setattr(samples, name, found)
            if samples.axis is None and len(set(found)) > 1:
                samples.axis = name
        else:
            names = " / ".join(
                f"{k} ({'visu_pars' if w == 'visu' else 'method'})" for w, k in sources
            )
            samples.missing[name] = (
                f"{visu_path}: none of {names} gives {count} value(s), one per "
                f"{group or 'frame'} element"
            )
    return samples


def _affine(visu: dict[str, Any], size: list[int]) -> np.ndarray:
    extent = _floats(visu.get("VisuCoreExtent")) or [float(s) for s in size]
    steps = [e / s for e, s in zip(extent, size, strict=False)]
    thickness = _first(visu.get("VisuCoreFrameThickness")) or 1.0
    if len(steps) == 2:
        steps.append(thickness)
    return np.diag([*steps[:3], 1.0])


def _floats(value: Any) -> list[float] | None:
    if value is None:
        return None
    items = value if isinstance(value, list) else [value]
    try:
        return [float(v) for v in items]
    except (TypeError, ValueError):
        return None


def _ints(value: Any) -> list[int] | None:
    values = _floats(value)
    return [int(v) for v in values] if values else None


def _int(value: Any) -> int | None:
    values = _floats(value)
    return int(values[0]) if values else None


def _first(value: Any) -> float | None:
    values = _floats(value)
    return values[0] if values else None
