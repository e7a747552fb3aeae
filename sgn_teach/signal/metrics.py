"""Separation metrics: SDR / SIR / SAR (BSS Eval v3, as in SoP and SGN) and SI-SDR.

`bss_eval` computes BSS Eval sources with either backend:

* ``"mir_eval"`` — :func:`mir_eval.separation.bss_eval_sources`, the reference
  implementation the papers report (≈0.3 s per 2-source 6-s clip);
* ``"fast"`` — :mod:`fast_bss_eval`, the same decomposition solved faster
  (≈8× here). `tests/test_pipeline.py` cross-checks the two on real mixtures.
  Its linear solves run on one thread (:func:`torch_threads`): with PyTorch's
  default two threads, oneMKL's batched solve failed and then hung on this CPU.

Class-conditioned models are evaluated *without* permutation (the estimate for
class i is compared with the reference of class i), as in the paper. Models
with unordered outputs (`sop`) are paired with the references by the
permutation of highest mean SIR, BSS Eval's own rule (mir_eval's
``compute_permutation``); when an estimate is silent, SIR is undefined and the
pairing maximises mean SI-SDR instead.

A silent estimate of a sounding reference (a class the presence head missed,
a mask that closed everywhere) scores :data:`MISSED_DB` in *every* metric (SDR,
SIR, SAR, SI-SDR) and is counted in the means — below the ≈0 dB SDR/SIR of
returning the mixture itself — so missing a source cannot raise a mean by
leaving a hard source out. The other estimates of that mixture are still scored
against *all* its references: BSS Eval's interference term is the projection on
the other references, so scoring a source against its own reference alone would
call the missed partner's leakage "artifacts" and report a flattering SIR.
A silent *reference* makes every metric undefined: it is counted in
``n_silent_ref`` and left out.
"""

from __future__ import annotations

import itertools
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

import numpy as np
import torch

SILENT_ENERGY = 1e-10  # a source with Σx² below this is "silent"
MISSED_DB = -10.0      # SDR and SI-SDR given to a silent estimate of a sounding reference


@contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run the block with `n` torch threads, then restore the previous number."""
    old = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def _fast_bss(ref: np.ndarray, est: np.ndarray, compute_permutation: bool = False):
    """fast_bss_eval's torch backend in float64, on one thread. (…, N, L) → sdr, sir, sar[, perm] arrays."""
    import fast_bss_eval

    # fast_bss_eval's NumPy path breaks under NumPy 2 (np.linalg.solve broadcasting); its torch path is fine
    with torch_threads(1):
        out = fast_bss_eval.bss_eval_sources(torch.from_numpy(ref), torch.from_numpy(est),
                                             compute_permutation=compute_permutation)
    return tuple(v.numpy() for v in out)


def si_sdr(estimate: np.ndarray | torch.Tensor, reference: np.ndarray | torch.Tensor, eps: float = 1e-8):
    """Scale-invariant SDR in dB along the last axis: (..., L), (..., L) → (...).

    SI-SDR = 10 log10(‖α s‖² / ‖α s − ŝ‖²) with α = ⟨ŝ, s⟩ / ‖s‖² (Le Roux et al. 2019).
    Works on NumPy arrays and torch tensors.
    """
    is_np = isinstance(estimate, np.ndarray)
    est = torch.as_tensor(estimate, dtype=torch.float64)
    ref = torch.as_tensor(reference, dtype=torch.float64)
    est = est - est.mean(-1, keepdim=True)
    ref = ref - ref.mean(-1, keepdim=True)
    alpha = (est * ref).sum(-1, keepdim=True) / (ref.pow(2).sum(-1, keepdim=True) + eps)
    target = alpha * ref
    noise = target - est
    val = 10 * torch.log10((target.pow(2).sum(-1) + eps) / (noise.pow(2).sum(-1) + eps))
    return val.numpy() if is_np else val


