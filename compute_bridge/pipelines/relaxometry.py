"""Quantitative relaxometry maps: T2 / T2* from multi-echo, T1 from inversion recovery
or variable flip angle, fitted for all voxels at once on PyTorch (GPU when the job has
one, CPU otherwise).

Inputs are NIfTI volumes, DICOM series or Bruker ParaVision scans found through the
catalogue: either one 4-D series with its echo times / inversion times / flip angles in
its metadata (a BIDS sidecar list; for DICOM and Bruker, read from the files by the job,
see `compute_bridge.volumes`), or several 3-D volumes, one per echo / TI / flip angle
(BIDS qMRI `echo-<n>_MESE`, `inv-<n>_IRT1`, `flip-<n>_VFA` files, or one DICOM series
per inversion time), stacked in order of that value.
An input with the role `roi` (a `dseg` / `mask` label image) gives the regions of the
statistics table; without one the whole fitted mask is one region.

Outputs per series, in BIDS units (seconds): the map (`T2map`, `T2starmap`, `T1map`),
the amplitude map (`S0map` / `M0map`), the goodness of fit (`R2` of the fit, 0-1), a CSV
of per-region statistics and a PNG preview. Uncompressed NIfTI, so the bytes depend only
on the numbers (checksums agree across executors).

The T2 default is the noise-floor model (`noise=rician`, sigma from the background):
magnitude images at SNR 50 put late echoes in the Rician floor, and the plain offset
model (`noise=offset`, A*exp(-t/T2)+C) then reads T2 several percent short.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from catalog.domain.errors import ValidationError
from compute_bridge.base import (
    JobSpec,
    OutputMap,
    ParamValue,
    Pipeline,
    PipelineResult,
    StagedInput,
)
from compute_bridge.volumes import Volume, load_volume, with_samples

#: model -> (the metadata list, the scalar field, the map suffix, the amplitude suffix)
MODELS: dict[str, tuple[str, str, str, str]] = {
    "t2": ("echo_times_ms", "te_ms", "T2map", "S0map"),
    "t2star": ("echo_times_ms", "te_ms", "T2starmap", "S0map"),
    "t1_ir": ("inversion_times_ms", "ti_ms", "T1map", "M0map"),
    "t1_vfa": ("flip_angles_deg", "flip_angle_deg", "T1map", "M0map"),
}
_LABELS = {"T2map": "T2 map", "T2starmap": "T2* map", "T1map": "T1 map"}
_GRE_SUFFIXES = {"MEGRE", "T2starw", "T2star"}


@dataclass
class Series:
    """Inputs fitted together, with their sampling values (ms or degrees)."""

    inputs: list[StagedInput]
    values: list[float] | None  # None: a 4-D input whose values come from its metadata


@dataclass
class _SeriesJob:
    """One series' share of the job (keeps `_series`' signature short)."""

    model: str
    spec: JobSpec
    series: Series
    roi: np.ndarray | None
    rois: list[StagedInput]
    out_dir: Path
    device: str


class VolumeCache:
    """The job's input volumes, each read once (DICOM / Bruker series up front, since
    their files say which values they sample; NIfTI when first needed)."""

    def __init__(self) -> None:
        self._volumes: dict[str, Volume] = {}

    def get(self, item: StagedInput) -> Volume:
        if item.record_id not in self._volumes:
            self._volumes[item.record_id] = load_volume(item)
        return self._volumes[item.record_id]

    def enrich(self, inputs: list[StagedInput]) -> list[StagedInput]:
        """Inputs whose metadata is completed from their series files."""
        out = []
        for item in inputs:
            if item.format != "nifti" and not _is_roi(item):
                volume = self.get(item)
                meta = with_samples(item.meta, volume.samples, volume.data.shape[3])
                item = item.model_copy(update={"meta": meta})
            out.append(item)
        return out

    def missing(self, item: StagedInput, field: str) -> str | None:
        volume = self._volumes.get(item.record_id)
        return volume.samples.missing.get(field) if volume else None

    def axis_missing(self, inputs: list[StagedInput]) -> list[str]:
        """Why 4-D series lack the values of the axis their files say they sample."""
        reasons = []
        for item in inputs:
            volume = self._volumes.get(item.record_id)
            if volume is None or volume.data.shape[3] < 2:
                continue
            axis = volume.samples.axis
            if axis and axis in volume.samples.missing:
                reasons.append(volume.samples.missing[axis])
        return reasons


class RelaxometryPipeline(Pipeline):
    name: ClassVar[str] = "relaxometry"
    descriptor_file: ClassVar[str] = "relaxometry.boutiques.json"

    # ----- before submission -----------------------------------------------------------
    def check(self, params: dict[str, ParamValue], inputs: list[StagedInput]) -> None:
        if any(i.format != "nifti" for i in inputs if not _is_roi(i)):
            # DICOM / Bruker series: the job reads their sampling values from the files
            # (what it computes on); a series without them fails the job, naming the
            # file and the attribute.
            return
        model = resolve_model(params, inputs)
        for series in plan(model, params, inputs):
            values = series.values or _list_meta(series.inputs[0], model, params)
            if values is None:
                raise ValidationError(
                    f"input '{series.inputs[0].title}' is one 4-D volume without "
                    f"{MODELS[model][0]} in its metadata; pass --param {MODELS[model][0]}=...",
                    field=f"params.{MODELS[model][0]}",
                )
            _check_values(model, values, params, series.inputs[0])

    # ----- the job ---------------------------------------------------------------------
    def run(self, spec: JobSpec, out_dir: Path, device: str) -> PipelineResult:
        import nibabel as nib

        volumes = VolumeCache()
        inputs = volumes.enrich(spec.inputs)
        model = _model_from_files(spec.params, inputs, volumes)
        rois = [i for i in inputs if _is_roi(i)]
        roi = volumes.get(rois[0]).data[..., 0] if rois else None
        outputs = []
        for series in plan(model, spec.params, inputs):
            _require_values(model, spec.params, series, volumes)
            job = _SeriesJob(model, spec, series, roi, rois, out_dir, device)
            outputs.append(self._series(nib, job, volumes))
        return PipelineResult(outputs=outputs)

    def _series(self, nib, job: _SeriesJob, volumes: VolumeCache) -> OutputMap:  # type: ignore[no-untyped-def]
        model, spec, series, roi, rois, out_dir = (
            job.model,
            job.spec,
            job.series,
            job.roi,
            job.rois,
            job.out_dir,
        )
        data, values, affine = _stack(model, spec.params, series, volumes)
        _check_values(model, values, spec.params, series.inputs[0])
        params = dict(spec.params)
        if model == "t1_vfa" and not params.get("tr_ms"):
            params["tr_ms"] = series.inputs[0].meta.tr_ms or 0.0  # the input's own TR
        maps = fit_maps(model, data, values, params, job.device)
        suffix, amp_suffix = MODELS[model][2], MODELS[model][3]
        stem = output_stem(series.inputs[0])
        files = {
            suffix: f"{stem}_{suffix}.nii",
            amp_suffix: f"{stem}_{amp_suffix}.nii",
            "fit": f"{stem}_desc-fit_R2.nii",
            "csv": f"{stem}_{suffix}_rois.csv",
            "png": f"{stem}_{suffix}_preview.png",
        }
        for key, array in ((suffix, maps.relax_s), (amp_suffix, maps.amplitude), ("fit", maps.r2)):
            image = nib.Nifti1Image(array.astype(np.float32), affine)
            image.header.set_xyzt_units("mm", "sec")
            nib.save(image, str(out_dir / files[key]))
        labels = roi if roi is not None and roi.shape == maps.mask.shape else maps.mask
        table = roi_table(labels.astype(np.int32), maps)
        (out_dir / files["csv"]).write_text(table, encoding="utf-8")
        _preview(out_dir / files["png"], maps)
        inside = maps.relax_s[maps.mask]
        label = _LABELS[suffix]
        return OutputMap(
            key=f"{suffix}:{series.inputs[0].record_id}",
            title=f"{label} of {series.inputs[0].title}",
            kind=suffix,
            files=[files[suffix], files[amp_suffix], files["fit"], files["csv"], files["png"]],
            derived_from=[i.record_id for i in series.inputs] + [r.record_id for r in rois],
            description=(
                f"{label} (seconds) fitted voxel-wise ({model}, {len(values)} samples) by "
                f"the Imagora relaxometry pipeline; amplitude map, fit R2, per-region "
                f"statistics (CSV) and a preview."
            ),
            stats={
                "median_s": round(float(np.median(inside)), 6) if inside.size else 0.0,
                "voxels": float(inside.size),
                "samples": float(len(values)),
            },
        )


# ----- planning: which inputs form which series ------------------------------------------
def _is_roi(item: StagedInput) -> bool:
    return item.role == "roi"


def resolve_model(params: dict[str, ParamValue], inputs: list[StagedInput]) -> str:
    """The `model` parameter, or for `auto` the one the inputs' metadata implies."""
    chosen = str(params.get("model", "auto"))
    if chosen != "auto":
        return chosen
    data = [i for i in inputs if not _is_roi(i)]
    if not data:
        raise ValidationError("relaxometry needs at least one image input", field="records")

    def varies(field: str, list_field: str) -> bool:
        scalars = {getattr(i.meta, field) for i in data if getattr(i.meta, field) is not None}
        lists = [getattr(i.meta, list_field) for i in data if getattr(i.meta, list_field)]
        return len(scalars) > 1 or any(len(set(v)) > 1 for v in lists) or list_field in params

    if varies("ti_ms", "inversion_times_ms"):
        return "t1_ir"
    if varies("flip_angle_deg", "flip_angles_deg"):
        return "t1_vfa"
    if varies("te_ms", "echo_times_ms"):
        gre = any((i.meta.suffix or "") in _GRE_SUFFIXES for i in data)
        return "t2star" if gre else "t2"
    raise ValidationError(
        "cannot tell which relaxometry model fits these inputs: their metadata has no "
        "varying echo times, inversion times or flip angles; pass --param model=... and "
        "the sampling values (e.g. --param echo_times_ms=10,20,30)",
        field="params.model",
    )


