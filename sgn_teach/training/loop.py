"""The one training loop, for every model kind: ``train(cfg, data, out)``.

What a model kind trains on and how its loss is computed is its *recipe*
(:mod:`sgn_teach.training.recipes`); everything else lives here, once:

* **checks before any work** — settings (:mod:`sgn_teach.training.checks`), the
  library and every clip (decoded once), the run folder (writable; a finished or
  another run is never overwritten; :mod:`sgn_teach.training.rundir` locks it);
* **resume** — step s trains on items s·B … s·B+B−1 of the recipe's dataset (a
  function of (seed, step)); the checkpoint keeps the weights, the optimiser, the
  RNG state and the history, so ``resume=True`` continues an interrupted run to
  the *same* weights as an uninterrupted one;
* **graceful interrupts** — Ctrl-C / SIGTERM only set a flag
  (:class:`~sgn_teach.core.interrupt.GracefulStop`); the loop stops at the next step
  boundary, saves and raises :class:`~sgn_teach.core.interrupt.TrainingInterrupted`;
* **NaN losses** — one clear error, the last checkpoint kept;
* **several processes** (``torchrun --nproc_per_node K -m sgn_teach train …``) —
  DistributedDataParallel, each rank a contiguous share of every step's batch
  (:mod:`sgn_teach.core.distributed`); rank 0 writes;
* **progress, history, checkpoints** — a tqdm bar; ``history.json`` with one row per
  step (the recipe's loss parts, read back from the device every ``log_every``
  steps), validation rows; ``checkpoint.pt`` every ``ckpt_every`` steps;
  ``model.pt`` and ``curves.png`` at the end.

Precision (``train.precision``): "auto" uses bf16 autocast where the hardware
computes bf16 natively (CUDA compute capability ≥ 8, CPUs with AMX / AVX512-BF16)
and float32 elsewhere. The learning rate is a function of the step alone
(:meth:`~sgn_teach.core.config.TrainConfig.lr_at`), set before every optimiser step.
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
from ..core.errors import CheckpointError, ConfigError, SGNError
from ..core.interrupt import GracefulStop, TrainingInterrupted, ignore_stop_signals
from ..core.speed import loader_options, maybe_compile, to_channels_last
from ..hub.checkpoint import load_weights, read_checkpoint, save_checkpoint
from .checks import check_resumable, check_train_config
from .common import CKPT_NAME, MODEL_NAME, StepSampler, make_optimizer
from .recipes import Recipe, recipe_for
from .recipes.base import Prepared


def train(cfg: Config, data_root: str | os.PathLike, out_dir: str | os.PathLike, device: str = "auto",
          resume: bool = False, progress: bool = True, validate_during: bool = True,
          soundfonts: list[str] | None = None, recipe: Recipe | None = None,
          stop_at: int | None = None) -> dict[str, Any]:
    """Train a model of any kind; checkpoints and history go to `out_dir`. `cfg` is not changed.

    Args:
        cfg: the full config (see :func:`sgn_teach.core.config.get_preset`); ``cfg.model.variant``
            picks the recipe (:func:`sgn_teach.training.recipes.recipe_for`).
        data_root: a solo-clip library (its `train` split is trained on; `val` is validated on).
        out_dir: run folder: checkpoint.pt (latest, resumable), model.pt (final weights),
            history.json and curves.png.
        device: "auto", "cpu", "cuda" or "mps"; under torchrun each rank takes its LOCAL_RANK's GPU.
        resume: continue from out_dir/checkpoint.pt if it exists.
        soundfonts: train (and validate) on the clips of these SoundFonts only — e.g. two
            of three, to test on the third (leave-one-SoundFont-out).
        recipe: a recipe object instead of the default of the model kind (e.g. a
            :class:`~sgn_teach.training.recipes.TextRecipe` holding an embedding already loaded).
        stop_at: pause after this step (1 … ``cfg.train.steps``): save checkpoint.pt and return, without
            model.pt — a planned interruption, so the learning rate keeps the schedule of all
            ``cfg.train.steps`` and ``resume=True`` later continues exactly as an uninterrupted run. (Calling
            again with a *larger* ``cfg.train.steps`` instead changes the schedule of the steps left: with
            the cosine schedule that is a warm restart, how the shipped models' second stage was trained.)
            A run already at or past `stop_at` returns its history untouched. None: train to the end.

    Returns:
        The history: {"train": [{step, <loss parts>, lr, mix_rms, seconds}], "val": [{step, …}], ...}.

    Raises:
        SGNError subclasses, before anything is written, for settings out of range, a library
        that cannot be used (a clip that does not decode, too few classes), an `out_dir` that
        cannot be written, holds a run (without `resume`), holds a run of another config, is in
        use by another training, or whose checkpoint is past ``cfg.train.steps``.
        TrainingInterrupted (a KeyboardInterrupt) after SIGINT/SIGTERM: the loop stopped at a
        step boundary and saved a checkpoint from which `resume=True` continues exactly.
    """
    recipe = recipe or recipe_for(cfg.model.variant)
    check_train_config(cfg)
    if stop_at is not None and not (isinstance(stop_at, int) and 1 <= stop_at <= cfg.train.steps):
        raise ConfigError(f"stop_at must be a step from 1 to {cfg.train.steps} (the run's steps), not {stop_at!r}")
    recipe.check(cfg)
    ctx = distributed.setup(device)  # one process: rank 0 of 1, nothing else happens
    try:
        return _run(recipe, cfg, data_root, Path(out_dir), ctx, resume, progress and ctx.is_main, validate_during,
                    soundfonts, stop_at)
    finally:
        distributed.teardown(ctx)


def _run(recipe: Recipe, cfg: Config, data_root: str | os.PathLike, out: Path, ctx: distributed.DistContext,
         resume: bool, progress: bool, validate_during: bool, soundfonts: list[str] | None,
         stop_at: int | None = None) -> dict[str, Any]:
    """Every check before anything is written, then the locked run folder and the loop."""
    from ..core.checks import check_writable_dir
    from ..data.checks import check_clips
    from .rundir import RunLock, existing_run

    main = ctx.is_main
    distributed.check_batch(cfg.train.batch_size, ctx)
    prep = recipe.prepare(cfg, data_root, soundfonts, validate_during, ctx.device)  # libraries checked: nothing written
    check_writable_dir(out)
    done = existing_run(out)
    if done and not resume:
        raise SGNError(f"{out} already holds a training run ({', '.join(done)}); continue it with --resume "
                       "(resume=True), or give a new --out")
    if resume and done == [MODEL_NAME]:
        raise SGNError(f"{out} holds model.pt but no checkpoint.pt to resume from; give a new --out")
    state = read_checkpoint(out / CKPT_NAME) if resume and CKPT_NAME in done else None
    if state is not None:
        check_resumable(state, prep.cfg, out / CKPT_NAME)
        if MODEL_NAME in done and state["step"] == prep.cfg.train.steps:
            return _finished(out, progress)
        if stop_at is not None and state["step"] >= stop_at:  # already paused here or beyond: nothing to train
            return json.loads(state["extra"])["history"]
    check_clips(prep.clips, "train/val", progress=progress and len(prep.clips) > 200)  # a bad clip fails now

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
                check_resumable(state, prep.cfg, out / CKPT_NAME)
            return _loop(recipe, prep, data_root, out, ctx, state, progress, stop_at)
    except BaseException:
        if created and main:
            try:
                out.rmdir()  # a run that failed before saving anything leaves no empty folder behind
            except OSError:
                pass  # not empty: it holds a checkpoint to resume from
        raise


def _finished(out: Path, progress: bool) -> dict[str, Any]:
    """A run that already reached its last step: nothing to train, nothing rewritten."""
    if progress:
        print(f"{out} is already complete ({MODEL_NAME}); nothing to do")
    try:
        return json.loads((out / "history.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        extra = json.loads(read_checkpoint(out / MODEL_NAME)["extra"])
        return extra.get("history", {})


def _restore(state: dict[str, Any], model: torch.nn.Module, opt: torch.optim.Optimizer, path: Path
             ) -> tuple[int, dict[str, Any], float]:
    """Load a checkpoint's weights and optimiser state: (step, history, seconds trained so far)."""
    try:
        load_weights(model, state["model"])
        opt.load_state_dict(state["optimizer"])
        extra = json.loads(state["extra"])
        return int(state["step"]), extra["history"], float(extra.get("seconds", 0.0))
    except (KeyError, ValueError, RuntimeError, TypeError) as exc:
        raise CheckpointError(f"{path}: cannot be resumed ({type(exc).__name__}: "
                              f"{str(exc).splitlines()[0] if str(exc) else 'incomplete'}); give a new --out") from None


def _loop(recipe: Recipe, prep: Prepared, data_root, out: Path, ctx: distributed.DistContext,
          state: dict[str, Any] | None, progress: bool, stop_at: int | None = None) -> dict[str, Any]:
    """The loop itself, once every check has passed and the run folder is locked; `state`: to resume;
    `stop_at`: pause (save the checkpoint and return) after that step."""
    cfg, t = prep.cfg, prep.cfg.train
    dev, main = ctx.device, ctx.is_main
    seed_everything(t.seed)
    model = recipe.build(prep, dev, resuming=state is not None)
    if t.channels_last:
        to_channels_last(model)
    # several processes: BatchNorm → synchronised BN (new modules: before the optimiser sees the parameters)
    # and DistributedDataParallel; one process: `model` itself. Both share `model`'s parameters.
    ddp_model = distributed.wrap_model(model, ctx)
    opt = make_optimizer(model, cfg)
    precision = resolve_precision(t.precision, dev)
    history: dict[str, Any] = {"train": [], "val": [], "config": cfg.to_dict(), "classes": prep.classes,
                               "device": str(dev), "precision": precision, "validation": prep.val_lib is not None,
                               "world_size": ctx.world_size, "data": prep.data_info(data_root)}
    start_step, elapsed, rng_state = 0, 0.0, None
    ckpt_path = out / CKPT_NAME
    if state is not None:
        start_step, history, elapsed = _restore(state, model, opt, ckpt_path)
        history["world_size"] = ctx.world_size  # of the latest (resumed) segment
        rng_state = state.get("rng_cpu")
        if progress:
            print(f"resuming {ckpt_path} at step {start_step}/{t.steps}")

    ds = recipe.dataset(prep)
    sampler = StepSampler(start_step, t.steps, t.batch_size, ctx.rank, ctx.world_size)
    loader = torch.utils.data.DataLoader(ds, batch_size=t.batch_size // ctx.world_size, sampler=sampler,
                                         drop_last=True, worker_init_fn=ignore_stop_signals,
                                         **loader_options(dev, t.num_workers))
    step_model = maybe_compile(ddp_model, t.compile, log=lambda msg: main and print(msg))
    amp = precision == "bf16"
    names = recipe.part_names
    shown = recipe.progress_parts or names

    def save(step: int) -> None:
        if main:  # rank 0 alone writes; the RNG state goes with the weights so a resumed run draws the same noise
            save_checkpoint(ckpt_path, model, cfg, prep.classes, step, optimizer=opt,
                            extra={"history": history, "seconds": elapsed}, tensors={"rng_cpu": torch.get_rng_state()})
            write_json(out / "history.json", history)

    pending: list[tuple[int, torch.Tensor, torch.Tensor | None, float, float]] = []  # steps not yet read back

    def flush(collective: bool = True) -> None:
        """Read the pending steps' loss parts back from the device (one sync) into `history` and the bar.

        Parts are averaged over the ranks and the mixtures' RMS gathered from all of them, so the
        history equals that of one process with the same batch. A non-finite loss is an error.
        """
        if not pending:
            return
        parts_k = torch.stack([p[1] for p in pending])  # k × (P,) → (k, P): the recipe's parts in order
        has_rms = pending[0][2] is not None
        rms_k = torch.stack([p[2] for p in pending]) if has_rms else None  # k × (B/K,) → (k, B/K)
        if collective:
            parts_k = distributed.mean_over_ranks(parts_k, ctx)
            if has_rms:
                rms_k = distributed.cat_over_ranks(rms_k, ctx, dim=1)  # (k, B/K) per rank → (k, B)
        values = parts_k.float().cpu().tolist()
        medians = rms_k.float().median(dim=1).values.cpu().tolist() if has_rms else [None] * len(values)
        total = names.index("total")
        for (s, _, _, lr, seconds), v, med in zip(pending, values, medians):
            if collective and not math.isfinite(v[total]):
                pending.clear()
                raise SGNError(f"the loss became {v[total]} at step {s} (not saved; the last checkpoint stays): "
                               "lower the learning rate")
            row = {"step": s, **{k: round(float(x), 5) for k, x in zip(names, v)}, "lr": round(lr, 7)}
            if med is not None:
                row["mix_rms"] = round(med, 4)
            history["train"].append({**row, "seconds": round(seconds, 2)})
        bar.set_postfix({k: f"{x:.3f}" for k, x in zip(names, values[-1]) if k in shown})
        bar.update(len(pending))
        pending.clear()

    def validate(step: int) -> None:
        if main:  # rank 0 validates; the others wait at the barrier
            model.eval()
            try:
                scores = recipe.validate(model, prep, dev)
            finally:
                model.train()
            history["val"].append({"step": step, **{k: round(v, 3) for k, v in scores.items()}})
            first = next(iter(scores), None)
            if first is not None:
                bar.write(f"step {step}: validation {first} {scores[first]:.3f}")
        distributed.barrier(ctx)

    model.train()
    step = start_step
    bar = tqdm(total=t.steps, initial=start_step, desc=f"train {cfg.model.variant}", disable=not progress)
    stop = GracefulStop()  # SIGINT/SIGTERM only set stop.requested: a step is never cut in half
    try:
        stop.__enter__()
        batches = iter(loader)  # draws its base seed from the global RNG ...
        if rng_state is not None:
            torch.set_rng_state(rng_state)  # ... so the saved generator state is restored after it
        tick = time.time()
        end = t.steps if stop_at is None else stop_at
        while step < end and not stop.requested:  # the step boundary: the only place a signal is acted on
            out_step = recipe.step(model, step_model, next(batches), prep, dev, step, amp=amp)
            for group in opt.param_groups:
                group["lr"] = t.lr_at(step)
            opt.zero_grad(set_to_none=True)
            out_step.loss.backward()
            opt.step()
            recipe.after_step(model)
            step += 1
            now = time.time()
            elapsed += now - tick
            tick = now
            # the parts stay on the device until flush(): no host-device sync in an ordinary step
            parts = torch.stack([out_step.parts[k].float() for k in names])  # (P,)
            pending.append((step, parts, out_step.mix_rms, t.lr_at(step - 1), elapsed))
            validating = prep.val_lib is not None and (step % t.val_every == 0 or step == t.steps)
            saving = step % t.ckpt_every == 0 or step == t.steps or step == end  # a pause saves too
            if validating or saving or step % t.log_every == 0:
                flush()  # reading the parts back waits for the device's queued work: time it to this step
                now = time.time()
                elapsed += now - tick
                tick = now
                history["train"][-1]["seconds"] = round(elapsed, 2)
            if validating:
                validate(step)
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
    if step < t.steps:  # paused at stop_at: checkpoint.pt holds it (validation only at its usual steps, so the
        history["seconds"] = round(elapsed, 2)  # paused-and-resumed run is the uninterrupted one); no model.pt yet
        distributed.barrier(ctx)  # every rank returns once rank 0 has saved the checkpoint
        return history
    history["interrupted"] = False
    history["seconds"] = round(elapsed, 2)
    if main:
        _save_final(recipe, model, prep, out, step, history, dev, data_root, precision, elapsed)
    distributed.barrier(ctx)  # every rank returns once rank 0 has written model.pt
    return history


def _save_final(recipe: Recipe, model: torch.nn.Module, prep: Prepared, out: Path, step: int, history: dict[str, Any],
                dev: torch.device, data_root, precision: str, elapsed: float) -> None:
    """model.pt (weights, the training level, what the recipe adds), history.json and curves.png."""
    model.eval()
    extra = recipe.finish(model, prep, dev, history)
    rms = sorted(r["mix_rms"] for r in history["train"] if "mix_rms" in r)
    save_checkpoint(out / MODEL_NAME, model, prep.cfg, prep.classes, step,
                    extra={"seconds": round(elapsed, 2), "device": str(dev), "data": str(data_root),
                           "precision": precision, "train_mix_rms": rms[len(rms) // 2] if rms else None,
                           **extra, "history": history})
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


__all__ = ["train"]