@dataclass
class SourceScores:
    """BSS Eval scores of one mixture: arrays of shape (N,), NaN where undefined."""

    sdr: np.ndarray
    sir: np.ndarray
    sar: np.ndarray
    si_sdr: np.ndarray
    silent_ref: np.ndarray  # (N,) bool
    silent_est: np.ndarray  # (N,) bool


def bss_eval(reference: np.ndarray, estimate: np.ndarray, backend: str = "fast",
             compute_permutation: bool = False) -> SourceScores:
    """SDR/SIR/SAR and SI-SDR of one mixture's sources.

    Args:
        reference: (N, L) true sources (÷N, as mixed).
        estimate: (N, L) estimates, in the same class order (no permutation).
        backend: "fast" (fast_bss_eval) or "mir_eval".
        compute_permutation: let BSS Eval pick the best pairing (for `sop`,
            whose outputs are unordered).

    Returns:
        :class:`SourceScores`; a source whose reference is silent is NaN in every
        metric, one whose estimate alone is silent (missed) scores MISSED_DB in
        every metric; both are flagged.
    """
    reference = np.asarray(reference, dtype=np.float64)
    estimate = np.asarray(estimate, dtype=np.float64)
    if reference.shape != estimate.shape or reference.ndim != 2:
        raise ValueError(f"reference and estimate must both be (N, L); got {reference.shape} and {estimate.shape}")
    if backend not in ("fast", "mir_eval"):
        raise ValueError(f"backend must be 'fast' or 'mir_eval', not {backend!r}")
    n = reference.shape[0]
    silent_ref = (reference**2).sum(-1) < SILENT_ENERGY
    if compute_permutation:
        estimate = estimate[best_permutation(reference, estimate, backend)]
    silent_est = (estimate**2).sum(-1) < SILENT_ENERGY
    ok = ~silent_ref  # every sounding reference takes part in the decomposition, even if its estimate is silent
    scored = ok & ~silent_est
    sdr = np.full(n, np.nan)
    sir = np.full(n, np.nan)
    sar = np.full(n, np.nan)
    if scored.any():
        ref_ok, est_ok = reference[ok], estimate[ok].copy()
        # BSS Eval (and mir_eval's checks) need every estimate to sound; a silent one gets a faint placeholder.
        # Each estimate's decomposition depends only on itself and the references, so the placeholder changes
        # no other score, and its own scores are replaced by the floor below.
        quiet = silent_est[ok]
        if quiet.any():
            est_ok[quiet] = 1e-3 * np.random.default_rng(0).standard_normal((int(quiet.sum()), est_ok.shape[1]))
        if backend == "mir_eval":
            import mir_eval.separation

            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)
                warnings.simplefilter("ignore", DeprecationWarning)
                s, i, a, _ = mir_eval.separation.bss_eval_sources(ref_ok, est_ok, compute_permutation=False)
        else:
            s, i, a = _fast_bss(ref_ok, est_ok)
        sdr[ok], sir[ok], sar[ok] = s, i, a
    si = np.asarray(si_sdr(estimate, reference), dtype=np.float64)
    missed = silent_est & ~silent_ref
    sdr[missed] = sir[missed] = sar[missed] = si[missed] = MISSED_DB
    si[silent_ref] = np.nan
    return SourceScores(sdr=sdr, sir=sir, sar=sar, si_sdr=si, silent_ref=silent_ref, silent_est=silent_est)