def plan(model: str, params: dict[str, ParamValue], inputs: list[StagedInput]) -> list[Series]:
    """4-D inputs (metadata lists) are series of their own; 3-D inputs (one value each)
    are stacked into one series in order of that value."""
    list_field, scalar_field = MODELS[model][0], MODELS[model][1]
    data = [i for i in inputs if not _is_roi(i)]
    if not data:
        raise ValidationError("relaxometry needs at least one image input", field="records")
    override = params.get(list_field)
    if len(data) == 1:
        values = list(override) if isinstance(override, list) else None
        return [Series(data, values)]
    singles = [(getattr(i.meta, scalar_field), i) for i in data]
    missing = [i.title for v, i in singles if v is None]
    if missing and not isinstance(override, list):
        raise ValidationError(
            f"inputs without {scalar_field} in their metadata: {', '.join(missing)}; "
            f"pass --param {list_field}=... (one value per input, in input order)",
            field=f"params.{list_field}",
        )
    if isinstance(override, list):
        if len(override) != len(data):
            raise ValidationError(
                f"{list_field} has {len(override)} values for {len(data)} inputs",
                field=f"params.{list_field}",
            )
        singles = list(zip(override, data, strict=True))
    ordered = sorted(singles, key=lambda pair: (float(pair[0]), pair[1].record_id))
    return [Series([i for _v, i in ordered], [float(v) for v, _i in ordered])]


