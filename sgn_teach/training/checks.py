"""The checks the training loop makes before any work: settings in range, a checkpoint that fits.

Each failure is an :class:`~sgn_teach.core.errors.SGNError` whose message is the one
line the command line prints (``--steps 0``, ``--lr nan``, resuming a run that was
trained with another config).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..core.checks import require_finite_nonnegative, require_int, require_positive
from ..core.config import Config
from ..core.errors import CheckpointError

RESUME_FREE = ("steps", "num_workers", "log_every", "val_every", "val_mixtures", "ckpt_every", "compile",
               "channels_last")
"""Training settings that may differ when a run is resumed: they do not change what a step computes.
(More `steps` extends the run; with a cosine schedule the learning rate of the remaining steps changes.)"""


def check_train_config(cfg: Config) -> None:
    """ConfigError for training settings out of range (steps, batch size, N, learning rate, intervals, weights)."""
    t = cfg.train
    require_int("--steps", t.steps)
    require_int("--batch-size", t.batch_size)
    require_int("--n-sources", t.n_sources)
    for n in t.n_sources_mix:
        require_int("--n-sources-mix", n)
    require_positive("--lr", t.lr)
    require_int("--val-every", t.val_every)
    require_int("--val-mixtures", t.val_mixtures)
    require_int("ckpt_every", t.ckpt_every)
    require_int("--log-every", t.log_every)
    require_int("--warmup-steps", t.warmup_steps, minimum=0)
    require_int("--num-workers", t.num_workers, minimum=0)
    require_int("--depth", cfg.model.depth, minimum=0)
    for name, w in (("--w-rec", t.w_rec), ("--w-ce", t.w_ce), ("--w-presence", t.w_presence)):
        require_finite_nonnegative(name, w)


def config_differences(saved: dict[str, Any], now: dict[str, Any]) -> list[str]:
    """The settings (``section.field``) in which two configs (``Config.to_dict()`` form) differ,
    leaving out :data:`RESUME_FREE`."""
    diffs = []
    for section in sorted(set(saved) | set(now)):
        if section == "preset":
            continue
        a, b = saved.get(section), now.get(section)
        if isinstance(a, dict) and isinstance(b, dict):
            for key in sorted(set(a) | set(b)):
                if section == "train" and key in RESUME_FREE:
                    continue
                if _norm(a.get(key)) != _norm(b.get(key)):
                    diffs.append(f"{section}.{key}")
        elif _norm(a) != _norm(b):
            diffs.append(section)
    return diffs


def _norm(value: Any) -> Any:
    """JSON's view of a value: tuples and lists compare equal."""
    return json.loads(json.dumps(value))


def check_resumable(state: dict[str, Any], cfg: Config, path: Path) -> None:
    """CheckpointError unless `state` can be continued with `cfg`: the same model, loss and data
    config (up to :data:`RESUME_FREE`), a step ≤ ``cfg.train.steps``, and optimiser state to resume."""
    if "optimizer" not in state or "extra" not in state:
        raise CheckpointError(f"{path}: holds no optimiser state to resume from (is it a copy of model.pt?); "
                              "give a new --out")
    saved = Config.from_dict(json.loads(state["config"])).to_dict()  # older checkpoints: new fields at their defaults
    diffs = config_differences(saved, cfg.to_dict())
    if diffs:
        shown = ", ".join(diffs[:4]) + (" …" if len(diffs) > 4 else "")
        raise CheckpointError(f"{path}: was trained with another model config (another model or loss setting "
                              f"differs: {shown}); use a new --out to start over")
    if state["step"] > cfg.train.steps:
        raise CheckpointError(f"{path} is at step {state['step']}, past --steps {cfg.train.steps}: ask for "
                              f"at least {state['step']} steps to continue it, or give a new --out")


__all__ = ["RESUME_FREE", "check_resumable", "check_train_config", "config_differences"]
