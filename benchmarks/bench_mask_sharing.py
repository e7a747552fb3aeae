"""Should the classes asked for compete for each bin? The exponent of competing masks, chosen on validation.

    python benchmarks/bench_mask_sharing.py [--checkpoint CK] --data data/music11 [--n-mixtures 100] [--powers 1 2 3 4]

SGN predicts each class's mask with its own sigmoid (the paper's rule, "independent"). Competing masks
(`sgn_teach.signal.sharing`) share each bin among the classes in play: m̃_i = m_i^p / Σ_j m_j^p · min(1, Σ_j m_j).
For seeded mixtures of 2 and of 3 sources from the `val` split (never `test`: this chooses the exponent), the
labels given, it prints SDR for the independent masks and for each exponent p, with the paired difference to the
independent masks (95 % bootstrap over mixtures). p = 1 is a plain normalisation; a larger p sharpens the shares
toward the most confident class. Inference only: a few minutes on a CPU.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from tqdm.auto import tqdm

from sgn_teach.core.device import get_device
from sgn_teach.data import MixDataset, SoloLibrary, mix_features
from sgn_teach.evaluation.evaluate import model_masks
from sgn_teach.hub.build import load_checkpoint
from sgn_teach.hub.shipped import shipped_checkpoint
from sgn_teach.signal.metrics import bss_eval_batch
from sgn_teach.signal.sharing import compete_masks
from sgn_teach.signal.spectral import SpectralFrontEnd
from sgn_teach.signal.stats import describe_difference, paired_bootstrap_ci, per_mixture


def sdr_by_rule(model, library, audio_cfg, n_sources: int, n_mixtures: int, seed: int, powers, device):
    """{rule: per-source SDR list} for the independent masks and each exponent, on the same mixtures."""
    fe = SpectralFrontEnd(audio_cfg).to(device)
    loader = torch.utils.data.DataLoader(MixDataset(library, audio_cfg, n_sources=n_sources, n_mixtures=n_mixtures,
                                                    seed=seed), batch_size=10)
    rules = ["independent"] + [f"compete, p = {p:g}" for p in powers]
    sdr: dict[str, list[float]] = {r: [] for r in rules}
    for batch in tqdm(loader, desc=f"{n_sources} sources", leave=False):
        f = mix_features(batch["mixture"].to(device), batch["sources"].to(device), fe, mask="binary")
        with torch.no_grad():
            masks, _ = model_masks(model, f, batch["class_idx"].to(device))  # (B, N, F, T), the true classes
        ref = batch["sources"].double().numpy()
        for rule, p in zip(rules, [None, *powers]):
            shared = masks if p is None else compete_masks(masks, power=p)
            est = fe.apply_masks(shared, f["stft"]).double().cpu().numpy()
            for r in bss_eval_batch(ref, est):
                sdr[rule].extend(r.sdr.tolist())
    return sdr


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", default=None, help="default: the shipped sgn_small")
    p.add_argument("--data", default="data/music11")
    p.add_argument("--n-mixtures", type=int, default=100)
    p.add_argument("--seed", type=int, default=3)
    p.add_argument("--powers", type=float, nargs="+", default=[1.0, 2.0, 3.0, 4.0])
    p.add_argument("--device", default="auto")
    args = p.parse_args()
    dev = get_device(args.device)
    model, cfg, classes, _, _ = load_checkpoint(args.checkpoint or shipped_checkpoint("sgn_small"), device=dev)
    if not model.class_conditioned:
        raise SystemExit("error: the exponent is chosen for a class-conditioned model (SGN); this is a sop model")
    model.eval()
    val = SoloLibrary(args.data, split="val", classes=classes)
    print(f"{args.checkpoint or 'the shipped sgn_small'}: {args.n_mixtures} val mixtures per row (seed {args.seed}), "
          "labels given; SDR in dB, mean over sources\n")
    print("| sources | masks | SDR | − independent (paired, 95 % CI) |\n|---:|---|---:|---|")
    for n in (2, 3):
        sdr = sdr_by_rule(model, val, cfg.audio, n, args.n_mixtures, args.seed, args.powers, dev)
        base = per_mixture(sdr["independent"], n)
        for rule, values in sdr.items():
            diff = "" if rule == "independent" else describe_difference(
                *paired_bootstrap_ci(per_mixture(values, n), base))
            print(f"| {n} | {rule} | {np.mean(values):.2f} | {diff} |")


if __name__ == "__main__":
    main()