def _list_meta(item: StagedInput, model: str, params: dict[str, ParamValue]) -> list[float] | None:
    override = params.get(MODELS[model][0])
    if isinstance(override, list):
        return [float(v) for v in override]
    found = getattr(item.meta, MODELS[model][0])
    return list(found) if found else None


def _check_values(
    model: str, values: list[float], params: dict[str, ParamValue], item: StagedInput
) -> None:
    needed = 2 if model == "t1_vfa" else 3
    name = MODELS[model][0]
    if len(values) < needed or len(set(values)) < needed:
        raise ValidationError(
            f"{model} needs at least {needed} distinct {name}; '{item.title}' has "
            f"{sorted(set(values))}",
            field=f"params.{name}",
        )
    if model == "t1_vfa" and not (params.get("tr_ms") or item.meta.tr_ms):
        raise ValidationError(
            f"t1_vfa needs the repetition time; '{item.title}' has none in its metadata; "
            "pass --param tr_ms=...",
            field="params.tr_ms",
        )


# ----- loading ---------------------------------------------------------------------------
def _model_from_files(
    params: dict[str, ParamValue], inputs: list[StagedInput], volumes: VolumeCache
) -> str:
    """`resolve_model`, saying which file lacks what when a series cannot tell."""
    try:
        return resolve_model(params, inputs)
    except ValidationError as exc:
        reasons = volumes.axis_missing(inputs)
        if not reasons:
            raise
        raise ValidationError(
            "; ".join(reasons) + f" (so {exc.message[0].lower()}{exc.message[1:]})",
            field="records",
        ) from None


