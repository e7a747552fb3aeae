"""Training throughput (mixtures per second) per preset, on the CPU and on CUDA when present.

    python benchmarks/bench_train.py [--presets tiny small paper] [--variants sgn sop] [--steps 5]

One timed training step = mixing on the host, STFT/warp/targets on the device,
forward, loss, backward, optimiser step — exactly the loop in sgn_teach.train.
"""

from __future__ import annotations

import argparse
import tempfile
import time

import torch

from sgn_teach.config import get_preset
from sgn_teach.data import MixDataset, SoloLibrary, mix_features, synth_library
from sgn_teach.device import get_device
from sgn_teach.losses import sgn_loss
from sgn_teach.models import build_model
from sgn_teach.spectral import SpectralFrontEnd
from sgn_teach.train import make_optimizer


def bench(preset: str, variant: str, device: torch.device, lib: SoloLibrary, steps: int, batch: int | None) -> float:
    cfg = get_preset(preset, variant=variant)
    b = batch or (cfg.train.batch_size if device.type == "cuda" else min(cfg.train.batch_size, 16))
    model = build_model(cfg.model, cfg.audio).to(device).train()
    opt = make_optimizer(model, cfg)
    fe = SpectralFrontEnd(cfg.audio).to(device)
    ds = MixDataset(lib, cfg.audio, n_sources=2, n_mixtures=(steps + 2) * b, seed=0)
    loader = iter(torch.utils.data.DataLoader(ds, batch_size=b))
    use_amp = device.type == "cuda"
    times = []
    for i in range(steps + 2):
        batch_ = next(loader)
        if device.type == "cuda":
            torch.cuda.synchronize()
        t = time.perf_counter()
        feats = mix_features(batch_["mixture"].to(device), batch_["sources"].to(device), fe)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_amp):
            out = model(feats["log_mag"])
        loss, _ = sgn_loss(out, feats["target"], feats["weight"], batch_["class_idx"].to(device),
                           batch_["labels"].to(device), variant)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        if i >= 2:  # two warm-up steps
            times.append(time.perf_counter() - t)
    return b / (sum(times) / len(times)), b


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--presets", nargs="+", default=["tiny", "small"])
    p.add_argument("--variants", nargs="+", default=["sgn", "sop"])
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--batch", type=int, default=None)
    p.add_argument("--device", default="auto")
    args = p.parse_args()
    device = get_device(args.device)
    with tempfile.TemporaryDirectory() as tmp:
        lib = SoloLibrary(synth_library(f"{tmp}/lib", clips_per_class=4, seed=0, progress=False), split="all")
        print(f"device: {device}, torch threads: {torch.get_num_threads()}")
        print("| preset | variant | batch | mixtures/s | ms/mixture |\n|---|---|---:|---:|---:|")
        for preset in args.presets:
            for variant in args.variants:
                rate, b = bench(preset, variant, device, lib, args.steps, args.batch)
                print(f"| {preset} | {variant} | {b} | {rate:.1f} | {1000 / rate:.0f} |", flush=True)


if __name__ == "__main__":
    main()
