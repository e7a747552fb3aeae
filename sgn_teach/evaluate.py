"""Test-set evaluation with SoP's protocol, plus the reference rows.

For every mixture: masks on the warped grid → un-warped → × mixture magnitude,
mixture phase → iSTFT; references are the ÷N sources; SDR/SIR/SAR (BSS Eval,
no permutation for class-conditioned models) and SI-SDR.

Rows:
    <model name>   each model given (class-conditioned ones use the ground-truth
                   classes by default, or the presence head with classes="auto")
    mixture        the unprocessed mixture as the estimate of every source
    oracle_ibm     the ideal binary mask SoP trains towards, through the warp
    oracle_irm     the ideal ratio mask, through the warp
    nmf            supervised NMF with per-class dictionaries (sgn_teach.nmf)
"""

from __future__ import annotations

import time
from collections import defaultdict
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from .config import AudioConfig
from .data import MixDataset, SoloLibrary, mix_features
from .metrics import bss_eval_batch, summarize
from .nmf import SupervisedNMF, class_magnitudes
from .spectral import SpectralFrontEnd

REFERENCE_ROWS = ("mixture", "oracle_ibm", "oracle_irm", "nmf")


@torch.no_grad()
def model_masks(model: torch.nn.Module, feats: dict[str, torch.Tensor], class_idx: torch.Tensor,
                classes: str = "gt", threshold: float = 0.5) -> tuple[torch.Tensor, dict[str, Any]]:
    """Masks in [0, 1] for the N sources of each mixture.

    Args:
        feats: from :func:`sgn_teach.data.mix_features` (needs `log_mag`).
        class_idx: (B, N) ground-truth classes, in reference order.
        classes: "gt" — the masks of the ground-truth classes (paper protocol);
            "auto" — classes whose presence p_i > threshold; a reference whose
            class was not detected gets an all-zero mask (counted as silent).

    Returns:
        masks (B, N, F, T) and info with `presence` (B, C) probabilities if any.
    """
    from .models import select_masks

    out = model(feats["log_mag"])
    logits = out["mask_logits"].float()
    info: dict[str, Any] = {}
    if not getattr(model, "class_conditioned", False):
        return torch.sigmoid(logits), info  # (B, N, F, T) unordered: pair by permutation
    masks = torch.sigmoid(select_masks(logits, class_idx))  # (B, N, F, T)
    if out.get("presence_logits") is not None:
        info["presence"] = torch.sigmoid(out["presence_logits"].float())
    if classes == "auto":
        if "presence" not in info:
            raise ValueError("classes='auto' needs a model with a presence head (sgn, sct or cag)")
        detected = torch.gather(info["presence"] > threshold, 1, class_idx)  # (B, N): was each reference's class found?
        masks = masks * detected[:, :, None, None].to(masks.dtype)
    return masks, info