def _require_values(
    model: str, params: dict[str, ParamValue], series: Series, volumes: VolumeCache
) -> None:
    """A DICOM / Bruker series must give the values the model samples."""
    list_field = MODELS[model][0]
    if series.values is not None or isinstance(params.get(list_field), list):
        return
    item = series.inputs[0]
    if item.format == "nifti" or getattr(item.meta, list_field):
        return
    reason = volumes.missing(item, list_field) or f"{item.path}: the series gives no {list_field}"
    raise ValidationError(
        f"{reason}; the {model} model needs them (or pass --param {list_field}=...)",
        field=f"params.{list_field}",
    )


def _stack(
    model: str, params: dict[str, ParamValue], series: Series, volumes: VolumeCache
) -> tuple[np.ndarray, list[float], np.ndarray]:
    if series.values is not None and len(series.inputs) > 1:
        loaded = [volumes.get(i) for i in series.inputs]
        shapes = {v.data.shape for v in loaded}
        if len(shapes) != 1 or loaded[0].data.shape[3] != 1:
            raise ValidationError(
                f"inputs of one series must be 3-D volumes of one shape; got "
                f"{sorted(s[:3] if s[3] == 1 else s for s in shapes)}",
                field="records",
            )
        data = np.concatenate([v.data for v in loaded], axis=-1)
        return data, series.values, loaded[0].affine
    item = series.inputs[0]
    volume = volumes.get(item)
    values = series.values or _list_meta(item, model, params) or []
    if volume.data.shape[3] != len(values):
        shown = (
            list(volume.data.shape[:3]) if volume.data.shape[3] == 1 else list(volume.data.shape)
        )
        raise ValidationError(
            f"{item.path}: a 4-D volume with {len(values)} volumes was expected "
            f"(one per {MODELS[model][0]}); its shape is {shown}",
            field="records",
        )
    return volume.data, values, volume.affine


def output_stem(item: StagedInput) -> str:
    """Output file names' stem: the BIDS name without its suffix and sampling entities."""
    if item.format != "nifti":  # DICOM file names are arbitrary; 2dseq names nothing
        words = "".join(c if c.isalnum() else " " for c in item.title).split()
        return "_".join([*words[:6], item.record_id[:8]]) or "series"
    name = Path(item.path).name
    for ext in (".nii.gz", ".nii"):
        if name.endswith(ext):
            name = name[: -len(ext)]
    for suffix in ("_MESE", "_MEGRE", "_IRT1", "_VFA", "_T2w", "_T1w"):
        name = name.removesuffix(suffix)
    parts = [p for p in name.split("_") if not p.startswith(("echo-", "inv-", "flip-"))]
    return "_".join(parts) or "series"


# ----- fitting ---------------------------------------------------------------------------
@dataclass
class Maps:
    relax_s: np.ndarray
    amplitude: np.ndarray
    r2: np.ndarray
    mask: np.ndarray


