"""Segmentation inference and evaluation: a registered TorchScript model on selected
volumes, label maps out, and where a reference mask is selected too (a `dseg` / `mask`
record), Dice and 95% Hausdorff distance per label - a challenge-style table that
compares models (pipeline versions, `model` parameters) on a reference dataset.

Models are named (`--param model=NAME`): `<data dir>/compute/models/NAME.pt` (how a
real model is registered: copy its TorchScript file there), else the shipped ones.
A model maps (B, 1, H, W) images, scaled to their volume's 99th percentile, to
(B, C, H, W) class scores; slices are segmented one batch at a time. The default model is
`compute_bridge/models/tissue_seg.pt`, trained in-repo on generated phantoms
(`python -m compute_bridge.segmentation_train`).
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
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
from compute_bridge.pipelines.relaxometry import output_stem as _stem
from compute_bridge.volumes import load_volume


class SegmentationPipeline(Pipeline):
    name: ClassVar[str] = "segmentation"
    descriptor_file: ClassVar[str] = "segmentation.boutiques.json"

    def check(self, params: dict[str, ParamValue], inputs: list[StagedInput]) -> None:
        if not [i for i in inputs if i.role != "roi"]:
            raise ValidationError("segmentation needs at least one image input", field="records")
        if len([i for i in inputs if i.role == "roi"]) > 1:
            raise ValidationError(
                "select at most one reference mask (dseg) record", field="records"
            )
        _model_name(params)

    def run(self, spec: JobSpec, out_dir: Path, device: str) -> PipelineResult:
        import nibabel as nib
        import torch

        model_path = _model_path(spec.params, spec.path.parent.parent / "models")
        model = torch.jit.load(str(model_path), map_location=device).eval()
        digest = "sha256:" + hashlib.sha256(model_path.read_bytes()).hexdigest()
        refs = [i for i in spec.inputs if i.role == "roi"]
        reference = _volume(refs[0])[0] if refs else None
        outputs = []
        for item in (i for i in spec.inputs if i.role != "roi"):
            data, affine, spacing = _volume(item)
            labels = segment(model, data, device, int(spec.params.get("batch", 16)))
            stem = Path(item.path).name.split(".")[0] if item.format == "nifti" else _stem(item)
            files = [f"{stem}_desc-model_dseg.nii"]
            nib.save(nib.Nifti1Image(labels.astype(np.int16), affine), str(out_dir / files[0]))
            stats: dict[str, float] = {"labels": float(len(np.unique(labels)) - 1)}
            if reference is not None and reference.shape == labels.shape:
                table, stats = _scores(labels, reference.astype(np.int32), spacing, digest)
                files.append(f"{stem}_desc-model_scores.csv")
                (out_dir / files[1]).write_text(table, encoding="utf-8")
            outputs.append(
                OutputMap(
                    key=f"dseg:{item.record_id}",
                    title=f"Segmentation of {item.title}",
                    kind="dseg",
                    files=files,
                    derived_from=[item.record_id] + [r.record_id for r in refs],
                    description=f"Label map by the TorchScript model {model_path.name} ({digest})"
                    + (
                        "; Dice and HD95 per label against the reference mask."
                        if len(files) > 1
                        else "."
                    ),
                    stats=stats,
                )
            )
        return PipelineResult(outputs=outputs)


def _model_name(params: dict[str, ParamValue]) -> str:
    """A model is named, not given as a path: users must not make the server read
    arbitrary files. Names are looked up among the registered models."""
    name = str(params.get("model") or "tissue_seg")
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}", name) or ".." in name:
        raise ValidationError(
            f"model must be the name of a registered model (letters, digits, . _ -); got '{name}'",
            field="params.model",
        )
    return name.removesuffix(".pt")


def _model_path(params: dict[str, ParamValue], registered: Path) -> Path:
    """`<data dir>/compute/models/<name>.pt` first, then the models shipped in-repo."""
    from compute_bridge.segmentation_train import DEFAULT_MODEL

    name = _model_name(params)
    for folder in (registered, DEFAULT_MODEL.parent):
        path = folder / f"{name}.pt"
        if path.is_file():
            return path
    raise ValidationError(
        f"no registered model '{name}': copy a TorchScript file to {registered}/{name}.pt",
        field="params.model",
    )


def _volume(item: StagedInput) -> tuple[np.ndarray, np.ndarray, tuple[float, ...]]:
    """The first volume of a NIfTI file, DICOM series or Bruker scan (for multi-echo
    data, the first echo), its affine and voxel size (mm)."""
    volume = load_volume(item)
    data = volume.data[..., 0]
    spacing = tuple(float(np.linalg.norm(volume.affine[:3, axis])) for axis in range(3))
    return data, volume.affine, spacing


def segment(model, data: np.ndarray, device: str, batch: int) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Slice-wise inference along the third axis; argmax over classes."""
    import torch

    from compute_bridge.segmentation_train import scale

    slices = scale(np.moveaxis(data, 2, 0))
    out = np.zeros(slices.shape, dtype=np.int16)
    with torch.inference_mode():
        for start in range(0, slices.shape[0], batch):
            x = torch.from_numpy(slices[start : start + batch])[:, None].to(device)
            out[start : start + batch] = model(x).argmax(1).cpu().numpy()
    return np.moveaxis(out, 0, 2)


def _scores(labels, reference, spacing, digest):  # type: ignore[no-untyped-def]
    from compute_bridge.metrics import score_labels

    rows = score_labels(labels, reference, spacing)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["label", "dice", "hd95_mm", "model_sha256"])
    for label, d, h in rows:
        writer.writerow([label, f"{d:.4f}", "inf" if h == float("inf") else f"{h:.3f}", digest])
    finite = [h for _l, _d, h in rows if h != float("inf")]
    stats = {
        "mean_dice": round(float(np.mean([d for _l, d, _h in rows])), 4) if rows else 0.0,
        "max_hd95_mm": round(max(finite), 3) if finite else 0.0,
    }
    return buffer.getvalue(), stats
