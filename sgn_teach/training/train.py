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

Several processes (``torchrun --nproc_per_node K -m sgn_teach train …``) train
with DistributedDataParallel: rank r takes a contiguous share of each step's
mixtures and the result equals one process with the same global batch (see
:mod:`sgn_teach.core.distributed`). The loss parts stay on the device and are read
back every ``log_every`` steps; `history` still has one row per step.
"""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from ..core import distributed
from ..core.atomic import atomic_path, write_json
from ..core.config import Config
from ..core.device import resolve_precision, seed_everything
from ..core.errors import CheckpointError, DataError, SGNError
from ..core.interrupt import GracefulStop, TrainingInterrupted, ignore_stop_signals
from ..core.speed import channels_last_input, loader_options, maybe_compile, to_channels_last
from ..data import MixDataset, SoloLibrary, finish_batch, mix_features
from ..data.mixing import VariableCountMixDataset
from ..hub.build import build_model
from ..hub.checkpoint import read_checkpoint, save_checkpoint
from ..losses.mask import sgn_loss
from ..signal.spectral import SpectralFrontEnd
from .common import CKPT_NAME, MODEL_NAME, PART_NAMES, StepSampler, make_optimizer, validate


def train(cfg: Config, data_root: str | os.PathLike, out_dir: str | os.PathLike, device: str = "auto",
          resume: bool = False, progress: bool = True, validate_during: bool = True,
          soundfonts: list[str] | None = None) -> dict[str, Any]:
    """Train a model; checkpoints and history go to `out_dir`.

    Args:
        cfg: the full config (see :func:`sgn_teach.core.config.get_preset`).
        data_root: a solo-clip library (its `train` split is mixed; `val` is validated on).
        soundfonts: train (and validate) on the clips of these SoundFonts only — e.g. two
            of three, to test on the third (leave-one-SoundFont-out).
        out_dir: run folder: checkpoint.pt (latest, resumable), model.pt (final weights),
            history.json and curves.png.
        device: "auto", "cpu", "cuda" or "mps"; under torchrun each rank takes its LOCAL_RANK's GPU.
        resume: continue from out_dir/checkpoint.pt if it exists.

    Returns:
        The history: {"train": [{step, rec, ce, presence, total, seconds}], "val": [{step, sdr}], ...}.

    Raises:
        SGNError subclasses, before anything is written, for settings out of range,
        a library that cannot be used (a clip that does not decode, a val split
        with fewer than N classes), an `out_dir` that cannot be written, holds a
        finished run (without `resume`), is in use by another training, or whose
        checkpoint is past `cfg.train.steps`.
        TrainingInterrupted (a KeyboardInterrupt) after SIGINT/SIGTERM: the loop
        stopped at a step boundary and saved a checkpoint from which `resume=True`
        continues to exactly the weights of an uninterrupted run.
    """
    if cfg.model.variant == "text":  # the text-conditioned separator trains from captions (notebook 08)
        from .text import train_text

        return train_text(cfg, data_root, out_dir, device=device, resume=resume, progress=progress,
                          validate_during=validate_during, soundfonts=soundfonts)
    out = Path(out_dir)
    check_train_config(cfg)
    ctx = distributed.setup(device)  # one process: rank 0 of 1, nothing else happens
    try:
        return _prepare(cfg, data_root, out, ctx, resume, progress and ctx.is_main, validate_during, soundfonts)
    finally:
        distributed.teardown(ctx)


def _prepare(cfg: Config, data_root: str | os.PathLike, out: Path, ctx: distributed.DistContext, resume: bool,
             progress: bool, validate_during: bool, soundfonts: list[str] | None) -> dict[str, Any]:
    """Every check of :func:`train` before anything is written, then the locked run folder and the loop."""
    from ..core.checks import check_writable_dir
    from ..data.checks import check_clips
    from .rundir import RunLock, existing_run

    main = ctx.is_main
    distributed.check_batch(cfg.train.batch_size, ctx)
    lib = SoloLibrary(data_root, split="train", soundfonts=soundfonts)  # checked before anything is written
    if len(lib.classes) != cfg.model.n_classes:
        cfg.model.n_classes = len(lib.classes)
    if cfg.model.variant == "sop":
        cfg.model.n_sources = cfg.train.n_sources
    if cfg.train.n_sources_mix and cfg.model.variant == "sop":
        raise DataError("a mix of source counts (n_sources_mix) needs a class-conditioned model: "
                        "SoP has a fixed number of output slots")
    if len(lib.by_class) < max((cfg.train.n_sources, *cfg.train.n_sources_mix)):
        raise DataError(f"{data_root}: the train split has clips of {len(lib.by_class)} classes; "
                        f"mixing N={cfg.train.n_sources} distinct classes needs at least that many")
    try:
        val_lib = SoloLibrary(data_root, split="val", classes=lib.classes, soundfonts=soundfonts) \
            if validate_during else None
    except DataError:
        val_lib = None  # a library too small to have a validation split: skip validation, say so in history
    if val_lib is not None and len(val_lib.by_class) < cfg.train.n_sources:
        raise DataError(f"{data_root}: the val split has clips of {len(val_lib.by_class)} classes; validating on "
                        f"mixtures of N={cfg.train.n_sources} distinct classes needs at least that many "
                        "(add clips, or train without validation: --no-val)")
    if cfg.model.variant == "diffusion":  # notebook 07: guided by a frozen SGN, whose checkpoint is checked now
        from ..hub.diffusion import prepare_condition

        prepare_condition(cfg, lib.classes)
    check_writable_dir(out)
    done = existing_run(out)
    if done and not resume:
        raise SGNError(f"{out} already holds a training run ({', '.join(done)}); continue it with --resume "
                       "(resume=True), or give a new --out")
    if resume and done == ["model.pt"]:
        raise SGNError(f"{out} holds model.pt but no checkpoint.pt to resume from; give a new --out")
    state = read_checkpoint(out / CKPT_NAME) if resume and "checkpoint.pt" in done else None
    if state is not None:
        _check_resumable(state, cfg, out / CKPT_NAME)
    clips = [c.path for c in lib.clips] + ([c.path for c in val_lib.clips] if val_lib is not None else [])
    check_clips(clips, "train/val", progress=progress and len(clips) > 200)  # a bad clip fails now, not at step 900

    created = not out.exists()
    if main:
        out.mkdir(parents=True, exist_ok=True)
    distributed.barrier(ctx)  # the folder exists for every rank
    try:
        with RunLock(out, enabled=main) as lock:
            if lock.removed_tmp and progress:
                print(f"removed {len(lock.removed_tmp)} temp file(s) a killed save left in {out}")
            if state is not None and lock.took_over is not None:
                state = read_checkpoint(out / CKPT_NAME)  # a training that died may have saved since we looked
                _check_resumable(state, cfg, out / CKPT_NAME)
            return _train(cfg, lib, val_lib, data_root, out, ctx, state, progress)
    except BaseException:
        if created and main:
            try:
                out.rmdir()  # a run that failed before saving anything leaves no empty folder behind
            except OSError:
                pass  # not empty: it holds a checkpoint to resume from
        raise


def _check_resumable(state: dict[str, Any], cfg: Config, path: Path) -> None:
    """CheckpointError unless `state` can be continued with `cfg` (same model config, step ≤ steps)."""
    saved = json.loads(state["config"])
    if saved.get("model") != cfg.to_dict()["model"] or saved.get("diffusion") != cfg.to_dict().get("diffusion"):
        raise CheckpointError(f"{path}: was trained with another model config; use a new --out to start over")
    if state["step"] > cfg.train.steps:
        raise CheckpointError(f"{path} is at step {state['step']}, past --steps {cfg.train.steps}: ask for "
                              f"at least {state['step']} steps to continue it, or give a new --out")
    if "optimizer" not in state or "extra" not in state:
        raise CheckpointError(f"{path}: holds no optimiser state to resume from; give a new --out")


def check_train_config(cfg: Config) -> None:
    """ConfigError for training settings out of range (steps, batch size, N, learning rate, intervals)."""
    from ..core.checks import require_int, require_positive

    t = cfg.train
    require_int("--steps", t.steps)
    require_int("--batch-size", t.batch_size)
    require_int("--n-sources", t.n_sources)
    require_positive("--lr", t.lr)
    require_int("--val-every", t.val_every)
    require_int("--val-mixtures", t.val_mixtures)
    require_int("ckpt_every", t.ckpt_every)
    require_int("--warmup-steps", t.warmup_steps, minimum=0)
    require_int("--num-workers", t.num_workers, minimum=0)
    require_int("--depth", cfg.model.depth, minimum=0)
    for name, w in (("--w-rec", t.w_rec), ("--w-ce", t.w_ce), ("--w-presence", t.w_presence)):
        if not (isinstance(w, (int, float)) and math.isfinite(w) and w >= 0):
            from ..core.errors import ConfigError

            raise ConfigError(f"{name} must be a finite number ≥ 0, not {w!r}")


def _train(cfg: Config, lib: SoloLibrary, val_lib: SoloLibrary | None, data_root, out: Path,
           ctx: distributed.DistContext, state: dict[str, Any] | None, progress: bool) -> dict[str, Any]:
    """The loop of :func:`train`, once every check has passed and the run folder is locked; `state`: to resume."""
    dev, main = ctx.device, ctx.is_main
    per_rank = cfg.train.batch_size // ctx.world_size
    seed_everything(cfg.train.seed)
    model = build_model(cfg.model, cfg.audio, diffusion=cfg.diffusion).to(dev)
    generative = getattr(model, "generative", False)  # diffusion: its own objective (`targets=` below)
    if generative and state is None:
        from ..hub.diffusion import load_condition_weights

        load_condition_weights(model)  # the trained SGN (a resumed run has it in its checkpoint)
    if cfg.train.channels_last:
        to_channels_last(model)
    # several processes: BatchNorm → synchronised BN (new modules: before the optimiser sees the parameters)
    # and DistributedDataParallel; one process: `model` itself. Both share `model`'s parameters.
    ddp_model = distributed.wrap_model(model, ctx)
    opt = make_optimizer(model, cfg)
    precision = resolve_precision(cfg.train.precision, dev)
    history: dict[str, Any] = {"train": [], "val": [], "config": cfg.to_dict(), "classes": lib.classes,
                               "device": str(dev), "precision": precision, "validation": val_lib is not None,
                               "world_size": ctx.world_size,
                               "data": {"root": str(data_root), "soundfonts": lib.soundfonts, "train_clips": len(lib)}}
    start_step, elapsed = 0, 0.0
    ckpt_path = out / CKPT_NAME
    rng_state = None
    if state is not None:
        start_step = int(state["step"])
        try:
            model.load_state_dict(state["model"])
            opt.load_state_dict(state["optimizer"])
            extra = json.loads(state["extra"])
            history, elapsed = extra["history"], extra.get("seconds", 0.0)
        except (KeyError, ValueError, RuntimeError, TypeError) as exc:
            raise CheckpointError(f"{ckpt_path}: cannot be resumed ({type(exc).__name__}: "
                                  f"{str(exc).splitlines()[0] if str(exc) else 'incomplete'}); give a new --out") from None
        history["world_size"] = ctx.world_size  # of the latest (resumed) segment
        rng_state = state.get("rng_cpu")
        if progress:
            print(f"resuming {ckpt_path} at step {start_step}/{cfg.train.steps}")

    t = cfg.train
    if t.n_sources_mix:  # N per step from (seed, step): every rank of a step draws the same N
        ds = VariableCountMixDataset(lib, cfg.audio, t.n_sources_mix, t.batch_size, t.steps * t.batch_size,
                                     seed=t.seed, augment=cfg.augment, defer_augment=True)
    else:
        ds = MixDataset(lib, cfg.audio, n_sources=t.n_sources, n_mixtures=t.steps * t.batch_size, seed=t.seed,
                        augment=cfg.augment, defer_augment=True)
    sampler = StepSampler(start_step, t.steps, t.batch_size, ctx.rank, ctx.world_size)
    loader = torch.utils.data.DataLoader(ds, batch_size=per_rank, sampler=sampler, drop_last=True,
                                         worker_init_fn=ignore_stop_signals, **loader_options(dev, t.num_workers))
    step_model = maybe_compile(ddp_model, t.compile, log=lambda msg: main and print(msg))
    frontend = SpectralFrontEnd(cfg.audio).to(dev)
    use_amp = precision == "bf16"
    loss_weights = (t.w_rec, t.w_ce, t.w_presence)

    def save(step: int) -> None:
        if not main:
            return  # rank 0 alone writes
        extra = {"history": history, "seconds": elapsed}
        # the RNG state goes with the weights so that a resumed run draws the same noise
        save_checkpoint(ckpt_path, model, cfg, lib.classes, step, optimizer=opt, extra=extra,
                        tensors={"rng_cpu": torch.get_rng_state()})
        write_json(out / "history.json", history)

    pending: list[tuple[int, torch.Tensor, torch.Tensor, float, float]] = []  # steps not yet read back

    def flush(collective: bool = True) -> None:
        """Read the pending steps' loss parts back from the device (one sync) into `history` and the bar.

        Parts are averaged over the ranks and the mixtures' RMS gathered from all
        of them, so the history equals that of one process with the same batch.
        """
        if not pending:
            return
        parts_k = torch.stack([p[1] for p in pending])  # k × (4,) → (k, 4): rec, ce, presence, total
        rms_k = torch.stack([p[2] for p in pending])    # k × (B/K,) → (k, B/K)
        if collective:
            parts_k = distributed.mean_over_ranks(parts_k, ctx)
            rms_k = distributed.cat_over_ranks(rms_k, ctx, dim=1)  # (k, B/K) per rank → (k, B)
        values, medians = parts_k.cpu().tolist(), rms_k.median(dim=1).values.cpu().tolist()
        for (s, _, _, lr, seconds), v, med in zip(pending, values, medians):
            if collective and not math.isfinite(v[3]):
                pending.clear()
                raise SGNError(f"the loss became {v[3]} at step {s} (not saved; the last checkpoint stays): "
                               "lower the learning rate")
            rec = {k: round(float(x), 5) for k, x in zip(PART_NAMES, v)}
            history["train"].append({"step": s, **rec, "lr": round(lr, 7), "mix_rms": round(med, 4),
                                     "seconds": round(seconds, 2)})
        bar.set_postfix({k: f"{x:.3f}" for k, x in zip(PART_NAMES, values[-1])})
        bar.update(len(pending))
        pending.clear()

    model.train()
    step = start_step
    bar = tqdm(total=t.steps, initial=start_step, desc=f"train {cfg.model.variant}", disable=not progress)
    # SIGINT/SIGTERM only set stop.requested: a step is never cut in half (see sgn_teach.core.interrupt)
    stop = GracefulStop()
    try:
        stop.__enter__()
        batches = iter(loader)  # draws its base seed from the global RNG ...
        if rng_state is not None:
            torch.set_rng_state(rng_state)  # ... so the saved generator state is restored after it
        tick = time.time()
        while step < t.steps and not stop.requested:  # the step boundary: the only place a signal is acted on
            batch = next(batches)
            class_idx = batch["class_idx"].to(dev, non_blocking=True)
            labels = batch["labels"].to(dev, non_blocking=True)
            with torch.no_grad():
                sources, mixture = finish_batch(batch, ds, dev)  # (B, N, L) ÷N, augmented on the device; (B, L)
                feats = mix_features(mixture, sources, frontend, mask=t.mask)
            log_mag = channels_last_input(feats["log_mag"]) if t.channels_last else feats["log_mag"]
            with torch.autocast(device_type=dev.type, dtype=torch.bfloat16, enabled=use_amp):
                if generative:  # the DDPM loss, through forward so that DDP sees it
                    outputs = step_model(log_mag, classes=class_idx, targets=feats)
                else:
                    outputs = step_model(log_mag, classes=class_idx)  # only the N wanted masks are computed
            if generative:
                loss, parts = outputs["loss"], outputs["parts"]
            else:
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
            # the parts stay on the device until flush(): no host-device sync in an ordinary step
            pending.append((step, torch.stack([parts[k] for k in PART_NAMES]),
                            mixture.detach().pow(2).mean(-1).sqrt(), t.lr_at(step - 1), elapsed))  # (4,), (B/K,)
            validating = val_lib is not None and (step % t.val_every == 0 or step == t.steps)
            saving = step % t.ckpt_every == 0 or step == t.steps
            if validating or saving or step % t.log_every == 0:
                flush()  # reading the parts back waits for the device's queued work: time it to this step
                now = time.time()
                elapsed += now - tick
                tick = now
                history["train"][-1]["seconds"] = round(elapsed, 2)
            if validating:
                if main:  # rank 0 validates; the others wait at the barrier
                    scores = validate(model, val_lib, cfg, dev)
                    history["val"].append({"step": step, **{k: round(v, 3) for k, v in scores.items()}})
                    bar.write(f"step {step}: validation SDR {scores['sdr']:.2f} dB")
                distributed.barrier(ctx)
            if saving:
                save(step)
            tick = time.time()  # validation and saving are not training time
        if stop.requested:
            flush(collective=False)  # the other ranks may be gone: rank 0 keeps its own shard's parts
            history["interrupted"] = True
            save(step)
            raise TrainingInterrupted(step, stop.requested, str(ckpt_path))
    finally:
        stop.__exit__(None, None, None)
        bar.close()
    history["interrupted"] = False
    history["seconds"] = round(elapsed, 2)
    if main:
        rms = sorted(r["mix_rms"] for r in history["train"] if "mix_rms" in r)
        save_checkpoint(out / MODEL_NAME, model, cfg, lib.classes, step,
                        extra={"seconds": round(elapsed, 2), "device": str(dev), "data": str(data_root),
                               "precision": precision, "train_mix_rms": rms[len(rms) // 2] if rms else None,
                               "history": history})
        write_json(out / "history.json", history)
        try:
            from ..viz.plots import plot_history

            fig = plot_history(history)
            with atomic_path(out / "curves.png") as tmp:
                fig.savefig(tmp, dpi=100, bbox_inches="tight", format="png")
            import matplotlib.pyplot as plt

            plt.close(fig)  # a file, not a stray figure in the caller's notebook
        except Exception as exc:  # a figure must never fail a finished training run
            print(f"(could not draw curves.png: {exc})")
    distributed.barrier(ctx)  # every rank returns once rank 0 has written model.pt
    return history
