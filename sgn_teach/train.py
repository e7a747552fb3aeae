"""Training loop for every variant (sgn, sct, cag, baseline, sop) and preset.

Mix-and-separate: step s trains on mixtures s·B … s·B+B−1 of a seeded
:class:`~sgn_teach.data.MixDataset`, so the data a step sees depends only on
(seed, step) — that, with the saved optimiser and RNG state, is what makes
``resume=True`` continue an interrupted run to the *same* weights.

The step runs on the device: the host only cuts the ÷N source crops; their sum (the mixing), the STFT,
warp, targets, forward, loss and backward all happen on `device`, with mixed
precision (bf16 autocast) on CUDA when ``cfg.train.amp`` is set.
"""

from __future__ import annotations

import json
import math
import os
import signal
import time
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from .atomic import write_json
from .checkpoint import read_checkpoint, save_checkpoint
from .config import Config
from .data import MixDataset, SoloLibrary, mix_features
from .device import get_device, seed_everything
from .errors import CheckpointError, DataError
from .losses import sgn_loss
from .models import build_model
from .spectral import SpectralFrontEnd

CKPT_NAME = "checkpoint.pt"   # latest state, with optimiser: what --resume reads
MODEL_NAME = "model.pt"       # final weights only: what gets shipped


class _StepSampler(torch.utils.data.Sampler):
    """Indices start·B, start·B+1, …: the mixtures of steps start, start+1, … in order."""

    def __init__(self, start_step: int, steps: int, batch_size: int) -> None:
        self.start, self.stop = start_step * batch_size, steps * batch_size

    def __iter__(self):
        return iter(range(self.start, self.stop))

    def __len__(self) -> int:
        return self.stop - self.start


def make_optimizer(model: torch.nn.Module, cfg: Config) -> torch.optim.Optimizer:
    """SGD with momentum 0.9 (the paper) or Adam (our `small`/`tiny` default: it converges in far fewer steps)."""
    t = cfg.train
    if t.optimizer == "sgd":
        return torch.optim.SGD(model.parameters(), lr=t.lr, momentum=t.momentum, weight_decay=t.weight_decay)
    if t.optimizer == "adam":
        return torch.optim.Adam(model.parameters(), lr=t.lr)
    raise ValueError(f"optimizer must be 'sgd' or 'adam', not {t.optimizer!r}")


@torch.no_grad()
def validate(model: torch.nn.Module, library: SoloLibrary, cfg: Config, device: torch.device) -> float:
    """Mean SDR (dB) of the model on `cfg.train.val_mixtures` fixed validation mixtures."""
    from .evaluate import evaluate

    was_training = model.training
    model.eval()
    report = evaluate({"model": model}, library, cfg.audio, n_sources=cfg.train.n_sources,
                      n_mixtures=cfg.train.val_mixtures, seed=12345, rows=(), device=device, progress=False)
    model.train(was_training)
    return report["rows"]["model"]["sdr"]


