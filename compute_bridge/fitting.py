"""Batched relaxometry fits on PyTorch: every voxel at once, on CPU or GPU.

Why: a voxel-by-voxel `scipy.optimize.curve_fit` loop spends its time in Python (a few
hundred to a few thousand fits/s); the same Levenberg-Marquardt steps written as tensor
operations over all voxels run at memory speed. How:

- `levenberg_marquardt` is the plain reference: each model returns its prediction and
  Jacobian for all voxels, JᵀJ and Jᵀr are formed per voxel, the damped P x P systems
  (P = 2, 3) are solved in closed form (Cramer's rule), and each voxel accepts or
  rejects its step with its own damping factor;
- decays have two fast paths, both compared with the reference in the tests:
  `decay_lm` (the same 3-parameter steps from a handful of sums) and `decay_varpro`
  (LM on R alone with A and C projected out: the default, about half the passes);
  on CPU they run chunk by chunk (cache-sized), use matrix-vector products for sums
  and an exact lerp instead of `torch.where` (both several times cheaper on CPU);
- starts come from closed-form fits (log-linear for decays, the linearised DESPOT1
  equation for variable flip angles, polarity restoration plus a grid over R1 for
  inversion recovery), so a fixed small number of iterations suffices;
- magnitude data at low SNR: `fit_decay_rician` models the Rician noise floor (sigma
  from the background) instead of absorbing it in a constant offset.

Models (t in ms, rates R = 1/T in 1/ms):
  decay:  S = A*exp(-t*R) + C                 (T2, T2*; "mono-exponential with offset")
  ir:     S = |a + b*exp(-TI*R1)|             (magnitude inversion recovery)
  vfa:    S = M0*sin(alpha)*(1-E)/(1-E*cos(alpha)), E = exp(-TR*R1)  (spoiled GRE)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

Model = Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]]


@dataclass
class FitResult:
    """Per-voxel parameters, the final sum of squared residuals and R²."""

    params: torch.Tensor  # (V, P)
    sse: torch.Tensor  # (V,)
    r2: torch.Tensor  # (V,)


# ----- the damped normal equations, solved in closed form ------------------------------
def solve_small(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Solve a[v] x[v] = b[v] for (V, P, P) and (V, P), P in {2, 3}, by Cramer's rule."""
    p = a.shape[-1]
    if p == 2:
        det = a[:, 0, 0] * a[:, 1, 1] - a[:, 0, 1] * a[:, 1, 0]
        x0 = b[:, 0] * a[:, 1, 1] - a[:, 0, 1] * b[:, 1]
        x1 = a[:, 0, 0] * b[:, 1] - b[:, 0] * a[:, 1, 0]
        return torch.stack((x0, x1), dim=1) / _safe(det)[:, None]
    if p == 3:
        c0, c1, c2 = a[:, :, 0], a[:, :, 1], a[:, :, 2]
        det = _det3(c0, c1, c2)
        cols = (_det3(b, c1, c2), _det3(c0, b, c2), _det3(c0, c1, b))
        return torch.stack(cols, dim=1) / _safe(det)[:, None]
    return torch.linalg.solve(a, b)


def _det3(c0: torch.Tensor, c1: torch.Tensor, c2: torch.Tensor) -> torch.Tensor:
    return (
        c0[:, 0] * (c1[:, 1] * c2[:, 2] - c1[:, 2] * c2[:, 1])
        - c1[:, 0] * (c0[:, 1] * c2[:, 2] - c0[:, 2] * c2[:, 1])
        + c2[:, 0] * (c0[:, 1] * c1[:, 2] - c0[:, 2] * c1[:, 1])
    )


def _safe(det: torch.Tensor) -> torch.Tensor:
    tiny = torch.finfo(det.dtype).tiny
    return torch.where(det.abs() < tiny, torch.full_like(det, tiny), det)


