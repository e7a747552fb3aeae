"""Training loop for every variant (sgn, sct, cag, baseline, sop) and preset.

Mix-and-separate: step s trains on mixtures s·B … s·B+B−1 of a seeded
:class:`~sgn_teach.data.MixDataset`, so the data a step sees depends only on
(seed, step) — that, with the saved optimiser and RNG state, is what makes
``resume=True`` continue an interrupted run to the *same* weights.

The step runs on the device: the host only cuts the source crops (and draws
their augmentation); the augmentation itself, the ÷N sum (the mixing), the STFT,
warp, targets, forward, loss and backward all happen on `device`. Precision
(``cfg.train.precision``): "auto" uses bf16 autocast where the hardware computes
bf16 natively (CUDA compute capability ≥ 8, CPUs with AMX / AVX512-BF16) and
float32 elsewhere — on a CPU without those units bf16 is emulated and slower.

The learning rate is a function of the step alone (`TrainConfig.lr_at`: constant,
or linear warm-up then cosine decay), set before every optimiser step.
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
from .data import MixDataset, SoloLibrary, finish_batch, mix_features
from .device import get_device, resolve_precision, seed_everything
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
    from .evaluate import evaluate

    report = evaluate({"model": model}, library, cfg.audio, n_sources=cfg.train.n_sources,
                      n_mixtures=cfg.train.val_mixtures, seed=12345, rows=(), device=device, progress=False)
    row = report["rows"]["model"]
    out = {"sdr": row["sdr"], "si_sdr": row["si_sdr"]}
    for head in ("presence", "token"):
        stats = report.get(head, {}).get("model")
        if stats:
            out.update({f"{head}_{k}": round(v, 4) for k, v in stats.items()})
    return out


def train(cfg: Config, data_root: str | os.PathLike, out_dir: str | os.PathLike, device: str = "auto",
          resume: bool = False, progress: bool = True, validate_during: bool = True,
          soundfonts: list[str] | None = None) -> dict[str, Any]:
    """Train a model; checkpoints and history go to `out_dir`.

    Args:
        cfg: the full config (see :func:`sgn_teach.config.get_preset`).
        data_root: a solo-clip library (its `train` split is mixed; `val` is validated on).
        soundfonts: train (and validate) on the clips of these SoundFonts only — e.g. two
            of three, to test on the third (leave-one-SoundFont-out).
        out_dir: run folder: checkpoint.pt (latest, resumable), model.pt (final weights),
            history.json and curves.png.
        resume: continue from out_dir/checkpoint.pt if it exists.

    Returns:
        The history: {"train": [{step, rec, ce, presence, total, seconds}], "val": [{step, sdr}], ...}.
    """
    out = Path(out_dir)
    dev = get_device(device)
    lib = SoloLibrary(data_root, split="train", soundfonts=soundfonts)  # checked before anything is written
    if len(lib.classes) != cfg.model.n_classes:
        cfg.model.n_classes = len(lib.classes)
    if cfg.model.variant == "sop":
        cfg.model.n_sources = cfg.train.n_sources
    if len(lib.by_class) < cfg.train.n_sources:
        raise DataError(f"{data_root}: the train split has clips of {len(lib.by_class)} classes; "
                        f"mixing N={cfg.train.n_sources} distinct classes needs at least that many")
    try:
        val_lib = SoloLibrary(data_root, split="val", classes=lib.classes, soundfonts=soundfonts) \
            if validate_during else None
    except DataError:
        val_lib = None  # a library too small to have a validation split: skip validation, say so in history
    generative = cfg.model.variant == "diffusion"  # notebook 07: its own objective, guided by a frozen SGN
    if generative:
        from .models.diffusion_separator import load_condition_weights, prepare_condition

        prepare_condition(cfg, lib.classes)  # checked before anything is written

    out.mkdir(parents=True, exist_ok=True)
    seed_everything(cfg.train.seed)
    model = build_model(cfg.model, cfg.audio, diffusion=cfg.diffusion).to(dev)
    if generative and not (resume and (out / CKPT_NAME).exists()):
        load_condition_weights(model)  # the trained SGN (a resumed run has it in its checkpoint)
    opt = make_optimizer(model, cfg)
    precision = resolve_precision(cfg.train.precision, dev)
    history: dict[str, Any] = {"train": [], "val": [], "config": cfg.to_dict(), "classes": lib.classes,
                               "device": str(dev), "precision": precision, "validation": val_lib is not None,
                               "data": {"root": str(data_root), "soundfonts": lib.soundfonts, "train_clips": len(lib)}}
    start_step, elapsed = 0, 0.0
    ckpt_path = out / CKPT_NAME
    if resume and ckpt_path.exists():
        state = read_checkpoint(ckpt_path)
        saved = json.loads(state["config"])
        if saved["model"] != cfg.to_dict()["model"] or saved.get("diffusion") != cfg.to_dict().get("diffusion"):
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
    ds = MixDataset(lib, cfg.audio, n_sources=t.n_sources, n_mixtures=t.steps * t.batch_size, seed=t.seed,
                    augment=cfg.augment, defer_augment=True)
    loader = torch.utils.data.DataLoader(ds, batch_size=t.batch_size, sampler=_StepSampler(start_step, t.steps, t.batch_size),
                                         num_workers=t.num_workers, drop_last=True,
                                         persistent_workers=t.num_workers > 0,
                                         # its own generator: starting the loader must not draw from the global
                                         # RNG, whose state a resumed run restores (the diffusion noise uses it)
                                         generator=torch.Generator().manual_seed(t.seed))
    frontend = SpectralFrontEnd(cfg.audio).to(dev)
    use_amp = precision == "bf16"
    loss_weights = (t.w_rec, t.w_ce, t.w_presence)

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
            class_idx = batch["class_idx"].to(dev, non_blocking=True)
            labels = batch["labels"].to(dev, non_blocking=True)
            with torch.no_grad():
                sources, mixture = finish_batch(batch, ds, dev)  # (B, N, L) ÷N, augmented on the device; (B, L)
                feats = mix_features(mixture, sources, frontend, mask=t.mask)
            if generative:  # the DDPM loss on every source (sgn_teach.models.diffusion_separator)
                with torch.autocast(device_type=dev.type, dtype=torch.bfloat16, enabled=use_amp):
                    loss, parts = model.training_loss(feats, class_idx)
            else:
                with torch.autocast(device_type=dev.type, dtype=torch.bfloat16, enabled=use_amp):
                    outputs = model(feats["log_mag"], classes=class_idx)  # only the N wanted masks are computed
                loss, parts = sgn_loss(outputs, feats["target"], feats["weight"], class_idx, labels,
                                       cfg.model.variant, weights=loss_weights)
            for group in opt.param_groups:
                group["lr"] = t.lr_at(step)
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
            history["train"].append({"step": step, **rec, "lr": round(t.lr_at(step - 1), 7),
                                     "mix_rms": round(float(mixture.pow(2).mean(-1).sqrt().median()), 4),
                                     "seconds": round(elapsed, 2)})
            bar.set_postfix({k: f"{v:.3f}" for k, v in rec.items()})
            bar.update(1)
            if val_lib is not None and (step % t.val_every == 0 or step == t.steps):
                scores = validate(model, val_lib, cfg, dev)
                history["val"].append({"step": step, **{k: round(v, 3) for k, v in scores.items()}})
                bar.write(f"step {step}: validation SDR {scores['sdr']:.2f} dB")
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
        rms = sorted(r["mix_rms"] for r in history["train"] if "mix_rms" in r)
        save_checkpoint(out / MODEL_NAME, model, cfg, lib.classes, step,
                        extra={"seconds": round(elapsed, 2), "device": str(dev), "data": str(data_root),
                               "precision": precision, "train_mix_rms": rms[len(rms) // 2] if rms else None,
                               "history": history})
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
