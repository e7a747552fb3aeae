"""Checkers for notebook 02, *Sound of Pixels without pixels*.

Each checker prints ✔ or ✘ with what was expected and returns a bool; none of
them raises, whatever the learner passes (``None`` included), so the exercise
cells run as shipped.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import torch

from . import report

# Exercise 3: cost[i, j] = weighted BCE between output slot i and target j of one
# mixture with N = 3 sources. Picking the cheapest slot for each target greedily
# gives slot 0 twice; PIT must choose a whole permutation.
EXERCISE3_COSTS = ((0.1, 0.2, 0.9),
                   (0.3, 0.8, 0.7),
                   (0.6, 0.9, 0.5))


def unet_bottleneck(n_freq: int = 256, n_frames: int = 256, levels: int = 7) -> tuple[int, int]:
    """The (F, T) grid after `levels` stride-2 down blocks: each one halves both axes."""
    return n_freq // 2**levels, n_frames // 2**levels


def max_unet_levels(n_freq: int, n_frames: int) -> int:
    """The most levels a U-Net can have on an (F, T) grid: F and T must be divisible by 2**levels."""
    levels = 0
    while n_freq % 2 ** (levels + 1) == 0 and n_frames % 2 ** (levels + 1) == 0:
        levels += 1
    return levels


def exercise3_costs() -> torch.Tensor:
    """The (N, N) = (3, 3) cost matrix of exercise 3: rows are output slots i, columns targets j."""
    return torch.tensor(EXERCISE3_COSTS)


def pit_from_costs(costs: Any) -> tuple[tuple[int, ...], float]:
    """Best permutation and PIT loss for a cost matrix costs[i, j] (slot i vs target j).

    Returns (perm, loss) with perm[j] = the slot matched to target j (the convention of
    :func:`sgn_teach.losses.mask.pit_bce`) and loss = mean_j costs[perm[j], j].
    """
    c = torch.as_tensor(costs, dtype=torch.float64)
    n = c.shape[0]
    best = min(itertools.permutations(range(n)), key=lambda p: sum(float(c[p[j], j]) for j in range(n)))
    return best, sum(float(c[best[j], j]) for j in range(n)) / n


def _as_int(x: Any) -> int | None:
    if isinstance(x, bool):
        return None
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return int(v) if math.isfinite(v) and v == int(v) else None


def _as_float(x: Any) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _as_int_tuple(x: Any) -> tuple[int, ...] | None:
    try:
        values = tuple(x.tolist()) if isinstance(x, torch.Tensor) else tuple(x)
    except TypeError:
        return None
    ints = tuple(_as_int(v) for v in values)
    return None if any(v is None for v in ints) else ints


def check_unet_shapes(halvings: Any, bottleneck_grid: Any) -> bool:
    """Exercise 1a: halvings of the 256-bin axis by the paper's 7-level U-Net, and its bottleneck (F, T)."""
    right_f, right_t = unet_bottleneck()
    h = _as_int(halvings)
    if h is None:
        ok_h = report(False, "", "set halvings to a whole number: how many stride-2 down blocks does the "
                                 "signal pass on its way to the bottleneck?")
    else:
        ok_h = report(h == 7, "7: each of the 7 down blocks (Conv 4×4, stride 2) halves F and T once.",
                      f"{h} is not it; count the down blocks: down_0 … down_6, each halves the axis once.")
    grid = _as_int_tuple(bottleneck_grid)
    if grid is None or len(grid) != 2:
        ok_g = report(False, "", "set bottleneck_grid to a pair (F, T) of whole numbers, e.g. (64, 64).")
    else:
        ok_g = report(grid == (right_f, right_t),
                      f"{grid}: 256 / 2**7 = {right_f}, so the bottleneck is a {right_f}×{right_t} grid "
                      "(of 512 channels): a coarse summary of the whole clip.",
                      f"{grid} is not it; expected 256 / 2**7 on each axis = ({right_f}, {right_t}).")
    return ok_h and ok_g


