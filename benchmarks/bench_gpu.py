"""How fast does the `paper` preset train on this GPU, how much memory does it need, how long would the paper's schedule take?

    python benchmarks/bench_gpu.py                      # on a GPU: every figure below (about 5 minutes)
    python benchmarks/bench_gpu.py --compile            # also with torch.compile
    python benchmarks/bench_gpu.py --dry-run            # the same code path on the tiny preset: seconds, any CPU
    python benchmarks/bench_gpu.py --flops-only         # the FLOP count alone (any machine; ~15 s on a CPU)

Printed, per precision (fp32, bf16) × memory layout (default, channels_last):
- training throughput in mixtures/s at batch 80 (the paper's), on the device only:
  mixing, STFT/warp/targets, forward, loss, backward and the SGD step of
  sgn_teach.training.train, on random waveforms already on the device (the arithmetic does
  not depend on the sound), timed between CUDA synchronisations after warm-up;
- peak GPU memory allocated (and reserved by PyTorch's allocator);
- achieved TFLOP/s, from the forward+backward FLOPs per mixture counted by
  torch.utils.flop_counter;
- the largest batch that fits (batches tried in increasing order until one runs
  out of memory) and its throughput.
Then the host side: how many mixtures/s the data loader makes (num_workers of the
preset), and one end-to-end run of `sgn_teach.training.train.train` (loader, device,
log every 20 steps) with the fastest setting, timed from its history.

Projected wall time of the paper's schedule = mixtures in the schedule ÷ the
end-to-end rate (or the device rate, whichever is lower). The schedule is the
`paper` preset's: 20,000 steps × batch 80 = 1.6 M mixtures, i.e. 100 epochs of
16,000 mixtures. That count is our assumption: SGN's paper gives batch 80 and
SGD lr 1e-3 but no epoch size we could find, and Sound of Pixels' public recipe
(scripts/train_MUSIC.sh: 4 GPUs × 20, 100 epochs, one mixture per training-list
entry per epoch) depends on how many entries the training list has.
Change it with --schedule-mixtures. For K GPUs the projection divides by K —
ideal scaling, an upper bound that this script does not measure.
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import sys
import tempfile
import time
import warnings
from pathlib import Path

import torch

from sgn_teach.core.config import get_preset
from sgn_teach.core.device import get_device, resolve_precision
from sgn_teach.core.speed import channels_last_input, loader_options, maybe_compile, to_channels_last
from sgn_teach.data import MixDataset, SoloLibrary, mix_features, synth_library
from sgn_teach.hub.build import build_model
from sgn_teach.losses import sgn_loss
from sgn_teach.signal.spectral import SpectralFrontEnd
from sgn_teach.training.common import make_optimizer

BATCH_LADDER = (80, 96, 112, 128, 160, 192, 224, 256, 320, 384, 448, 512, 640, 768, 1024)


class Setting:
    """One configuration to time: precision × channels_last × compile."""

    def __init__(self, precision: str, channels_last: bool, compile: bool) -> None:
        self.precision, self.channels_last, self.compile = precision, channels_last, compile

    @property
    def name(self) -> str:
        return self.precision + (" + channels_last" if self.channels_last else "") + (" + compile" if self.compile else "")


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _free(device: torch.device) -> None:
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()


def time_steps(cfg, setting: Setting, device: torch.device, batch: int, steps: int, warmup: int) -> dict:
    """Train `steps` timed steps (after `warmup`) on device-resident random waves; mixtures/s and peak memory."""
    torch.manual_seed(0)
    model = build_model(cfg.model, cfg.audio).to(device).train()
    if setting.channels_last:
        to_channels_last(model)
    opt = make_optimizer(model, cfg)
    step_model = maybe_compile(model, setting.compile)
    frontend = SpectralFrontEnd(cfg.audio).to(device)
    N, L, C = cfg.train.n_sources, cfg.audio.n_samples, cfg.model.n_classes
    g = torch.Generator(device=device).manual_seed(0)
    sources = torch.randn(batch, N, L, device=device, generator=g) * 0.05 / N  # (B, N, L), already ÷N
    class_idx = torch.stack([torch.randperm(C, device=device, generator=g)[:N] for _ in range(batch)])  # (B, N)
    labels = torch.zeros(batch, C, device=device).scatter_(1, class_idx, 1.0)  # (B, C) multi-hot
    use_amp = setting.precision == "bf16"
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)

    def step() -> torch.Tensor:
        with torch.no_grad():
            feats = mix_features(sources.sum(1), sources, frontend, mask=cfg.train.mask)  # mixing: (B, N, L) → (B, L)
        log_mag = channels_last_input(feats["log_mag"]) if setting.channels_last else feats["log_mag"]
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=use_amp):
            out = step_model(log_mag, classes=class_idx)
        loss, _ = sgn_loss(out, feats["target"], feats["weight"], class_idx, labels, cfg.model.variant)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss.detach()

    for _ in range(warmup):
        step()
    _sync(device)
    t0 = time.perf_counter()
    for _ in range(steps):
        last = step()
    _sync(device)
    seconds = time.perf_counter() - t0
    finite = bool(torch.isfinite(last))
    result = {"batch": batch, "mixtures_per_s": batch * steps / seconds, "step_ms": 1000 * seconds / steps,
              "finite": finite}
    if device.type == "cuda":
        result["peak_alloc_gib"] = torch.cuda.max_memory_allocated(device) / 2**30
        result["peak_reserved_gib"] = torch.cuda.max_memory_reserved(device) / 2**30
    return result


def flops_per_mixture(cfg, device: torch.device, batch: int = 2) -> float:
    """Forward + backward FLOPs of one mixture (fp32 model, counted by torch.utils.flop_counter)."""
    from torch.utils.flop_counter import FlopCounterMode

    torch.manual_seed(0)
    model = build_model(cfg.model, cfg.audio).to(device).train()
    F_, T = cfg.audio.n_freq_warped, cfg.audio.n_frames
    x = torch.randn(batch, 1, F_, T, device=device)           # (B, 1, F, T) log-magnitudes
    classes = torch.stack([torch.arange(cfg.train.n_sources, device=device)] * batch)  # (B, N)
    with FlopCounterMode(display=False) as counter:
        out = model(x, classes=classes)
        out["mask_logits"].float().mean().backward()
    total = counter.get_total_flops()
    del model
    _free(device)
    return total / batch


def largest_batch(cfg, setting: Setting, device: torch.device, limit: int) -> dict | None:
    """Try BATCH_LADDER upwards until a batch runs out of memory; the last one that ran, timed."""
    best = None
    for b in (b for b in BATCH_LADDER if b <= limit):
        try:
            best = time_steps(cfg, setting, device, b, steps=3, warmup=1)
        except torch.cuda.OutOfMemoryError:
            break
        finally:
            _free(device)
        print(f"    batch {b}: fits, {best['mixtures_per_s']:.0f} mixtures/s, "
              f"peak {best.get('peak_alloc_gib', float('nan')):.1f} GiB", flush=True)
    return best


def loader_rate(cfg, lib: SoloLibrary, batch: int, batches: int, device: torch.device) -> float:
    """Mixtures/s the host makes with the training loop's DataLoader (the preset's num_workers)."""
    t = cfg.train
    ds = MixDataset(lib, cfg.audio, n_sources=t.n_sources, n_mixtures=(batches + 2) * batch, seed=0,
                    augment=cfg.augment, defer_augment=True)
    loader = iter(torch.utils.data.DataLoader(ds, batch_size=batch, **loader_options(device, t.num_workers)))
    next(loader)  # workers started, first batch made
    t0 = time.perf_counter()
    for _ in range(batches):
        next(loader)
    seconds = time.perf_counter() - t0
    del loader  # stops the workers
    return batch * batches / seconds


def end_to_end(cfg, data: Path, setting: Setting, device: torch.device, steps: int) -> dict:
    """`steps` steps of sgn_teach.training.train.train itself; mixtures/s between its first and last synchronised rows."""
    from sgn_teach.training import train

    cfg.train.steps, cfg.train.precision = steps, setting.precision
    cfg.train.channels_last, cfg.train.compile = setting.channels_last, setting.compile
    cfg.train.ckpt_every = steps
    with tempfile.TemporaryDirectory() as run:
        history = train(cfg, data, run, device=str(device), progress=False, validate_during=False)
    synced = [r for r in history["train"] if r["step"] % cfg.train.log_every == 0 or r["step"] == steps]
    first, last = synced[0], synced[-1]  # the first row includes warm-up; measure after it
    if last["step"] == first["step"] or last["seconds"] <= first["seconds"]:
        return {"steps": steps, "mixtures_per_s": float("nan")}
    rate = (last["step"] - first["step"]) * cfg.train.batch_size / (last["seconds"] - first["seconds"])
    return {"steps": steps, "mixtures_per_s": rate, "from_step": first["step"], "to_step": last["step"]}


def hours(mixtures: int, rate: float) -> str:
    if not rate or rate != rate:
        return "—"
    h = mixtures / rate / 3600
    return f"{h:.1f} h" if h >= 1 else f"{h * 60:.0f} min" if h * 60 >= 1 else f"{h * 3600:.0f} s"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", default="paper", choices=("paper", "small", "tiny"))
    p.add_argument("--variant", default="sgn")
    p.add_argument("--batch", type=int, default=None, help="default: the preset's (paper: 80)")
    p.add_argument("--precisions", nargs="+", default=["fp32", "bf16"], choices=("fp32", "bf16"))
    p.add_argument("--layouts", nargs="+", default=["default", "channels_last"], choices=("default", "channels_last"))
    p.add_argument("--compile", action="store_true", help="also time each setting with torch.compile")
    p.add_argument("--steps", type=int, default=10, help="timed steps per setting")
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--no-max-batch", action="store_true", help="skip the search for the largest batch")
    p.add_argument("--max-batch-limit", type=int, default=1024)
    p.add_argument("--data", default=None, help="a solo-clip library for the loader and end-to-end figures "
                   "(default: a small synthesized one in a temporary folder)")
    p.add_argument("--train-steps", type=int, default=60, help="steps of the end-to-end run (0: skip it)")
    p.add_argument("--schedule-mixtures", type=int, default=None,
                   help="mixtures in the schedule to project (default: the preset's steps × batch)")
    p.add_argument("--gpus", nargs="+", type=int, default=[1, 2, 4, 8], help="GPU counts to project for")
    p.add_argument("--device", default="auto")
    p.add_argument("--json", default=None, help="also write every figure here")
    p.add_argument("--flops-only", action="store_true", help="print the FLOPs per mixture and stop")
    p.add_argument("--dry-run", action="store_true",
                   help="tiny preset, batch 4, 2 steps: checks the code path on any machine; the figures mean nothing")
    args = p.parse_args(argv)
    warnings.filterwarnings("ignore", message="bf16 was asked for")

    preset, batch, steps, warmup, train_steps = args.preset, args.batch, args.steps, args.warmup, args.train_steps
    if args.dry_run:
        preset, batch, steps, warmup, train_steps = "tiny", batch or 4, 2, 1, min(train_steps, 4)
    cfg = get_preset(preset, variant=args.variant)
    batch = batch or cfg.train.batch_size
    device = get_device(args.device)
    schedule = args.schedule_mixtures or get_preset(preset).train.steps * get_preset(preset).train.batch_size
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    print(f"device: {name} ({device}), torch {torch.__version__}, preset {preset} ({args.variant}), batch {batch}"
          + ("  [DRY RUN: the figures below are not GPU figures]" if args.dry_run else ""), flush=True)
    if device.type == "cuda":
        total = torch.cuda.get_device_properties(device).total_memory / 2**30
        print(f"GPU memory: {total:.1f} GiB; compute capability {'.'.join(map(str, torch.cuda.get_device_capability(device)))}; "
              f"precision auto → {resolve_precision('auto', device)}")
    report: dict = {"device": name, "torch": torch.__version__, "preset": preset, "variant": args.variant,
                    "batch": batch, "schedule_mixtures": schedule, "dry_run": args.dry_run, "settings": {}}

    gflop = flops_per_mixture(cfg, device, batch=1 if args.flops_only else 2) / 1e9
    report["gflop_per_mixture"] = gflop
    print(f"forward+backward: {gflop:.3g} GFLOP per mixture (torch.utils.flop_counter: matrix products and "
          "convolutions; element-wise work not counted)")
    if args.flops_only:
        return 0

    settings = [Setting(pr, lay == "channels_last", comp) for comp in ([False, True] if args.compile else [False])
                for pr in args.precisions for lay in args.layouts]
    print("\n| setting | batch | mixtures/s | step ms | TFLOP/s | peak allocated | peak reserved |\n"
          "|---|---:|---:|---:|---:|---:|---:|")
    for s in settings:
        try:
            r = time_steps(cfg, s, device, batch, steps, warmup)
        except torch.cuda.OutOfMemoryError:
            print(f"| {s.name} | {batch} | out of memory | | | | |", flush=True)
            report["settings"][s.name] = {"batch": batch, "oom": True}
            continue
        finally:
            _free(device)
        r["tflops"] = gflop * r["mixtures_per_s"] / 1e3
        report["settings"][s.name] = r
        mem = (f"{r['peak_alloc_gib']:.1f} GiB | {r['peak_reserved_gib']:.1f} GiB" if "peak_alloc_gib" in r
               else f"n/a (CPU; process peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB) | —")
        print(f"| {s.name} | {batch} | {r['mixtures_per_s']:.1f} | {r['step_ms']:.0f} | {r['tflops']:.3g} | {mem} |",
              flush=True)
    timed = {k: v for k, v in report["settings"].items() if "mixtures_per_s" in v}
    if not timed:
        print("no setting ran", file=sys.stderr)
        return 1
    best_name = max(timed, key=lambda k: timed[k]["mixtures_per_s"])
    best = next(s for s in settings if s.name == best_name)
    print(f"fastest: {best_name}")

    if device.type == "cuda" and not args.no_max_batch:
        report["largest_batch"] = {}
        for pr in args.precisions:
            s = Setting(pr, best.channels_last, False)
            print(f"largest batch, {s.name}:", flush=True)
            r = largest_batch(cfg, s, device, args.max_batch_limit)
            report["largest_batch"][s.name] = r
            if r:
                print(f"  → {r['batch']} ({r['mixtures_per_s']:.0f} mixtures/s, peak {r['peak_alloc_gib']:.1f} GiB)")
    elif not args.no_max_batch:
        print("largest batch: searched on CUDA only (out-of-memory is a GPU notion here)")

    with tempfile.TemporaryDirectory() as tmp:
        data = Path(args.data) if args.data else synth_library(
            f"{tmp}/lib", clips_per_class=8, seed=0, duration=max(cfg.audio.duration + 0.5, 2.0), progress=False)
        lib = SoloLibrary(data, split="train")
        rate = loader_rate(cfg, lib, batch, batches=3 if args.dry_run else 20, device=device)
        report["loader_mixtures_per_s"] = rate
        print(f"\nhost data loader ({cfg.train.num_workers} workers): {rate:.0f} mixtures/s")
        if train_steps > 0:
            e2e_cfg = get_preset(preset, variant=args.variant, train__batch_size=batch)
            if args.dry_run:
                e2e_cfg.train.log_every = 2
            r = end_to_end(e2e_cfg, data, best, device, train_steps)
            report["end_to_end"] = {"setting": best_name, **r}
            print(f"end to end (sgn_teach.training.train.train, {best_name}, steps {r.get('from_step')}→{r.get('to_step')}): "
                  f"{r['mixtures_per_s']:.1f} mixtures/s")

    device_rate = timed[best_name]["mixtures_per_s"]
    overall = min(device_rate, report.get("end_to_end", {}).get("mixtures_per_s") or device_rate)
    report["projection"] = {str(k): schedule / overall / k / 3600 for k in args.gpus}
    print(f"\nprojected wall time of the schedule ({schedule:,} mixtures; see the docstring for the assumption), "
          f"{best_name} at {overall:.1f} mixtures/s per GPU:")
    for k in args.gpus:
        note = "measured rate" if k == 1 else "ideal scaling, not measured"
        print(f"  {k} GPU{'s' if k > 1 else ' '}: {hours(schedule, overall * k)}  ({note})")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
