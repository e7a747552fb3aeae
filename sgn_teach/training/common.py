"""The run folder's file names, the step sampler that makes a run resumable (step s always
sees items s·B … s·B+B−1), and the optimiser of a config: the pieces of the one loop
(:mod:`.loop`) that other code (benchmarks, tests) uses too.
"""

from __future__ import annotations

import torch

from ..core.config import Config
from ..core.distributed import shard_indices

CKPT_NAME = "checkpoint.pt"   # latest state, with optimiser: what --resume reads
MODEL_NAME = "model.pt"       # final weights only: what gets shipped


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


__all__ = ["CKPT_NAME", "MODEL_NAME", "StepSampler", "make_optimizer"]