def best_permutation(reference: np.ndarray, estimate: np.ndarray, backend: str = "fast") -> np.ndarray:
    """Index array p such that estimate[p] pairs best with reference: (N, L), (N, L) → (N,).

    The rule is BSS Eval's: the permutation with the highest mean SIR. If any
    estimate or reference is silent, SIR is undefined for it, so the permutation
    with the highest mean SI-SDR (each silent pair counting :data:`MISSED_DB`) is taken.
    """
    n = reference.shape[0]
    silent = ((reference**2).sum(-1) < SILENT_ENERGY) | ((estimate**2).sum(-1) < SILENT_ENERGY)
    if not silent.any():
        if backend == "mir_eval":
            import mir_eval.separation

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                *_, perm = mir_eval.separation.bss_eval_sources(reference, estimate, compute_permutation=True)
            # mir_eval's perm[j] is the estimate paired with reference j
            return np.asarray(perm)
        *_, perm = _fast_bss(reference, estimate, compute_permutation=True)
        return np.asarray(perm)  # fast_bss_eval's perm[j] is the estimate paired with reference j
    # pairwise SI-SDR: score[i, j] = SI-SDR of estimate j against reference i, −10 dB for a silent estimate
    e_silent = (estimate**2).sum(-1) < SILENT_ENERGY
    score = np.array([[MISSED_DB if e_silent[j] else float(si_sdr(estimate[j], reference[i])) for j in range(n)]
                      for i in range(n)])
    perms = list(itertools.permutations(range(n)))
    best = max(perms, key=lambda p: sum(score[i, p[i]] for i in range(n)))
    return np.asarray(best)


def best_slots(reference: np.ndarray, estimate: np.ndarray) -> np.ndarray:
    """The N of S ≥ N output slots that pair best with N references: (N, L), (S, L) → (N,) slot indices.

    For a model with more output slots than the mixture has sources (SoP with 3 slots on a 2-source
    mixture): every injective assignment of references to slots is tried and the one with the highest
    summed SI-SDR (a silent slot counting :data:`MISSED_DB`) is kept.
    """
    n, s = reference.shape[0], estimate.shape[0]
    e_silent = (estimate**2).sum(-1) < SILENT_ENERGY
    score = np.array([[MISSED_DB if e_silent[j] else float(si_sdr(estimate[j], reference[i])) for j in range(s)]
                      for i in range(n)])  # (N, S): SI-SDR of slot j against reference i
    best = max(itertools.permutations(range(s), n), key=lambda p: sum(score[i, p[i]] for i in range(n)))
    return np.asarray(best)


def summarize(values: list[float] | np.ndarray) -> dict[str, float]:
    """Mean and median of the finite values, and how many there were."""
    arr = np.asarray(values, dtype=np.float64)
    arr = arr[np.isfinite(arr)]
    if arr.size == 0:
        return {"mean": float("nan"), "median": float("nan"), "n": 0}
    return {"mean": float(arr.mean()), "median": float(np.median(arr)), "n": int(arr.size)}


def bss_eval_batch(reference: np.ndarray, estimate: np.ndarray, backend: str = "fast",
                   compute_permutation: bool = False) -> list[SourceScores]:
    """:func:`bss_eval` over a batch of mixtures: (B, N, L), (B, N, L) → B scores.

    With the fast backend, mixtures without silent sources go through one
    batched float64 call (float32 drifts by up to ~2 dB SIR, so we keep float64).
    """
    reference = np.asarray(reference, dtype=np.float64)
    estimate = np.asarray(estimate, dtype=np.float64)
    if backend != "fast" or compute_permutation:
        return [bss_eval(r, e, backend, compute_permutation) for r, e in zip(reference, estimate)]
    silent_ref = (reference**2).sum(-1) < SILENT_ENERGY   # (B, N)
    silent_est = (estimate**2).sum(-1) < SILENT_ENERGY
    clean = ~(silent_ref | silent_est).any(-1)            # (B,) mixtures that can go in one call
    out: list[SourceScores | None] = [None] * len(reference)
    if clean.any():
        s, i, a = _fast_bss(reference[clean], estimate[clean])
        si = np.asarray(si_sdr(estimate[clean], reference[clean]))
        for k, b in enumerate(np.flatnonzero(clean)):
            out[b] = SourceScores(s[k], i[k], a[k], si[k], silent_ref[b], silent_est[b])
    for b in np.flatnonzero(~clean):
        out[b] = bss_eval(reference[b], estimate[b], backend)
    return out  # type: ignore[return-value]
