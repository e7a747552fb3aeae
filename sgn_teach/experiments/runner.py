"""What every experiment does with one configuration: train it (or find it trained), load it, score it.

The ablation grid (:mod:`.ablate`), notebook 08's table (:mod:`.text_table`) and the
playground (:mod:`.playground`) all get their models through :func:`trained_run`, so
they share one rule for reusing a finished run: a run folder
is reused only when the config it was trained with is the one asked for now (any
other budget, preset or setting is a clear error naming what differs, never a
silent reuse), and an interrupted run continues exactly where it stopped.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from ..core.config import Config
from ..core.errors import CheckpointError
from ..core.interrupt import TrainingInterrupted
from ..hub.checkpoint import read_checkpoint
from ..training import train
from ..training.checks import config_differences
from ..training.common import CKPT_NAME, MODEL_NAME
from ..training.recipes import Recipe


def stored_config_differences(run_dir: str | os.PathLike, cfg: Config, name: str = MODEL_NAME) -> list[str]:
    """How the config a run in `run_dir` was trained with (read from its `name`: the finished model.pt, or
    checkpoint.pt of an unfinished run) differs from `cfg` (empty: the same run), leaving out the settings the
    data decides (number of classes, the text embedding's width, …)."""
    state = read_checkpoint(Path(run_dir) / name)
    saved = Config.from_dict(json.loads(state["config"])).to_dict()
    wanted = cfg.to_dict()
    for section, key in (("model", "n_classes"), ("model", "n_sources"), ("model", "text_dim"),
                         ("diffusion", "sgn_model"), ("diffusion", "condition_checkpoint")):
        for d in (saved, wanted):
            if isinstance(d.get(section), dict):
                d[section].pop(key, None)
    diffs = config_differences(saved, wanted)
    if saved["train"]["steps"] != wanted["train"]["steps"]:
        diffs.insert(0, f"train.steps {saved['train']['steps']} → {wanted['train']['steps']}")
    return diffs


def _refuse_other_config(run_dir: Path, diffs: list[str]) -> None:
    """CheckpointError (one line) naming what differs, when `diffs` (stored_config_differences) is not empty."""
    if diffs:
        raise CheckpointError(f"{run_dir} was trained with another config ({', '.join(diffs[:4])}); give a "
                              "new --out, or delete that run to retrain it")


def trained_run(cfg: Config, data: str | os.PathLike, run_dir: str | os.PathLike, device: str = "auto",
                progress: bool = True, soundfonts: list[str] | None = None, recipe: Recipe | None = None,
                validate_during: bool = True) -> Path:
    """`run_dir`/model.pt trained with `cfg`: trained (or an interrupted run continued) if missing, reused if there.

    Stopped by Ctrl-C, it saves and raises TrainingInterrupted whose message says to run it again (no --resume).

    CheckpointError (one line) when `run_dir` holds a finished run of another config: a grid re-run with
    other --steps or --preset must not mix budgets.
    """
    run_dir = Path(run_dir)
    if (run_dir / MODEL_NAME).exists():
        _refuse_other_config(run_dir, stored_config_differences(run_dir, cfg))
        return run_dir / MODEL_NAME
    try:
        train(cfg, data, run_dir, device=device, resume=True, progress=progress, soundfonts=soundfonts, recipe=recipe,
              validate_during=validate_during)
    except TrainingInterrupted as exc:  # the run resumes by itself: say so, not "--resume"
        raise TrainingInterrupted(exc.step, exc.signum, exc.checkpoint,
                                  hint="run it again (the same command or cell) to continue from there") from None
    return run_dir / MODEL_NAME


def staged_run(cfgs: list[Config], data: str | os.PathLike, run_dir: str | os.PathLike, device: str = "auto",
               progress: bool = True, soundfonts: list[str] | None = None, validate_during: bool = True) -> Path:
    """`run_dir`/model.pt trained in stages: `cfgs` differ only in ``train.steps`` (increasing), and each stage
    resumes the run of the stage before with the larger budget — a warm restart of the cosine schedule at the point
    the longer schedule would have reached (how the shipped models were trained: ``SHIPPED_STAGES``).

    Stages the run has already passed (its checkpoint is at or past their steps) are skipped, so an interrupted
    run continues where it stopped, in whichever stage. CheckpointError (one line) when `run_dir` holds a run of
    another config or of more steps than the last stage.
    """
    run_dir = Path(run_dir)
    steps = [c.train.steps for c in cfgs]
    if not cfgs or steps != sorted(set(steps)):
        raise ValueError(f"stages need increasing step counts, got {steps}")
    for cfg in cfgs:
        ckpt = run_dir / CKPT_NAME
        if ckpt.exists():
            _refuse_other_config(run_dir, [d for d in stored_config_differences(run_dir, cfg, CKPT_NAME)
                                           if not d.startswith("train.steps")])   # a stage differs in its steps
            step = int(read_checkpoint(ckpt)["step"])
            if step > steps[-1]:
                raise CheckpointError(f"{run_dir} holds a run of {step} steps, more than the last stage's "
                                      f"{steps[-1]}; give a new --out")
            if step >= cfg.train.steps and (run_dir / MODEL_NAME).exists():
                continue  # this stage is done
        try:
            train(cfg, data, run_dir, device=device, resume=True, progress=progress, soundfonts=soundfonts,
                  validate_during=validate_during)
        except TrainingInterrupted as exc:  # the run resumes by itself: say so, not "--resume"
            raise TrainingInterrupted(exc.step, exc.signum, exc.checkpoint,
                                      hint="run it again (the same command or cell) to continue from there") from None
    return run_dir / MODEL_NAME


def clear_stale_run(run_dir: str | os.PathLike, cfg: Config) -> list[str]:
    """Delete `run_dir` when the run in it (finished or not) was trained with another config than `cfg`.

    For the scratch runs a notebook makes for itself: after the package's defaults change (a loss weight, say),
    running the notebook again must retrain, not stop on "trained with another config". Returns what differed
    (empty: nothing was deleted). Never use it on a run someone may want to keep: :func:`trained_run` refuses instead.
    """
    run_dir = Path(run_dir)
    for name in (MODEL_NAME, CKPT_NAME):
        if (run_dir / name).exists():
            diffs = stored_config_differences(run_dir, cfg, name)
            if diffs:
                shutil.rmtree(run_dir)
            return diffs
    return []


__all__ = ["clear_stale_run", "stored_config_differences", "trained_run"]
