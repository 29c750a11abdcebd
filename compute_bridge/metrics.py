"""Segmentation scores per label: Dice and the 95th-percentile Hausdorff distance (mm).

HD95 follows the challenge convention: the surface voxels of each mask (voxels with a
neighbour outside it), the distance of every surface voxel of one mask to the nearest
surface voxel of the other (Euclidean distance transform, in mm from the voxel size),
both directions pooled, 95th percentile. An empty mask on one side only gives an
infinite distance (reported as "inf"); empty on both sides is a perfect score.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage


def dice(a: np.ndarray, b: np.ndarray) -> float:
    total = int(a.sum()) + int(b.sum())
    return 1.0 if total == 0 else 2.0 * int(np.logical_and(a, b).sum()) / total


def surface(mask: np.ndarray) -> np.ndarray:
    return np.logical_and(mask, ~ndimage.binary_erosion(mask, border_value=0))


def hd95(a: np.ndarray, b: np.ndarray, spacing: tuple[float, ...]) -> float:
    if not a.any() and not b.any():
        return 0.0
    if not a.any() or not b.any():
        return math.inf
    sa, sb = surface(a), surface(b)
    to_b = ndimage.distance_transform_edt(~sb, sampling=spacing)
    to_a = ndimage.distance_transform_edt(~sa, sampling=spacing)
    distances = np.concatenate((to_b[sa], to_a[sb]))
    return float(np.percentile(distances, 95))


def score_labels(
    predicted: np.ndarray, reference: np.ndarray, spacing: tuple[float, ...]
) -> list[tuple[int, float, float]]:
    """(label, Dice, HD95 mm) for every non-zero label of either image."""
    labels = sorted({int(v) for v in np.unique(reference)} | {int(v) for v in np.unique(predicted)})
    return [
        (
            label,
            dice(predicted == label, reference == label),
            hd95(predicted == label, reference == label, spacing),
        )
        for label in labels
        if label != 0
    ]