def fit_maps(
    model: str,
    data: np.ndarray,
    values: list[float],
    params: dict[str, ParamValue],
    device: str,
) -> Maps:
    """Fit every voxel inside the signal mask; maps are zero outside it."""
    import torch

    from compute_bridge import fitting

    shape = data.shape[:3]
    flat = torch.from_numpy(np.ascontiguousarray(data.reshape(-1, data.shape[3])))
    peak = flat.max(dim=1).values
    high = float(torch.quantile(peak[:: max(1, peak.numel() // 100_000)], 0.99))
    mask = peak > float(params.get("mask_fraction", 0.05)) * high
    y = flat[mask].to(device)
    x = torch.tensor(values, dtype=torch.float32, device=device)
    iterations = int(params.get("iterations", 12))
    if model in ("t2", "t2star"):
        result = _fit_decay(fitting, x, y, flat, params, iterations)
        rate, amplitude = result.params[:, 1], result.params[:, 0]
    elif model == "t1_ir":
        result = fitting.fit_inversion_recovery(x, y, iterations)
        rate, amplitude = result.params[:, 2], result.params[:, 0]
    else:
        tr = float(params.get("tr_ms") or 0.0)
        result = fitting.fit_vfa(x, tr, y, iterations)
        rate, amplitude = result.params[:, 1], result.params[:, 0]
    relax = torch.where(rate > 0, 1.0 / rate, torch.zeros_like(rate)) / 1000.0  # ms -> s
    return Maps(
        relax_s=_unmask(relax, mask, shape),
        amplitude=_unmask(amplitude, mask, shape),
        r2=_unmask(result.r2.clamp(-1.0, 1.0), mask, shape),
        mask=mask.numpy().reshape(shape),
    )


def _fit_decay(fitting, x, y, flat, params, iterations):  # type: ignore[no-untyped-def]
    if params.get("noise", "rician") == "offset":
        return fitting.fit_decay(x, y, iterations)
    sigma = float(params.get("noise_sigma") or 0.0) or fitting.background_sigma(flat[:, 0])
    if sigma is None:
        print("relaxometry: no background to estimate the noise from; using noise=offset")
        return fitting.fit_decay(x, y, iterations)
    return fitting.fit_decay_rician(x, y, sigma, iterations)


def _unmask(values, mask, shape) -> np.ndarray:  # type: ignore[no-untyped-def]
    out = np.zeros(mask.numel(), dtype=np.float32)
    clean = values.detach().float().cpu().nan_to_num(0.0, 0.0, 0.0).numpy()
    out[mask.numpy()] = clean
    return out.reshape(shape)


# ----- outputs ---------------------------------------------------------------------------
def roi_table(labels: np.ndarray, maps: Maps) -> str:
    """Per-region statistics of the map (milliseconds) and of the fit quality."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(
        ["label", "voxels", "mean_ms", "median_ms", "std_ms", "p25_ms", "p75_ms", "median_fit_r2"]
    )
    for label in sorted(int(v) for v in np.unique(labels) if v != 0):
        inside = (labels == label) & maps.mask
        values = maps.relax_s[inside].astype(np.float64) * 1000.0
        if values.size == 0:
            writer.writerow([label, 0, "", "", "", "", "", ""])
            continue
        q25, q50, q75 = np.percentile(values, [25, 50, 75])
        writer.writerow(
            [
                label,
                int(values.size),
                f"{values.mean():.3f}",
                f"{q50:.3f}",
                f"{values.std():.3f}",
                f"{q25:.3f}",
                f"{q75:.3f}",
                f"{float(np.median(maps.r2[inside])):.4f}",
            ]
        )
    return buffer.getvalue()


def _preview(path: Path, maps: Maps) -> None:
    from compute_bridge.preview import middle_slice, to_grey, write_png

    write_png(
        path,
        [
            to_grey(middle_slice(maps.relax_s)),
            to_grey(middle_slice(maps.amplitude)),
            to_grey(middle_slice(maps.r2), high=1.0),
        ],
    )
