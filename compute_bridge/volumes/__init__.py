"""Pipeline input volumes: NIfTI files, DICOM series and Bruker ParaVision scans, read
into one array (x, y, z, n) with the sampling values the files themselves give.

Why here: pipelines should not care how a scanner wrote a series. A DICOM series is one
file per slice and echo (classic MR) or one enhanced multi-frame file; a ParaVision scan
is a `2dseq` whose frames `visu_pars` describes. Each reader returns a `Volume`: float32
data after the files' rescale slope / offset, an affine (RAS, mm), and `Samples`: echo
times, inversion times and flip angles per volume along the last axis, read from the
files' own metadata. A value the files do not give is None, with a message naming the
file and the attribute (`Samples.missing`), which the pipeline raises when its model
needs that value, so the job fails saying what to fix.

Readers: `nifti` (nibabel), `dicom` (pydicom), `bruker` (the harvester's JCAMP-DX
parser); `load_volume` chooses by `StagedInput.format`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from catalog.domain.errors import ValidationError
from compute_bridge.base import InputMeta, StagedInput

#: The sampling lists a volume may carry (InputMeta field names).
SAMPLE_FIELDS = ("echo_times_ms", "inversion_times_ms", "flip_angles_deg")
#: The scalar InputMeta field of each list (a 3-D volume has one value).
SCALAR_OF = {
    "echo_times_ms": "te_ms",
    "inversion_times_ms": "ti_ms",
    "flip_angles_deg": "flip_angle_deg",
}


@dataclass
class Samples:
    """Sampling values along the volume's last axis; None where the files say nothing."""

    echo_times_ms: list[float] | None = None
    inversion_times_ms: list[float] | None = None
    flip_angles_deg: list[float] | None = None
    tr_ms: float | None = None
    #: the list field the volume axis samples, when the files say (even if its values
    #: are missing): DICOM, a value some frames have; Bruker, the FG_ECHO frame group
    axis: str | None = None
    #: list field -> why it is None ("<file>: EchoTime (0018,0081) is missing")
    missing: dict[str, str] = field(default_factory=dict)

    def values(self, name: str) -> list[float] | None:
        return getattr(self, name)


@dataclass
class Volume:
    data: np.ndarray  # float32 (x, y, z, n)
    affine: np.ndarray  # 4 x 4, RAS mm
    samples: Samples = field(default_factory=Samples)


def load_volume(item: StagedInput) -> Volume:
    """Read a staged input (see the module docstring)."""
    if item.format == "dicom":
        from compute_bridge.volumes.dicom import load_dicom_series

        return load_dicom_series([item.path, *[f for f in item.files if f != item.path]])
    if item.format == "bruker":
        from compute_bridge.volumes.bruker import load_bruker_scan

        return load_bruker_scan(item.path)
    return load_nifti(item.path)


def load_nifti(path: str) -> Volume:
    import nibabel as nib

    try:
        image = nib.load(path)
        data = np.asarray(image.get_fdata(dtype=np.float32))
    except Exception as exc:  # nibabel raises many types for bad files
        raise ValidationError(f"{path}: cannot read as NIfTI ({exc})", field="records") from None
    if data.ndim == 3:
        data = data[..., None]
    if data.ndim != 4:
        raise ValidationError(
            f"{path}: a 3-D or 4-D image was expected; its shape is {list(data.shape)}",
            field="records",
        )
    return Volume(data=data, affine=np.asarray(image.affine))


def with_samples(meta: InputMeta, samples: Samples, count: int) -> InputMeta:
    """The input's metadata completed with what its files say (the files win: they are
    what the job computes on). A 3-D volume gives scalars, a 4-D one lists."""
    update: dict[str, object] = {}
    for name in SAMPLE_FIELDS:
        values = samples.values(name)
        if not values:
            continue
        if count > 1:
            update[name] = values
        else:
            update[SCALAR_OF[name]] = values[0]
    if samples.tr_ms is not None:
        update["tr_ms"] = samples.tr_ms
    return meta.model_copy(update=update)


def uniform(values: list[float | None]) -> float | None:
    """The one value all entries share (within 1e-3), else None."""
    known = [v for v in values if v is not None]
    if not known or len(known) != len(values):
        return None
    return known[0] if max(known) - min(known) <= 1e-3 else None