def train(cfg: Config, data_root: str | os.PathLike, out_dir: str | os.PathLike, device: str = "auto",
          resume: bool = False, progress: bool = True, validate_during: bool = True) -> dict[str, Any]:
    """Train a model; checkpoints and history go to `out_dir`.

    Args:
        cfg: the full config (see :func:`sgn_teach.config.get_preset`).
        data_root: a solo-clip library (its `train` split is mixed; `val` is validated on).
        out_dir: run folder: checkpoint.pt (latest, resumable), model.pt (final weights),
            history.json and curves.png.
        resume: continue from out_dir/checkpoint.pt if it exists.

    Returns:
        The history: {"train": [{step, rec, ce, presence, total, seconds}], "val": [{step, sdr}], ...}.
    """
    out = Path(out_dir)
    dev = get_device(device)
    lib = SoloLibrary(data_root, split="train")  # checked before anything is written
    if len(lib.classes) != cfg.model.n_classes:
        cfg.model.n_classes = len(lib.classes)
    if cfg.model.variant == "sop":
        cfg.model.n_sources = cfg.train.n_sources
    if len(lib.by_class) < cfg.train.n_sources:
        raise DataError(f"{data_root}: the train split has clips of {len(lib.by_class)} classes; "
                        f"mixing N={cfg.train.n_sources} distinct classes needs at least that many")
    try:
        val_lib = SoloLibrary(data_root, split="val", classes=lib.classes) if validate_during else None
    except DataError:
        val_lib = None  # a library too small to have a validation split: skip validation, say so in history

    out.mkdir(parents=True, exist_ok=True)
    seed_everything(cfg.train.seed)
    model = build_model(cfg.model, cfg.audio).to(dev)
    opt = make_optimizer(model, cfg)
    history: dict[str, Any] = {"train": [], "val": [], "config": cfg.to_dict(), "classes": lib.classes,
                               "device": str(dev), "validation": val_lib is not None}
    start_step, elapsed = 0, 0.0
    ckpt_path = out / CKPT_NAME
    if resume and ckpt_path.exists():
        state = read_checkpoint(ckpt_path)
        if json.loads(state["config"])["model"] != cfg.to_dict()["model"]:
            raise CheckpointError(f"{ckpt_path}: was trained with another model config; use a new --out to start over")
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        extra = json.loads(state["extra"])
        history, elapsed = extra["history"], extra.get("seconds", 0.0)
        start_step = int(state["step"])
        if "rng_cpu" in state:
            torch.set_rng_state(state["rng_cpu"])
        if progress:
            print(f"resuming {ckpt_path} at step {start_step}/{cfg.train.steps}")

    t = cfg.train
    ds = MixDataset(lib, cfg.audio, n_sources=t.n_sources, n_mixtures=t.steps * t.batch_size, seed=t.seed)
    loader = torch.utils.data.DataLoader(ds, batch_size=t.batch_size, sampler=_StepSampler(start_step, t.steps, t.batch_size),
                                         num_workers=t.num_workers, drop_last=True,
                                         persistent_workers=t.num_workers > 0)
    frontend = SpectralFrontEnd(cfg.audio).to(dev)
    # bf16 autocast only where the GPU computes in bf16 natively (compute capability ≥ 8: A100, H100, RTX 30xx…)
    use_amp = t.amp and dev.type == "cuda" and torch.cuda.get_device_capability(dev)[0] >= 8

    def save(step: int) -> None:
        extra = {"history": history, "seconds": elapsed}
        # the RNG state goes with the weights so that a resumed run draws the same noise
        save_checkpoint(ckpt_path, model, cfg, lib.classes, step, optimizer=opt, extra=extra,
                        tensors={"rng_cpu": torch.get_rng_state()})
        write_json(out / "history.json", history)

    model.train()
    step = start_step
    bar = tqdm(total=t.steps, initial=start_step, desc=f"train {cfg.model.variant}", disable=not progress)
    interrupted = False
    old_handler = signal.getsignal(signal.SIGTERM)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        tick = time.time()
        for batch in loader:
            sources = batch["sources"].to(dev, non_blocking=True)  # (B, N, L) crops, already ÷N
            mixture = sources.sum(1)                                 # (B, L): the mixing itself happens on the device
            class_idx = batch["class_idx"].to(dev, non_blocking=True)
            labels = batch["labels"].to(dev, non_blocking=True)
            with torch.no_grad():
                feats = mix_features(mixture, sources, frontend, mask=t.mask)
            with torch.autocast(device_type=dev.type, dtype=torch.bfloat16, enabled=use_amp):
                outputs = model(feats["log_mag"])
            loss, parts = sgn_loss(outputs, feats["target"], feats["weight"], class_idx, labels, cfg.model.variant)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            now = time.time()
            elapsed += now - tick
            tick = now
            if not math.isfinite(loss.item()):
                raise RuntimeError(f"loss became {loss.item()} at step {step}: lower the learning rate")
            rec = {k: round(float(v), 5) for k, v in parts.items()}
            history["train"].append({"step": step, **rec, "seconds": round(elapsed, 2)})
            bar.set_postfix({k: f"{v:.3f}" for k, v in rec.items()})
            bar.update(1)
            if val_lib is not None and (step % t.val_every == 0 or step == t.steps):
                sdr = validate(model, val_lib, cfg, dev)
                history["val"].append({"step": step, "sdr": round(sdr, 3)})
                bar.write(f"step {step}: validation SDR {sdr:.2f} dB")
            if step % t.ckpt_every == 0 or step == t.steps:
                save(step)
            tick = time.time()  # validation and saving are not training time
    except KeyboardInterrupt:
        interrupted = True
        save(step)
        bar.write(f"interrupted at step {step}: saved {ckpt_path}; continue with --resume")
    finally:
        bar.close()
        signal.signal(signal.SIGTERM, old_handler)
    history["interrupted"] = interrupted
    history["seconds"] = round(elapsed, 2)
    if not interrupted:
        save_checkpoint(out / MODEL_NAME, model, cfg, lib.classes, step,
                        extra={"seconds": round(elapsed, 2), "device": str(dev), "data": str(data_root)})
        write_json(out / "history.json", history)
        try:
            from .viz import plot_history

            fig = plot_history(history)
            fig.savefig(out / "curves.png", dpi=100, bbox_inches="tight")
            import matplotlib.pyplot as plt

            plt.close(fig)  # a file, not a stray figure in the caller's notebook
        except Exception as exc:  # a figure must never fail a finished training run
            print(f"(could not draw curves.png: {exc})")
    return history