def levenberg_marquardt(
    model: Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]],
    y: torch.Tensor,
    p0: torch.Tensor,
    iterations: int = 12,
    lower: torch.Tensor | None = None,
) -> torch.Tensor:
    """Minimise Σ (model(p) - y)² per voxel; `lower` clamps parameters from below
    (e.g. rates must stay positive). Each voxel has its own damping factor."""
    p = p0.clone()
    lam = torch.full((y.shape[0],), 1e-3, dtype=y.dtype, device=y.device)
    f, jac = model(p)
    cost = ((f - y) ** 2).sum(dim=1)
    for _ in range(iterations):
        jtj, jtr = _normal_equations(jac, f - y)
        diag = torch.diagonal(jtj, dim1=1, dim2=2)
        damped = jtj + torch.diag_embed(lam[:, None] * diag)
        step = solve_small(damped, -jtr)
        trial = p + step
        if lower is not None:
            trial = torch.maximum(trial, lower)
        f_new, jac_new = model(trial)
        cost_new = ((f_new - y) ** 2).sum(dim=1)
        better = torch.isfinite(cost_new) & (cost_new < cost)
        p = torch.where(better[:, None], trial, p)
        f = torch.where(better[:, None], f_new, f)
        jac = torch.where(better[:, None, None], jac_new, jac)
        cost = torch.where(better, cost_new, cost)
        lam = torch.where(better, lam * 0.1, lam * 10.0).clamp(1e-9, 1e9)
    return p


