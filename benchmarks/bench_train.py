"""Training throughput, side by side in one run, and the quality after the same number of steps.

    python benchmarks/bench_train.py [--preset small] [--variants sgn sop] [--steps 8]
                                     [--quality-steps 150] [--data data/music11]

For each variant it times the real training step (data, device-side augmentation,
STFT/warp/targets, forward, loss, backward, optimiser) in three settings:

    explicit-fp32   U computed with all D channels, then ⟨g_i, U⟩ (the first shipped code)
    fp32            ⟨g_i, U⟩ folded into U's last convolution (models/sgn.py: light_reconstruction)
    bf16            the same under torch.autocast(bfloat16)

and prints mixtures per second and ms per mixture. With --quality-steps K > 0 it then
trains each setting K steps from the same seed on the same mixtures and prints the
validation SDR of each, so a speed-up is shown not to cost quality. bf16 is only
trained where the hardware computes it natively (sgn_teach.core.device.bf16_supported);
elsewhere PyTorch emulates it (measured ~18× slower on an AVX2-only CPU) and the
line says so instead (--force-bf16 trains it anyway).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from sgn_teach.core.config import get_preset
from sgn_teach.core.device import bf16_supported, get_device
from sgn_teach.data import MixDataset, SoloLibrary, finish_batch, mix_features, synth_library
from sgn_teach.hub.build import build_model
from sgn_teach.losses import sgn_loss
from sgn_teach.signal.spectral import SpectralFrontEnd
from sgn_teach.training.common import make_optimizer
from sgn_teach.training.recipes.base import separation_scores

SETTINGS = {  # name: (fused reconstruction, bf16 autocast)
    "explicit-fp32": (False, False),
    "fp32": (True, False),
    "bf16": (True, True),
}


def make_cfg(preset: str, variant: str, fused: bool, augment: bool):
    cfg = get_preset(preset, variant=variant)
    if variant != "sop":
        cfg.model.fused_reconstruction = fused
    cfg.augment.enabled = augment
    return cfg


def run_steps(cfg, lib: SoloLibrary, device: torch.device, steps: int, amp: bool, warmup: int = 2,
              seed: int = 0) -> tuple[torch.nn.Module, float]:
    """Train `steps` steps (after `warmup` untimed ones); returns the model and seconds per mixture."""
    torch.manual_seed(seed)
    model = build_model(cfg.model, cfg.audio).to(device).train()
    opt = make_optimizer(model, cfg)
    fe = SpectralFrontEnd(cfg.audio).to(device)
    b = cfg.train.batch_size
    ds = MixDataset(lib, cfg.audio, n_sources=2, n_mixtures=(steps + warmup) * b, seed=seed,
                    augment=cfg.augment, defer_augment=True)
    loader = iter(torch.utils.data.DataLoader(ds, batch_size=b))
    timed = 0.0
    for i in range(steps + warmup):
        if device.type == "cuda":
            torch.cuda.synchronize()
        t = time.perf_counter()
        batch = next(loader)
        cls = batch["class_idx"].to(device)
        with torch.no_grad():
            sources, mixture = finish_batch(batch, ds, device)
            feats = mix_features(mixture, sources, fe, mask=cfg.train.mask)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
            out = model(feats["log_mag"], classes=cls)
        loss, _ = sgn_loss(out, feats["target"], feats["weight"], cls, batch["labels"].to(device),
                           cfg.model.variant)
        for g in opt.param_groups:
            g["lr"] = cfg.train.lr_at(i)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        if i >= warmup:
            timed += time.perf_counter() - t
    return model, timed / (steps * b)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", default="small")
    p.add_argument("--variants", nargs="+", default=["sgn", "sop"])
    p.add_argument("--steps", type=int, default=8, help="timed steps per setting")
    p.add_argument("--quality-steps", type=int, default=0, help="train this many steps per setting and validate")
    p.add_argument("--val-mixtures", type=int, default=100)
    p.add_argument("--data", default=None, help="a solo-clip library (default: a small synthesized one)")
    p.add_argument("--no-augment", action="store_true")
    p.add_argument("--force-bf16", action="store_true", help="train bf16 for quality even without native support")
    p.add_argument("--device", default="auto")
    args = p.parse_args()
    device = get_device(args.device)
    native = bf16_supported(device)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(args.data) if args.data else synth_library(f"{tmp}/lib", clips_per_class=8, seed=0, progress=False)
        lib = SoloLibrary(root, split="train")
        val = SoloLibrary(root, split="val", classes=lib.classes)
        name = torch.cuda.get_device_name() if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
        print(f"device: {device} ({name}); native bf16: {native}; preset {args.preset}; "
              f"augmentation {'off' if args.no_augment else 'on'}")
        print("| variant | setting | mixtures/s | ms/mixture | speed-up vs explicit-fp32 |")
        print("|---|---|---:|---:|---:|")
        speeds: dict[tuple[str, str], float] = {}
        for variant in args.variants:
            for setting, (fused, amp) in SETTINGS.items():
                if variant == "sop" and setting == "explicit-fp32":
                    continue  # SoP has no class features to fold
                cfg = make_cfg(args.preset, variant, fused, not args.no_augment)
                _, spm = run_steps(cfg, lib, device, args.steps, amp)
                speeds[variant, setting] = spm
                ref = speeds.get((variant, "explicit-fp32"), speeds.get((variant, "fp32")))
                print(f"| {variant} | {setting} | {1 / spm:.1f} | {1000 * spm:.1f} | {ref / spm:.2f}× |", flush=True)
        if args.quality_steps <= 0:
            return
        print(f"\nvalidation SDR after {args.quality_steps} steps (same seed, same mixtures; "
              f"{args.val_mixtures} validation mixtures)")
        print("| variant | setting | SDR (dB) | SI-SDR (dB) |\n|---|---|---:|---:|")
        for variant in args.variants:
            for setting, (fused, amp) in SETTINGS.items():
                if variant == "sop" and setting == "explicit-fp32":
                    continue
                if amp and not (native or args.force_bf16):
                    print(f"| {variant} | {setting} | not trained: no native bf16 on {device} "
                          f"(emulated, {speeds[variant, setting] / speeds[variant, 'fp32']:.0f}× slower) | |")
                    continue
                cfg = make_cfg(args.preset, variant, fused, not args.no_augment)
                cfg.train.steps = args.quality_steps
                cfg.train.val_mixtures = args.val_mixtures
                model, _ = run_steps(cfg, lib, device, args.quality_steps, amp, warmup=0)
                scores = separation_scores(model, val, cfg, device)
                print(f"| {variant} | {setting} | {scores['sdr']:.2f} | {scores['si_sdr']:.2f} |", flush=True)


if __name__ == "__main__":
    main()