def check_max_levels(max_levels: Any, n_freq: int = 128, n_frames: int = 128) -> bool:
    """Exercise 1b: the most levels a U-Net can have on the `small` preset's 128×128 grid."""
    right = max_unet_levels(n_freq, n_frames)
    v = _as_int(max_levels)
    if v is None:
        return report(False, "", f"set max_levels to a whole number: how often can {n_freq}×{n_frames} be "
                                 "halved and stay whole? (UNet.check_grid needs F and T divisible by 2**levels)")
    return report(v == right,
                  f"{v}: {n_freq} = 2**{right}, so {right} levels leave a 1×1 bottleneck; an 8th "
                  "would need F divisible by 256.",
                  f"{v} is not it; expected {right}: F and T must be divisible by 2**levels, and "
                  f"{n_freq} = 2**{right}.")


def check_pit_count(n_perms: Any, n_pairwise: Any, n_sources: int = 3) -> bool:
    """Exercise 2: (a) permutations PIT tries for N sources; (b) pairwise BCEs `pit_bce` computes."""
    right_p, right_q = math.factorial(n_sources), n_sources**2
    p = _as_int(n_perms)
    if p is None:
        ok_p = report(False, "", f"set n_perms to a whole number: in how many ways can {n_sources} output "
                                 f"slots be matched to {n_sources} targets?")
    else:
        ok_p = report(p == right_p,
                      f"{p} = {n_sources}!: every ordering of the slots is one candidate assignment.",
                      f"{p} is not it; expected {n_sources}! = {right_p} (the first target can take any of "
                      f"{n_sources} slots, the next any of the {n_sources - 1} left, …).")
    q = _as_int(n_pairwise)
    if q is None:
        ok_q = report(False, "", "set n_pairwise to a whole number: how many (slot, target) pairs does "
                                 "pit_bce score before it combines them?")
    else:
        ok_q = report(q == right_q,
                      f"{q} = {n_sources}²: pit_bce scores each (slot i, target j) pair once and then "
                      "only adds numbers up for each permutation — the N! part is cheap.",
                      f"{q} is not it; expected {n_sources}² = {right_q}: one BCE map per (slot, target) "
                      "pair (read the `pairwise` line of sgn_teach.losses.mask.pit_bce).")
    return ok_p and ok_q


def check_pit_case(best_perm: Any, pit_value: Any) -> bool:
    """Exercise 3: the best permutation and the PIT loss of :data:`EXERCISE3_COSTS`."""
    right_perm, right_value = pit_from_costs(EXERCISE3_COSTS)
    n = len(EXERCISE3_COSTS)
    perm = _as_int_tuple(best_perm) if best_perm is not None else None
    if perm is None or sorted(perm) != list(range(n)):
        ok_p = report(False, "", f"set best_perm to a permutation of {tuple(range(n))}: best_perm[j] = the "
                                 "output slot matched to target j.")
    else:
        cost = sum(EXERCISE3_COSTS[perm[j]][j] for j in range(n))
        ok_p = report(perm == right_perm,
                      f"{perm}: slots (1, 0, 2) for targets (0, 1, 2) cost {cost:.1f} in total, the least of "
                      f"all {math.factorial(n)}. Greedy per target would give slot 0 to both targets 0 and 1.",
                      f"{perm} costs {cost:.1f} in total; another permutation costs less. Try all "
                      f"{math.factorial(n)} (itertools.permutations) and add costs[perm[j], j] over j.")
    v = _as_float(pit_value)
    if v is None:
        ok_v = report(False, "", "set pit_value to a number: the cost of the best permutation, averaged "
                                 "over the targets as sgn_teach.losses.mask.pit_bce does.")
    elif abs(v - right_value) < 1e-3:
        ok_v = report(True, f"{v:.4f}: the best total {right_value * n:.1f}, averaged over the {n} targets.", "")
    elif abs(v - right_value * n) < 1e-3:
        ok_v = report(False, "", f"{v:g} is the total; pit_bce averages over the {n} targets: divide by {n}.")
    else:
        ok_v = report(False, "", f"{v:g} is not it; expected mean_j costs[best_perm[j], j] = {right_value:.4f}.")
    return ok_p and ok_v