def _normal_equations(jac: torch.Tensor, r: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """JᵀJ (V, P, P) and Jᵀr (V, P) from element-wise products summed over the samples:
    with P ≤ 3 this is far faster than a batched matrix product of tiny matrices."""
    p = jac.shape[2]
    cols = [jac[:, :, i] for i in range(p)]
    entries = {}
    for i in range(p):
        for j in range(i, p):
            entries[i, j] = entries[j, i] = (cols[i] * cols[j]).sum(1)
    jtj = torch.stack([torch.stack([entries[i, j] for j in range(p)], 1) for i in range(p)], 1)
    jtr = torch.stack([(c * r).sum(1) for c in cols], 1)
    return jtj, jtr


def _result(model: Model, y: torch.Tensor, p: torch.Tensor) -> FitResult:
    f, _ = model(p)
    sse = ((f - y) ** 2).sum(dim=1)
    sst = ((y - y.mean(dim=1, keepdim=True)) ** 2).sum(dim=1)
    r2 = 1.0 - sse / sst.clamp_min(torch.finfo(y.dtype).tiny)
    return FitResult(p, sse, r2)


# ----- mono-exponential decay with offset (T2, T2*) ------------------------------------
def decay_model(t: torch.Tensor) -> Model:
    def model(p: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        a, rate, c = p[:, 0:1], p[:, 1:2], p[:, 2:3]
        e = torch.exp(-t[None, :] * rate)
        f = a * e + c
        jac = torch.stack((e, -a * t[None, :] * e, torch.ones_like(e)), dim=2)
        return f, jac

    return model


def loglinear_decay(t: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Weighted (w = S^2) least squares of log S = log A - t*R: the start of the LM fit,
    and a fast fit of its own. Returns (V, 3) = (A, R, 0)."""
    floor = torch.finfo(y.dtype).tiny
    w = y.clamp_min(0) ** 2
    wlogy = torch.log(y.clamp_min(floor)).mul_(w)
    ones = torch.ones_like(t)
    sw = (w @ ones).clamp_min(floor)
    st, stt = w @ t, w @ (t * t)
    sy, sty = wlogy @ ones, wlogy @ t
    det = sw * stt - st * st
    slope = (sw * sty - st * sy) / _safe(det)
    intercept = (sy - slope * st) / sw
    rate = (-slope).clamp_min(1e-6)
    return torch.stack((torch.exp(intercept.clamp(max=80.0)), rate, torch.zeros_like(rate)), 1)


def fit_decay(
    t_ms: torch.Tensor, y: torch.Tensor, iterations: int = 12, method: str = "varpro"
) -> FitResult:
    """S = A*exp(-t/T) + C for every voxel row of `y` (V, N); params (A, R=1/T, C).
    `varpro`: LM on R with A, C projected out (fast path); `full`: LM on all three.
    On CPU the whole fit (start, LM, R^2) runs chunk by chunk, so each chunk's arrays
    stay in cache from the first pass to the last."""
    chunk = DECAY_CHUNK if y.device.type == "cpu" else y.shape[0]
    parts = [
        _fit_decay_chunk(t_ms, y[i : i + chunk], iterations, method)
        for i in range(0, y.shape[0], chunk)
    ]
    if len(parts) == 1:
        return parts[0]
    return FitResult(
        torch.cat([p.params for p in parts]),
        torch.cat([p.sse for p in parts]),
        torch.cat([p.r2 for p in parts]),
    )


def _fit_decay_chunk(t: torch.Tensor, y: torch.Tensor, iterations: int, method: str) -> FitResult:
    p0 = loglinear_decay(t, y)
    if method == "full":
        p = decay_lm(t, y, p0, iterations)
    else:
        p = decay_varpro(t, y, p0[:, 1], iterations)
    _e, r = _decay_residual(t, -y, p[:, 0], p[:, 1], p[:, 2])
    sse = torch.linalg.vecdot(r, r)
    ones = torch.ones_like(t)
    sy = y @ ones
    sst = torch.linalg.vecdot(y, y) - sy * sy / y.shape[1]
    return FitResult(p, sse, 1.0 - sse / sst.clamp_min(torch.finfo(y.dtype).tiny))


def decay_lm(t: torch.Tensor, y: torch.Tensor, p0: torch.Tensor, iterations: int) -> torch.Tensor:
    """Levenberg-Marquardt for A*exp(-t*R) + C, specialised: the six distinct entries of
    J^T J are sums of e^2, t*e^2, t^2*e^2, e, t*e (e = exp(-t*R)), one matrix-vector
    product each; only (V, N) arrays are formed, updated in place where possible,
    and voxels are processed in cache-sized chunks. Same steps as
    `levenberg_marquardt(decay_model(t), ...)`, which the tests compare it with."""
    chunk = DECAY_CHUNK if y.device.type == "cpu" else y.shape[0]
    if y.shape[0] > chunk:
        parts = [
            decay_lm(t, y[i : i + chunk], p0[i : i + chunk], iterations)
            for i in range(0, y.shape[0], chunk)
        ]
        return torch.cat(parts)
    n = y.shape[1]
    ones, t2 = torch.ones_like(t), t * t
    neg_y = -y
    a, rate, c = p0[:, 0].clone(), p0[:, 1].clone(), p0[:, 2].clone()
    e, r = _decay_residual(t, neg_y, a, rate, c)
    cost = torch.linalg.vecdot(r, r)
    lam = torch.full_like(cost, 1e-3)
    count = torch.full_like(a, n)
    for _ in range(iterations):
        e2, re = e * e, r * e  # one matrix-vector product per sum (see _moments)
        see, stee, sttee = e2 @ ones, e2 @ t, e2 @ t2
        se, ste, sre, stre = e @ ones, e @ t, re @ ones, re @ t
        m = _Sym3(see, -a * stee, se, a * a * sttee, -a * ste, count)
        da, dr, dc = m.damped(lam).solve(-sre, a * stre, -(r @ ones))
        ta, tr, tc = a + da, (rate + dr).clamp_min(1e-6), c + dc
        e_new, r_new = _decay_residual(t, neg_y, ta, tr, tc)
        cost_new = torch.linalg.vecdot(r_new, r_new)
        better = torch.isfinite(cost_new) & (cost_new < cost)
        a, rate, c = _pick(better, ta, a), _pick(better, tr, rate), _pick(better, tc, c)
        e, r = _pick(better, e_new, e), _pick(better, r_new, r)
        cost = _pick(better, cost_new, cost)
        lam = lam * _pick(better, torch.full_like(lam, 0.1), torch.full_like(lam, 10.0))
        lam = lam.clamp_(1e-9, 1e9)
    return torch.stack((a, rate, c), 1)


#: Voxels per chunk on CPU: 4096 x 32 echoes x 4 bytes = 512 KiB per array, so one
#: iteration's arrays stay in the L2 cache instead of streaming from memory (~1.5x).
DECAY_CHUNK = 4096


def _decay_residual(
    t: torch.Tensor, neg_y: torch.Tensor, a: torch.Tensor, rate: torch.Tensor, c: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """e = exp(-t*R) and r = A*e + C - y, two fused passes each."""
    e = torch.outer(-rate, t).exp_()
    r = torch.addcmul(neg_y, e, a[:, None]).add_(c[:, None])
    return e, r


@dataclass
class _Sym3:
    """A batch of symmetric 3x3 matrices by their six distinct entries, each (V,)."""

    m00: torch.Tensor
    m01: torch.Tensor
    m02: torch.Tensor
    m11: torch.Tensor
    m12: torch.Tensor
    m22: torch.Tensor

    def damped(self, lam: torch.Tensor) -> _Sym3:
        """Marquardt's scaling: the diagonal times (1 + λ)."""
        k = 1.0 + lam
        return _Sym3(self.m00 * k, self.m01, self.m02, self.m11 * k, self.m12, self.m22 * k)

    def solve(
        self, b0: torch.Tensor, b1: torch.Tensor, b2: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Cramer's rule with the cofactors of a symmetric matrix."""
        c00 = self.m11 * self.m22 - self.m12 * self.m12
        c01 = self.m02 * self.m12 - self.m01 * self.m22
        c02 = self.m01 * self.m12 - self.m02 * self.m11
        c11 = self.m00 * self.m22 - self.m02 * self.m02
        c12 = self.m01 * self.m02 - self.m00 * self.m12
        c22 = self.m00 * self.m11 - self.m01 * self.m01
        det = _safe(self.m00 * c00 + self.m01 * c01 + self.m02 * c02)
        x0 = (c00 * b0 + c01 * b1 + c02 * b2) / det
        x1 = (c01 * b0 + c11 * b1 + c12 * b2) / det
        x2 = (c02 * b0 + c12 * b1 + c22 * b2) / det
        return x0, x1, x2


# ----- magnitude inversion recovery (T1) -----------------------------------------------
def ir_model(ti: torch.Tensor) -> Model:
    def model(p: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        a, b, rate = p[:, 0:1], p[:, 1:2], p[:, 2:3]
        e = torch.exp(-ti[None, :] * rate)
        signed = a + b * e
        sign = torch.where(signed < 0, -1.0, 1.0).to(signed.dtype)
        jac = torch.stack((torch.ones_like(e), e, -b * ti[None, :] * e), dim=2)
        return signed.abs(), jac * sign[:, :, None]

    return model


def ir_start(ti: torch.Tensor, y: torch.Tensor, grid_size: int = 96) -> torch.Tensor:
    """Polarity restoration (points before the signal minimum are negative, trying the
    minimum itself on both sides) and, per candidate, a grid over R1 with a and b by
    linear least squares; the best of all becomes the LM start. Returns (V, 3)."""
    span = float(ti.max() - ti.min().clamp_min(1e-3))
    grid = torch.logspace(
        math.log10(0.1 / float(ti.max())),
        math.log10(10.0 / max(float(ti.min()), span / 100)),
        grid_size,
        dtype=y.dtype,
        device=y.device,
    )
    n = y.shape[1]
    idx = torch.arange(n, device=y.device)
    k = y.argmin(dim=1, keepdim=True)
    best_cost = torch.full((y.shape[0],), math.inf, dtype=y.dtype, device=y.device)
    best = torch.zeros((y.shape[0], 3), dtype=y.dtype, device=y.device)
    for shift in (0, 1):
        signed = torch.where(idx[None, :] < k + shift, -y, y)
        for rate in grid:
            e = torch.exp(-ti * rate)  # (N,)
            a, b, cost = _linear_ab(e, signed)
            take = cost < best_cost
            best_cost = torch.where(take, cost, best_cost)
            cand = torch.stack((a, b, torch.full_like(a, float(rate))), 1)
            best = torch.where(take[:, None], cand, best)
    return best


def _linear_ab(e: torch.Tensor, s: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Least squares of s = a + b·e for a fixed e (N,), all voxels; returns a, b, SSE."""
    n = e.numel()
    se, see = e.sum(), (e * e).sum()
    det = n * see - se * se
    sy, sey = s.sum(1), (s * e).sum(1)
    b = (n * sey - se * sy) / det
    a = (sy - b * se) / n
    cost = ((a[:, None] + b[:, None] * e[None, :] - s) ** 2).sum(1)
    return a, b, cost


def fit_inversion_recovery(ti_ms: torch.Tensor, y: torch.Tensor, iterations: int = 15) -> FitResult:
    """|a + b·exp(-TI·R1)| for every voxel; params (a, b, R1)."""
    model = ir_model(ti_ms)
    p0 = ir_start(ti_ms, y)
    lower = torch.tensor([-math.inf, -math.inf, 1e-7], dtype=y.dtype, device=y.device)
    return _result(model, y, levenberg_marquardt(model, y, p0, iterations, lower))


# ----- variable flip angle (T1, DESPOT1) -----------------------------------------------
def vfa_model(alpha_rad: torch.Tensor, tr_ms: float) -> Model:
    sin_a, cos_a = torch.sin(alpha_rad)[None, :], torch.cos(alpha_rad)[None, :]

    def model(p: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        m0, rate = p[:, 0:1], p[:, 1:2]
        e = torch.exp(-tr_ms * rate)
        den = 1.0 - e * cos_a
        f = m0 * sin_a * (1.0 - e) / den
        d_m0 = sin_a * (1.0 - e) / den
        d_e = m0 * sin_a * (cos_a - 1.0) / (den * den)
        jac = torch.stack((d_m0, d_e * (-tr_ms * e)), dim=2)
        return f, jac

    return model


def vfa_start(alpha_rad: torch.Tensor, tr_ms: float, y: torch.Tensor) -> torch.Tensor:
    """The linearised DESPOT1 fit: S/sin alpha = E·S/tan alpha + M0(1-E). Returns (V, 2)."""
    ys = y / torch.sin(alpha_rad)[None, :]
    xs = y / torch.tan(alpha_rad)[None, :]
    n = y.shape[1]
    sx, sy = xs.sum(1), ys.sum(1)
    sxx, sxy = (xs * xs).sum(1), (xs * ys).sum(1)
    slope = (n * sxy - sx * sy) / _safe(n * sxx - sx * sx)
    e = slope.clamp(1e-6, 1 - 1e-6)
    intercept = (sy - slope * sx) / n
    m0 = intercept / (1.0 - e)
    return torch.stack((m0, -torch.log(e) / tr_ms), 1)


def fit_vfa(
    alpha_deg: torch.Tensor, tr_ms: float, y: torch.Tensor, iterations: int = 12
) -> FitResult:
    """Spoiled gradient-echo signal for every voxel; params (M0, R1)."""
    alpha = torch.deg2rad(alpha_deg)
    model = vfa_model(alpha, tr_ms)
    p0 = vfa_start(alpha, tr_ms, y)
    lower = torch.tensor([-math.inf, 1e-7], dtype=y.dtype, device=y.device)
    return _result(model, y, levenberg_marquardt(model, y, p0, iterations, lower))


# ----- decay with a Rician noise floor (magnitude data at low SNR) ---------------------
_HALF_PI_SQRT = math.sqrt(math.pi / 2.0)


def rician_mean(s: torch.Tensor, sigma: float) -> tuple[torch.Tensor, torch.Tensor]:
    """E|s + n| for complex Gaussian noise of std `sigma` per channel, and its derivative
    in s: sigma*sqrt(pi/2)*L_1/2(-s^2/2sigma^2), written with the exponentially scaled
    Bessel functions so it never overflows: with z = s^2/(4 sigma^2),
    L_1/2(-2z) = (1+2z)*i0e(z) + 2z*i1e(z) and its z-derivative is i0e(z) + i1e(z)."""
    z = s * s / (4.0 * sigma * sigma)
    i0, i1 = torch.special.i0e(z), torch.special.i1e(z)
    mean = sigma * _HALF_PI_SQRT * ((1.0 + 2.0 * z) * i0 + 2.0 * z * i1)
    slope = sigma * _HALF_PI_SQRT * (i0 + i1) * s / (2.0 * sigma * sigma)
    return mean, slope


def rician_decay_model(t: torch.Tensor, sigma: float) -> Model:
    """Expected magnitude of A*exp(-t*R) under Rician noise: the noise floor is modelled,
    not absorbed by a constant offset (which biases T2 low when late echoes sit in it)."""

    def model(p: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        a, rate = p[:, 0:1], p[:, 1:2]
        e = torch.exp(-t[None, :] * rate)
        mean, slope = rician_mean(a * e, sigma)
        jac = torch.stack((slope * e, slope * (-a * t[None, :] * e)), dim=2)
        return mean, jac

    return model


def fit_decay_rician(
    t_ms: torch.Tensor, y: torch.Tensor, sigma: float, iterations: int = 15
) -> FitResult:
    """A*exp(-t/T) seen through Rician noise of known sigma; params (A, R, 0) so maps
    read like `fit_decay`'s. Starts from the offset model's fit."""
    start = fit_decay(t_ms, y, iterations=8).params[:, :2]
    start[:, 0] = start[:, 0].clamp_min(sigma)
    model = rician_decay_model(t_ms, sigma)
    lower = torch.tensor([0.0, 1e-6], dtype=y.dtype, device=y.device)
    p = levenberg_marquardt(model, y, start, iterations, lower)
    result = _result(model, y, p)
    result.params = torch.cat((p, torch.zeros_like(p[:, :1])), 1)
    return result


def background_sigma(first_image: torch.Tensor, fraction: float = 0.05) -> float | None:
    """The noise sigma from background voxels (below `fraction` of the 99th percentile),
    which are Rayleigh-distributed. The cut at T truncates that distribution, so the
    median m of what is kept satisfies exp(-m^2/2s^2) = (1 + exp(-T^2/2s^2)) / 2; a few
    fixed-point steps solve it for s (plain median/sqrt(2 ln 2) reads ~6% low at SNR 50).
    None when there are too few background voxels to tell."""
    flat = first_image.reshape(-1).float()
    if flat.numel() < 100:
        return None
    high = float(torch.quantile(flat[:: max(1, flat.numel() // 100_000)], 0.99))
    cut = fraction * high
    background = flat[flat < cut]
    if background.numel() < 50:
        return None
    median = float(background.median())
    sigma = median / math.sqrt(2.0 * math.log(2.0))
    for _ in range(20):
        kept = (1.0 + math.exp(-(cut**2) / (2.0 * sigma**2))) / 2.0
        sigma = median / math.sqrt(-2.0 * math.log(kept))
    return sigma


# ----- variable projection: LM on R alone, A and C solved exactly (the fast path) ------
def decay_varpro(
    t: torch.Tensor, y: torch.Tensor, rate0: torch.Tensor, iterations: int
) -> torch.Tensor:
    """Levenberg-Marquardt on R with A and C eliminated (variable projection, Golub &
    Pereyra): for a given R the best A, C solve a 2x2 system, so each iteration needs
    only the sums of e, e^2, y*e (and their t, t^2 moments) at one R. The step is the
    Gauss-Newton step of the full 3-parameter problem reduced to R (its Schur
    complement), damped per voxel. Same minimiser as `decay_lm`, about half the passes
    over the (V, N) data and no (V, N) state to keep. Returns (V, 3) = (A, R, C)."""
    chunk = DECAY_CHUNK if y.device.type == "cpu" else y.shape[0]
    if y.shape[0] > chunk:
        parts = [
            decay_varpro(t, y[i : i + chunk], rate0[i : i + chunk], iterations)
            for i in range(0, y.shape[0], chunk)
        ]
        return torch.cat(parts)
    powers = torch.stack((torch.ones_like(t), t, t * t), 1)
    sy, syy = y.sum(1), torch.linalg.vecdot(y, y)
    n = float(y.shape[1])
    rate = rate0.clamp_min(1e-6)
    moments = _moments(t, y, powers, rate)
    a, c, cost = _project(moments, sy, syy, n)
    lam = torch.full_like(rate, 1e-3)
    for _ in range(iterations):
        step = _reduced_step(moments, a, c, n, lam)
        trial = (rate + step).clamp_min(1e-6)
        trial_moments = _moments(t, y, powers, trial)
        ta, tc, trial_cost = _project(trial_moments, sy, syy, n)
        better = torch.isfinite(trial_cost) & (trial_cost < cost)
        rate, a, c = _pick(better, trial, rate), _pick(better, ta, a), _pick(better, tc, c)
        cost = _pick(better, trial_cost, cost)
        moments = _pick(better, trial_moments, moments)
        lam = lam * _pick(better, torch.full_like(lam, 0.1), torch.full_like(lam, 10.0))
        lam = lam.clamp_(1e-9, 1e9)
    return torch.stack((a, rate, c), 1)


def _moments(t: torch.Tensor, y: torch.Tensor, powers: torch.Tensor, rate: torch.Tensor):  # type: ignore[no-untyped-def]
    """(V, 7): sums of e^2, t e^2, t^2 e^2, e, t e, y e, t y e with e = exp(-t R).
    Matrix-vector products, one per moment: on CPU a (V, N) @ (N, 3) product of this
    shape costs ~9x one (V, N) @ (N,) product, not 3x."""
    ones, t2 = powers[:, 0], powers[:, 2]
    e = torch.outer(-rate, t).exp_()
    e2 = e * e
    ye = e * y
    columns = (e2 @ ones, e2 @ t, e2 @ t2, e @ ones, e @ t, ye @ ones, ye @ t)
    return torch.stack(columns, 1)


def _pick(better: torch.Tensor, new: torch.Tensor, old: torch.Tensor) -> torch.Tensor:
    """`where(better, new, old)` as an exact lerp (weight 0 or 1): ~10x cheaper than
    `torch.where` on CPU; non-finite trial values (always rejected) are zeroed first."""
    weight = better.to(old.dtype)
    if new.dim() > weight.dim():
        weight = weight[:, None]
    return torch.lerp(old, torch.nan_to_num(new, 0.0, 0.0, 0.0), weight)


def _project(moments: torch.Tensor, sy: torch.Tensor, syy: torch.Tensor, n: float):  # type: ignore[no-untyped-def]
    """The best A, C for the moments' R, and the residual sum of squares there."""
    see, se, sye = moments[:, 0], moments[:, 3], moments[:, 5]
    det = _safe(see * n - se * se)
    a = (sye * n - se * sy) / det
    c = (see * sy - se * sye) / det
    cost = (syy - a * sye - c * sy).clamp_min(0.0)
    return a, c, cost


def _reduced_step(moments, a, c, n, lam):  # type: ignore[no-untyped-def]
    """-g / (S (1 + lam)): g = dCost/dR / 2 at the projected A, C; S = the Schur
    complement of the (A, C) block in J^T J."""
    see, stee, sttee, se, ste, _sye, stye = moments.unbind(1)
    grad = -a * (a * stee + c * ste - stye)
    h_aa, h_ac, h_cc = see, se, torch.full_like(se, n)
    b_a, b_c = -a * stee, -a * ste
    det = _safe(h_aa * h_cc - h_ac * h_ac)
    # b^T M^-1 b for M = [[h_aa, h_ac], [h_ac, h_cc]]
    quad = (b_a * b_a * h_cc - 2.0 * b_a * b_c * h_ac + b_c * b_c * h_aa) / det
    schur = (a * a * sttee - quad).clamp_min(torch.finfo(see.dtype).tiny)
    return -grad / (schur * (1.0 + lam))