def evaluate(models: dict[str, torch.nn.Module], library: SoloLibrary, audio_cfg: AudioConfig, n_sources: int = 2,
             n_mixtures: int = 100, seed: int = 0, rows: tuple[str, ...] = REFERENCE_ROWS, classes: str = "gt",
             backend: str = "fast", batch_size: int = 10, device: torch.device | str = "cpu",
             nmf: SupervisedNMF | None = None, nmf_library: SoloLibrary | None = None,
             progress: bool = True) -> dict[str, Any]:
    """Evaluate models and reference rows on the same seeded mixtures.

    Args:
        models: {row name: model}; each model's input grid must match `audio_cfg`.
        library: the solo clips to mix (usually the `test` split).
        n_mixtures / seed: the mixtures are reproducible from (library, split, N, count, seed).
        rows: which reference rows to add.
        classes: "gt" or "auto" (see :func:`model_masks`).
        nmf_library: the clips NMF learns its dictionaries from (default: the
            `train` split of the same root).

    Returns:
        A JSON-able report: {"rows": {name: {sdr, sir, sar, si_sdr, sdr_median, n,
        n_silent_ref, n_silent_est}}, "per_class": {name: {class: mean SDR}},
        "presence": {...}, "setup": {...}}.
    """
    t0 = time.time()
    device = torch.device(device)
    frontend = SpectralFrontEnd(audio_cfg).to(device)
    ds = MixDataset(library, audio_cfg, n_sources=n_sources, n_mixtures=n_mixtures, seed=seed)
    loader = torch.utils.data.DataLoader(ds, batch_size=batch_size, shuffle=False)
    if "nmf" in rows and nmf is None:
        train_lib = nmf_library or SoloLibrary(library.root, split="train", classes=library.classes)
        nmf = SupervisedNMF().fit(class_magnitudes(train_lib, SpectralFrontEnd(audio_cfg), sample_rate=audio_cfg.sample_rate))
    scores: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    per_class: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    presence_hits = defaultdict(lambda: np.zeros(3))  # name -> (true pos, false pos, false neg)
    for batch in tqdm(loader, desc="evaluate", disable=not progress, leave=False):
        mixture = batch["mixture"].to(device)
        sources = batch["sources"].to(device)
        class_idx = batch["class_idx"].to(device)
        feats = mix_features(mixture, sources, frontend, mask="binary")
        estimates: dict[str, torch.Tensor] = {}
        permute: dict[str, bool] = {}
        for name, model in models.items():
            masks, info = model_masks(model, feats, class_idx, classes=classes)
            estimates[name] = frontend.apply_masks(masks, feats["stft"])
            permute[name] = not getattr(model, "class_conditioned", False)
            if "presence" in info:
                pred = info["presence"] > 0.5                                   # (B, C)
                truth = batch["labels"].to(device) > 0.5
                presence_hits[name] += np.array([(pred & truth).sum().item(), (pred & ~truth).sum().item(),
                                                 (~pred & truth).sum().item()])
        if "mixture" in rows:
            estimates["mixture"] = mixture.unsqueeze(1).expand_as(sources)       # (B, N, L)
        if "oracle_ibm" in rows:
            estimates["oracle_ibm"] = frontend.apply_masks(feats["target_binary"], feats["stft"])
        if "oracle_irm" in rows:
            estimates["oracle_irm"] = frontend.apply_masks(feats["target_ratio"], feats["stft"])
        if "nmf" in rows:
            masks_lin = nmf.masks(feats["mag"][:, 0], class_idx).to(device)    # (B, N, F_lin, T)
            estimates["nmf"] = frontend.apply_linear_masks(masks_lin, feats["stft"])
        ref = sources.double().cpu().numpy()
        cls = batch["class_idx"].numpy()
        for name, est in estimates.items():
            results = bss_eval_batch(ref, est.double().cpu().numpy(), backend=backend,
                                     compute_permutation=permute.get(name, False))
            for b, r in enumerate(results):
                for key in ("sdr", "sir", "sar", "si_sdr"):
                    scores[name][key].extend(r.__dict__[key].tolist())
                scores[name]["silent_ref"].extend(r.silent_ref.tolist())
                scores[name]["silent_est"].extend(r.silent_est.tolist())
                for n, c in enumerate(cls[b]):
                    per_class[name][library.classes[c]].append(float(r.sdr[n]))
    report: dict[str, Any] = {"rows": {}, "per_class": {}, "presence": {}}
    for name, s in scores.items():
        sdr = summarize(s["sdr"])
        report["rows"][name] = {
            "sdr": sdr["mean"], "sir": summarize(s["sir"])["mean"], "sar": summarize(s["sar"])["mean"],
            "si_sdr": summarize(s["si_sdr"])["mean"], "sdr_median": sdr["median"], "n": sdr["n"],
            "n_silent_ref": int(np.sum(s["silent_ref"])), "n_silent_est": int(np.sum(s["silent_est"])),
        }
        report["per_class"][name] = {c: summarize(v)["mean"] for c, v in sorted(per_class[name].items())}
    for name, (tp, fp, fn) in presence_hits.items():
        report["presence"][name] = {"precision": float(tp / max(tp + fp, 1)), "recall": float(tp / max(tp + fn, 1))}
    report["setup"] = {"root": str(library.root), "split": library.split, "n_sources": n_sources,
                       "n_mixtures": n_mixtures, "seed": seed, "classes": classes, "backend": backend,
                       "sample_rate": audio_cfg.sample_rate, "n_samples": audio_cfg.n_samples,
                       "seconds": round(time.time() - t0, 2)}
    return report


def format_table(report: dict[str, Any]) -> str:
    """The rows as a Markdown table (mean dB; median SDR; sources counted)."""
    lines = ["| method | SDR | SIR | SAR | SI-SDR | SDR median | n | silent ref/est |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name, r in report["rows"].items():
        lines.append(f"| {name} | {r['sdr']:.2f} | {r['sir']:.2f} | {r['sar']:.2f} | {r['si_sdr']:.2f} | "
                     f"{r['sdr_median']:.2f} | {r['n']} | {r['n_silent_ref']}/{r['n_silent_est']} |")
    return "\n".join(lines)


def format_per_class(report: dict[str, Any]) -> str:
    """Per-class mean SDR: one row per class, one column per method."""
    names = list(report["per_class"])
    classes = sorted({c for v in report["per_class"].values() for c in v})
    lines = ["| class | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
    for c in classes:
        vals = [report["per_class"][n].get(c, float("nan")) for n in names]
        lines.append(f"| {c} | " + " | ".join(f"{v:.2f}" for v in vals) + " |")
    return "\n".join(lines)


__all__ = ["evaluate", "format_table", "format_per_class", "model_masks"]
