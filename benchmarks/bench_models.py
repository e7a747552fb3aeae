"""Forward + backward time per sample for each preset × model variant.

    python benchmarks/bench_models.py                       # CPU or the GPU get_device picks
    python benchmarks/bench_models.py --presets tiny small --variants sgn sop --device cpu
    python benchmarks/bench_models.py --presets paper --device cuda --amp fp32 bf16 fp16

One step = model(log_mag) → sgn_loss → backward, on a synthetic batch, in
training mode. On CUDA the peak memory of the step (torch.cuda.max_memory_allocated)
is reported too, and mixed precision runs under torch.autocast.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from sgn_teach.core.config import MODEL_VARIANTS, PRESETS, get_preset  # noqa: E402
from sgn_teach.core.device import get_device  # noqa: E402
from sgn_teach.hub.build import build_model  # noqa: E402
from sgn_teach.losses import sgn_loss, sop_weight  # noqa: E402
from sgn_teach.models import count_parameters

DTYPES = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}
# (batch, repetitions, warm-up steps) per preset: the paper preset takes 1–2 s per sample on a CPU
CPU_SETTINGS = {"tiny": (4, 5, 2), "small": (4, 3, 2), "paper": (1, 2, 1)}
CUDA_SETTINGS = {"tiny": (80, 10, 3), "small": (80, 10, 3), "paper": (80, 5, 3)}


def synthetic_batch(B: int, F: int, T: int, n_classes: int, device: torch.device) -> dict[str, torch.Tensor]:
    """A random two-source mixture batch with targets, weights and classes."""
    sources = torch.rand(B, 2, F, T, device=device) ** 4  # (B, N, F, T) magnitudes
    mix = sources.sum(dim=1, keepdim=True)  # (B, 1, F, T)
    class_idx = torch.stack([torch.randperm(n_classes, device=device)[:2] for _ in range(B)])  # (B, 2)
    return {
        "log_mag": torch.log(mix + 1e-10),
        "target": (sources > 0.5 * mix).float(),
        "weight": sop_weight(mix),
        "class_idx": class_idx,
    }


def time_step(model: torch.nn.Module, batch: dict[str, torch.Tensor], variant: str, device: torch.device,
              reps: int, warmup: int, amp: torch.dtype | None) -> tuple[float, float | None]:
    """Mean seconds of one forward + backward, and the peak CUDA memory in GiB (None on a CPU)."""
    scaler = torch.amp.GradScaler("cuda") if amp == torch.float16 and device.type == "cuda" else None

    def step() -> None:
        with torch.autocast(device.type, dtype=amp or torch.float32, enabled=amp is not None):
            out = model(batch["log_mag"])
            loss, _ = sgn_loss(out, batch["target"], batch["weight"], batch["class_idx"], None, variant)
        (scaler.scale(loss) if scaler else loss).backward()
        model.zero_grad(set_to_none=True)

    for _ in range(warmup):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    for _ in range(reps):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    elapsed = (time.perf_counter() - start) / reps
    peak = torch.cuda.max_memory_allocated() / 2**30 if device.type == "cuda" else None
    return elapsed, peak


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--presets", nargs="+", default=list(PRESETS), choices=PRESETS)
    parser.add_argument("--variants", nargs="+", default=["sgn", "sop"], choices=MODEL_VARIANTS)
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "mps"])
    parser.add_argument("--batch", type=int, default=None, help="override the per-preset batch size")
    parser.add_argument("--reps", type=int, default=None, help="override the per-preset repetitions")
    parser.add_argument("--warmup", type=int, default=None, help="override the per-preset warm-up steps")
    parser.add_argument("--amp", nargs="+", default=None, choices=list(DTYPES),
                        help="precisions to time (default: fp32 on a CPU, fp32 bf16 fp16 on CUDA)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    args = parser.parse_args(argv)

    device = get_device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    settings = CUDA_SETTINGS if device.type == "cuda" else CPU_SETTINGS
    precisions = args.amp or (["fp32", "bf16", "fp16"] if device.type == "cuda" else ["fp32"])
    name = torch.cuda.get_device_name() if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print(f"device: {device} ({name}), torch {torch.__version__}")
    header = f"{'preset':<6} {'variant':<8} {'params':>11} {'batch':>5} {'prec':>5} {'ms/sample':>10} {'peak GiB':>9}"
    print(header)
    print("-" * len(header))
    for preset in args.presets:
        for variant in args.variants:
            cfg = get_preset(preset, variant=variant)
            torch.manual_seed(0)
            model = build_model(cfg.model, cfg.audio).to(device).train()
            batch_size, reps, warmup = settings[preset]
            batch_size, reps = args.batch or batch_size, args.reps or reps
            warmup = warmup if args.warmup is None else args.warmup
            batch = synthetic_batch(batch_size, cfg.audio.n_freq_warped, cfg.audio.n_frames,
                                    cfg.model.n_classes, device)
            for prec in precisions:
                try:
                    seconds, peak = time_step(model, batch, variant, device, reps, warmup, DTYPES[prec])
                except torch.OutOfMemoryError:
                    print(f"{preset:<6} {variant:<8} {count_parameters(model):>11,} {batch_size:>5} {prec:>5} "
                          f"{'OOM':>10}")
                    torch.cuda.empty_cache()
                    continue
                peak_s = f"{peak:9.2f}" if peak is not None else f"{'-':>9}"
                print(f"{preset:<6} {variant:<8} {count_parameters(model):>11,} {batch_size:>5} {prec:>5} "
                      f"{1000 * seconds / batch_size:10.2f} {peak_s}", flush=True)
            del model, batch
            if device.type == "cuda":
                torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
