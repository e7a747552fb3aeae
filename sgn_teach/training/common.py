"""What every training loop of the package shares (:mod:`.train` and :mod:`.text`).

The run folder's file names, the step sampler that makes a run resumable
(step s always sees mixtures s·B … s·B+B−1), the optimiser of a config, and the
validation scores recorded during training.
"""

from __future__ import annotations

import torch

from ..core.config import Config
from ..core.distributed import shard_indices
from ..data import SoloLibrary

CKPT_NAME = "checkpoint.pt"   # latest state, with optimiser: what --resume reads
MODEL_NAME = "model.pt"       # final weights only: what gets shipped
PART_NAMES = ("rec", "ce", "presence", "total")  # the loss parts of sgn_loss, in history's order


class StepSampler(torch.utils.data.Sampler):
    """The mixtures of steps start, start+1, … in order: s·B … s·B+B−1 for step s.

    What makes a run resumable: the data a step sees depends only on (seed, step).

    With `world_size` K > 1, only rank `rank`'s contiguous B/K share of each step
    (:func:`sgn_teach.core.distributed.shard_indices`).
    """

    def __init__(self, start_step: int, steps: int, batch_size: int, rank: int = 0, world_size: int = 1) -> None:
        self.start_step, self.steps, self.batch_size = start_step, steps, batch_size
        self.rank, self.world_size = rank, world_size

    def __iter__(self):
        for step in range(self.start_step, self.steps):
            yield from shard_indices(step, self.batch_size, self.rank, self.world_size)

    def __len__(self) -> int:
        return (self.steps - self.start_step) * (self.batch_size // self.world_size)


def make_optimizer(model: torch.nn.Module, cfg: Config) -> torch.optim.Optimizer:
    """SGD with momentum 0.9 (the paper) or Adam (our `small`/`tiny` default: it converges in far fewer steps)."""
    t = cfg.train
    if t.optimizer == "sgd":
        return torch.optim.SGD(model.parameters(), lr=t.lr, momentum=t.momentum, weight_decay=t.weight_decay)
    if t.optimizer == "adam":
        return torch.optim.Adam(model.parameters(), lr=t.lr)
    if t.optimizer == "adamw":
        return torch.optim.AdamW(model.parameters(), lr=t.lr, weight_decay=t.weight_decay)
    raise ValueError(f"optimizer must be 'sgd', 'adam' or 'adamw', not {t.optimizer!r}")


@torch.no_grad()
def validate(model: torch.nn.Module, library: SoloLibrary, cfg: Config, device: torch.device) -> dict[str, float]:
    """Scores on `cfg.train.val_mixtures` fixed validation mixtures (seed 12345).

    Returns {"sdr", "si_sdr"} (mean dB) and, for models that have them, the
    presence head's and the class tokens' precision / recall / F1 (keys
    `presence_precision`, …, `token_f1`) — the curves of the paper's Figure 4.
    """
    from ..evaluation.evaluate import evaluate

    report = evaluate({"model": model}, library, cfg.audio, n_sources=cfg.train.n_sources,
                      n_mixtures=cfg.train.val_mixtures, seed=12345, rows=(), device=device, progress=False)
    row = report["rows"]["model"]
    out = {"sdr": row["sdr"], "si_sdr": row["si_sdr"]}
    for head in ("presence", "token"):
        stats = report.get(head, {}).get("model")
        if stats:
            out.update({f"{head}_{k}": round(v, 4) for k, v in stats.items()})
    return out


__all__ = ["CKPT_NAME", "MODEL_NAME", "PART_NAMES", "StepSampler", "make_optimizer", "validate"]
