"""Generated relaxometry phantoms with known T1 / T2 (tests, benchmark, demos).

A phantom is a label image of a few "tissues" (concentric cylinders in a background)
and the signal each acquisition would give, with Rician noise: the magnitude of the
complex signal plus Gaussian noise in both channels, sigma = S0 / SNR. The truth is kept
beside the images, so a fit can be scored against it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: (label, name, T1 ms, T2 ms, proton density): rat-brain-like values at 7 T, plus fluid.
TISSUES: tuple[tuple[int, str, float, float, float], ...] = (
    (1, "white matter", 1100.0, 45.0, 0.70),
    (2, "grey matter", 1600.0, 55.0, 0.80),
    (3, "muscle", 1400.0, 30.0, 0.75),
    (4, "fat", 400.0, 80.0, 0.90),
    (5, "CSF", 3000.0, 250.0, 1.00),
)


@dataclass
class Phantom:
    """Images (X, Y, Z, N), labels (X, Y, Z) and per-voxel truth maps."""

    images: np.ndarray
    labels: np.ndarray
    t1_ms: np.ndarray
    t2_ms: np.ndarray
    values: list[float] = field(default_factory=list)


def label_image(shape: tuple[int, int, int]) -> np.ndarray:
    """Tissues as concentric rings/discs in each slice; 0 = background."""
    x, y = np.meshgrid(np.linspace(-1, 1, shape[0]), np.linspace(-1, 1, shape[1]), indexing="ij")
    radius = np.sqrt(x**2 + y**2)
    angle = np.arctan2(y, x)
    labels = np.zeros(shape[:2], dtype=np.int16)
    inside = radius < 0.9
    sector = ((angle + np.pi) / (2 * np.pi) * len(TISSUES)).astype(int) % len(TISSUES)
    labels[inside] = sector[inside] + 1
    return np.repeat(labels[:, :, None], shape[2], axis=2)


def _truth(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    t1 = np.zeros(labels.shape)
    t2 = np.zeros(labels.shape)
    pd = np.zeros(labels.shape)
    for label, _name, t1v, t2v, pdv in TISSUES:
        mask = labels == label
        t1[mask], t2[mask], pd[mask] = t1v, t2v, pdv
    return t1, t2, pd


def rician(signal: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    real = signal + rng.normal(0.0, sigma, signal.shape)
    imag = rng.normal(0.0, sigma, signal.shape)
    return np.sqrt(real**2 + imag**2)


def _phantom(signal: np.ndarray, labels, t1, t2, values, snr, seed) -> Phantom:  # type: ignore[no-untyped-def]
    """SNR is that of the brightest noiseless voxel: sigma = max(signal) / SNR."""
    rng = np.random.default_rng(seed)
    images = rician(signal, float(signal.max()) / snr, rng).astype(np.float32)
    return Phantom(images, labels, t1, t2, list(values))


def multi_echo(
    shape: tuple[int, int, int] = (32, 32, 2),
    echo_times_ms: list[float] | None = None,
    snr: float = 50.0,
    s0: float = 1000.0,
    seed: int = 0,
) -> Phantom:
    """Multi-echo spin echo: S = S0·PD·exp(-TE/T2)."""
    tes = echo_times_ms or [10.0 * (i + 1) for i in range(16)]
    labels = label_image(shape)
    t1, t2, pd = _truth(labels)
    with np.errstate(divide="ignore", invalid="ignore"):
        decay = np.exp(-np.asarray(tes)[None, None, None, :] / t2[..., None])
    signal = s0 * pd[..., None] * np.nan_to_num(decay)
    return _phantom(signal, labels, t1, t2, tes, snr, seed)


def inversion_recovery(
    shape: tuple[int, int, int] = (32, 32, 2),
    inversion_times_ms: list[float] | None = None,
    snr: float = 50.0,
    s0: float = 1000.0,
    seed: int = 0,
) -> Phantom:
    """Magnitude inversion recovery (long TR): S = |S0·PD·(1 - 2·exp(-TI/T1))|."""
    tis = inversion_times_ms or [
        50.0,
        150.0,
        300.0,
        500.0,
        800.0,
        1200.0,
        1800.0,
        2600.0,
        3600.0,
        5000.0,
    ]
    labels = label_image(shape)
    t1, t2, pd = _truth(labels)
    with np.errstate(divide="ignore", invalid="ignore"):
        e = np.nan_to_num(np.exp(-np.asarray(tis)[None, None, None, :] / t1[..., None]))
    signal = np.abs(s0 * pd[..., None] * (1.0 - 2.0 * e)) * (t1[..., None] > 0)
    return _phantom(signal, labels, t1, t2, tis, snr, seed)


def variable_flip_angle(
    shape: tuple[int, int, int] = (32, 32, 2),
    flip_angles_deg: list[float] | None = None,
    tr_ms: float = 15.0,
    snr: float = 50.0,
    s0: float = 1000.0,
    seed: int = 0,
) -> Phantom:
    """Spoiled gradient echo: S = S0·PD·sin alpha·(1-E1)/(1-E1·cos alpha). SNR is that of
    the brightest image, as for the other phantoms."""
    alphas = flip_angles_deg or [2.0, 4.0, 6.0, 8.0, 10.0, 13.0, 16.0, 20.0, 25.0, 30.0]
    labels = label_image(shape)
    t1, t2, pd = _truth(labels)
    a = np.deg2rad(np.asarray(alphas))[None, None, None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        e1 = np.nan_to_num(np.exp(-tr_ms / t1[..., None]))
    signal = s0 * pd[..., None] * np.sin(a) * (1 - e1) / (1 - e1 * np.cos(a))
    return _phantom(signal, labels, t1, t2, alphas, snr, seed)
