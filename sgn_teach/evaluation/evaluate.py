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
    nmf            supervised NMF with per-class dictionaries (sgn_teach.evaluation.nmf)
"""

from __future__ import annotations

import time
from collections import defaultdict
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from ..core.config import AudioConfig
from ..data import MixDataset, SoloLibrary, mix_features
from ..models.interface import masks_for
from ..signal.metrics import best_slots, bss_eval_batch, summarize
from ..signal.sharing import share_masks
from ..signal.spectral import SpectralFrontEnd
from .naming import name_slots, named_estimates
from .nmf import SupervisedNMF, class_magnitudes

REFERENCE_ROWS = ("mixture", "oracle_ibm", "oracle_irm", "nmf")


@torch.no_grad()
def model_masks(model: torch.nn.Module, feats: dict[str, torch.Tensor], class_idx: torch.Tensor,
                classes: str = "gt", binarize: bool = False,
                sharing: str = "independent") -> tuple[torch.Tensor, dict[str, Any]]:
    """Masks in [0, 1] for the N sources of each mixture.

    Args:
        feats: from :func:`sgn_teach.data.mix_features` (needs `log_mag`).
        class_idx: (B, N) ground-truth classes, in reference order.
        classes: "gt" — the masks of the ground-truth classes (paper protocol);
            "auto" — classes whose presence p_i exceeds the model's calibrated threshold
            t_i (its buffer `presence_thresholds`; 0.5 before calibration); a reference whose
            class was not detected gets an all-zero mask (a silent estimate),
            which :mod:`sgn_teach.signal.metrics` scores at MISSED_DB in every metric
            while its partners are still scored against all references.
        binarize: threshold the masks at 0.5 (SoP's test protocol) instead of
            using the soft sigmoid values (ours, the default).
        sharing: "independent" (the paper's) or "compete" (:mod:`sgn_teach.signal.sharing`): the masks
            of the classes in play compete for each bin — the N given classes, or with "auto" every class
            the model named (false positives take their share, as they would in `separate`), or SoP's slots.

    Returns:
        masks (B, N, F, T) and info with `presence` (B, C) probabilities, `detected` (B, C) bool (p_i > t_i)
        and `token_pred` (B, C) — the class each class token is classified as — where the model has them.
    """
    every_class = model.class_conditioned and classes == "auto" and sharing != "independent"
    asked = None if every_class or not model.class_conditioned else class_idx
    sep = masks_for(model, feats["log_mag"], asked)  # (B, N, F, T), or (B, C, F, T) for every class
    masks = sep.masks
    info: dict[str, Any] = {k: v for k, v in (("presence", sep.presence), ("token_pred", sep.token_pred))
                            if v is not None}
    if model.class_conditioned and "presence" in info:
        info["detected"] = info["presence"] > model.presence_thresholds.float().to(masks.device)  # (B, C) > (C,)
    if model.class_conditioned and classes == "auto":
        if "presence" not in info:
            from ..core.errors import ConfigError

            raise ConfigError("--classes auto needs a model with a presence head (sgn, sct or cag)")
        if every_class:  # the named classes compete, then each reference reads its own class's mask
            named = share_masks(masks * info["detected"][:, :, None, None].to(masks.dtype), sharing)  # (B, C, F, T)
            masks = named[torch.arange(len(class_idx), device=masks.device)[:, None], class_idx]     # (B, N, F, T)
        else:
            detected = torch.gather(info["detected"], 1, class_idx)  # (B, N): was each reference's class found?
            masks = masks * detected[:, :, None, None].to(masks.dtype)
    else:
        masks = share_masks(masks, sharing)  # the N given classes, or SoP's slots
    if binarize:
        masks = (masks > 0.5).to(masks.dtype)
    return masks, info


def evaluate(models: dict[str, torch.nn.Module], library: SoloLibrary, audio_cfg: AudioConfig, n_sources: int = 2,
             n_mixtures: int = 100, seed: int = 0, rows: tuple[str, ...] = REFERENCE_ROWS, classes: str = "gt",
             backend: str = "fast", batch_size: int = 10, device: torch.device | str = "cpu",
             nmf: SupervisedNMF | None = None, nmf_library: SoloLibrary | None = None,
             progress: bool = True, binarize: bool = False,
             classifiers: dict[str, torch.nn.Module] | None = None, sharing: str = "independent") -> dict[str, Any]:
    """Evaluate models and reference rows on the same seeded mixtures.

    Args:
        models: {row name: model}; each model's input grid must match `audio_cfg`.
        library: the solo clips to mix (usually the `test` split).
        n_mixtures / seed: the mixtures are reproducible from (library, split, N, count, seed).
        rows: which reference rows to add.
        classes: "gt" or "auto" (see :func:`model_masks`).
        nmf_library: the clips NMF learns its dictionaries from (default: the
            `train` split of the same root).
        binarize: threshold model masks at 0.5 before applying them (SoP's protocol);
            the default scores the soft masks, which is what the course's tables use.
        sharing: how the models' masks share a bin (:func:`model_masks`): "independent" (the paper's) or "compete".

    Every model is put in eval mode for the evaluation (BatchNorm's running
    statistics, no dropout) and given back in the mode it came in.

    Returns:
        A JSON-able report: {"rows": {name: {sdr, sir, sar, si_sdr, sdr_median, n,
        n_silent_ref, n_silent_est}}, "per_class": {name: {class: mean SDR}},
        "presence": {name: {precision, recall, f1}}, "token": {name: {precision,
        recall, f1}} (macro-averaged over classes), "scores": {name: {"sdr": [...], …}}
        (per source, for confidence intervals), "setup": {...}}.
    """
    from ..core.checks import require_int

    require_int("--n-mixtures", n_mixtures)
    require_int("--n-sources", n_sources)
    modes = {name: m.training for name, m in models.items()}
    for m in models.values():
        m.eval()
    try:
        return _evaluate(models, library, audio_cfg, n_sources, n_mixtures, seed, rows, classes, backend,
                         batch_size, device, nmf, nmf_library, progress, binarize, classifiers or {}, sharing)
    finally:
        for name, m in models.items():
            m.train(modes[name])


def _evaluate(models, library, audio_cfg, n_sources, n_mixtures, seed, rows, classes, backend, batch_size,
              device, nmf, nmf_library, progress, binarize, classifiers, sharing) -> dict[str, Any]:
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
    C = len(library.classes)
    token_hits = defaultdict(lambda: np.zeros((3, C)))  # name -> per class (true pos, false pos, false neg)
    for batch in tqdm(loader, desc="evaluate", disable=not progress, leave=False):
        mixture = batch["mixture"].to(device)
        sources = batch["sources"].to(device)
        class_idx = batch["class_idx"].to(device)
        feats = mix_features(mixture, sources, frontend, mask="binary")
        estimates: dict[str, torch.Tensor] = {}
        permute: dict[str, bool] = {}
        for name, model in models.items():
            masks, info = model_masks(model, feats, class_idx, classes=classes, binarize=binarize, sharing=sharing)
            estimates[name] = frontend.apply_masks(masks, feats["stft"])
            permute[name] = not model.class_conditioned
            if permute[name] and classes == "auto" and name in classifiers:  # SoP + classifier: named slots
                slot_cls = name_slots(classifiers[name], estimates[name], mixture)  # (B, S), −1: an empty slot
                estimates[name], permute[name] = named_estimates(slot_cls, estimates[name], class_idx), False
                info["detected"] = torch.zeros(len(slot_cls), C + 1, dtype=torch.bool, device=device).scatter_(
                    1, slot_cls % (C + 1), True)[:, :C]                          # (B, C): the classes named
            if "detected" in info:
                pred = info["detected"]                                         # (B, C)
                truth = batch["labels"].to(device) > 0.5
                presence_hits[name] += np.array([(pred & truth).sum().item(), (pred & ~truth).sum().item(),
                                                 (~pred & truth).sum().item()])
            if "token_pred" in info:
                pred = info["token_pred"].cpu().numpy()                       # (B, C): token i → class pred[b, i]
                own = np.arange(pred.shape[1])
                for b in range(pred.shape[0]):
                    right = pred[b] == own
                    np.add.at(token_hits[name][0], own[right], 1)          # token i said i
                    np.add.at(token_hits[name][1], pred[b][~right], 1)     # ... said another class: a false positive
                    np.add.at(token_hits[name][2], own[~right], 1)         # ... and a miss of its own
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
        for name in models:
            if not bool(torch.isfinite(estimates[name]).all()):
                from ..core.errors import CheckpointError

                raise CheckpointError(f"{name}: the model's estimates are not finite (NaN or infinite): its weights "
                                      "or config are damaged; no score is reported")
        for name, est in estimates.items():
            est = est.double().cpu().numpy()
            if permute.get(name, False) and est.shape[1] > ref.shape[1]:  # more slots than sources: the best N
                est = np.stack([e[best_slots(r, e)] for r, e in zip(ref, est)])
            results = bss_eval_batch(ref, est, backend=backend, compute_permutation=permute.get(name, False))
            for b, r in enumerate(results):
                for key in ("sdr", "sir", "sar", "si_sdr"):
                    scores[name][key].extend(r.__dict__[key].tolist())
                scores[name]["silent_ref"].extend(r.silent_ref.tolist())
                scores[name]["silent_est"].extend(r.silent_est.tolist())
                for n, c in enumerate(cls[b]):
                    per_class[name][library.classes[c]].append(float(r.sdr[n]))
    report: dict[str, Any] = {"rows": {}, "per_class": {}, "presence": {}, "token": {}, "scores": {}}
    for name, s in scores.items():
        sdr = summarize(s["sdr"])
        report["rows"][name] = {
            "sdr": sdr["mean"], "sir": summarize(s["sir"])["mean"], "sar": summarize(s["sar"])["mean"],
            "si_sdr": summarize(s["si_sdr"])["mean"], "sdr_median": sdr["median"], "n": sdr["n"],
            "n_silent_ref": int(np.sum(s["silent_ref"])), "n_silent_est": int(np.sum(s["silent_est"])),
        }
        report["per_class"][name] = {c: summarize(v)["mean"] for c, v in sorted(per_class[name].items())}
        report["scores"][name] = {k: [round(float(x), 4) for x in s[k]] for k in ("sdr", "sir", "sar", "si_sdr")}
    for name, (tp, fp, fn) in presence_hits.items():  # (named classes: the presence head's, or SoP's classifier's)
        report["presence"][name] = {**_prf(tp, fp, fn), "false_positives": int(fp), "misses": int(fn),
                                    "mixtures": n_mixtures}
    for name, (tp, fp, fn) in token_hits.items():
        per = [_prf(tp[c], fp[c], fn[c]) for c in range(C)]
        report["token"][name] = {k: float(np.mean([p[k] for p in per])) for k in ("precision", "recall", "f1")}
    report["setup"] = {"root": str(library.root), "split": library.split, "n_sources": n_sources,
                       "n_mixtures": n_mixtures, "seed": seed, "classes": classes, "backend": backend,
                       "sample_rate": audio_cfg.sample_rate, "n_samples": audio_cfg.n_samples,
                       "binarize": binarize, "sharing": sharing, "soundfonts": getattr(library, "soundfonts", []),
                       "seconds": round(time.time() - t0, 2)}
    return report


def _prf(tp: float, fp: float, fn: float) -> dict[str, float]:
    """Precision, recall and F1 from counts (0 where undefined)."""
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return {"precision": float(p), "recall": float(r), "f1": float(2 * p * r / (p + r)) if p + r else 0.0}



def paired_differences(report: dict[str, Any], n_sources: int = 2, pairs: tuple[tuple[str, str], ...] = (
        ("sgn", "sop"), ("sgn", "nmf"), ("sop", "nmf"))) -> dict[str, Any]:
    """SDR differences between rows of `report` on the same sources, each with a 95 % paired bootstrap
    interval over mixtures. Returns {"a-b": [mean, low, high] for each pair present, "lines": printable}."""
    from ..signal.stats import describe_difference, mixture_groups, paired_bootstrap_ci

    out: dict[str, Any] = {"lines": ["SDR differences on the same sources, 95 % paired bootstrap over mixtures:"]}
    for a, b in pairs:
        if a in report["scores"] and b in report["scores"]:
            x, y = report["scores"][a]["sdr"], report["scores"][b]["sdr"]  # (S,) each, mixture by mixture
            mean, low, high = paired_bootstrap_ci(x, y, groups=mixture_groups(len(x), n_sources))
            out[f"{a}-{b}"] = [mean, low, high]
            out["lines"].append(f"  {a} − {b}: {describe_difference(mean, low, high)}")
    return out

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


__all__ = ["evaluate", "format_table", "format_per_class", "model_masks", "paired_differences"]
