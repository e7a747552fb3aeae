"""Where could SGN's "which instruments play?" come from? Three scores per class, on validation mixtures.

    python benchmarks/bench_presence_evidence.py --checkpoint CK --data data/music11 [--n-mixtures 240]
                                                 [--soundfonts fluidr3]

For seeded mixtures of 1, 2 and 3 sources from the `val` split (never `test`: this chooses designs), each class
of each mixture gets three scores from the model:
- **presence p_i**: the presence head, sigmoid(FC(g_i)) (eq. 7) — what `--classes auto` thresholds;
- **assignment mass Σ_p A_pi / P**: the share of the patches the grouping gave class i (eq. 5). A patch must go to
  *some* class, and eq. 6 divides the mass away, so the presence head never sees it — would it help?
- **mask energy**: the mixture magnitude under class i's mask, as a share of the mixture's.
Per class it prints the ROC AUC (0.5 = chance, 1 = a threshold exists that never errs), the F1 at the best
threshold for that class (an optimistic bound on what per-class calibration can reach), and how often the
top-k scores are exactly the k classes playing when k is given. Then, at the thresholds stored in the checkpoint
(what `--classes auto` uses), each class's F1, misses and false positives, the commonest confusions (class X named
while T plays), and how often the named set is exactly right, by the number of sources. Inference only: minutes on
a CPU.

`--soundfonts` keeps the `val` clips of those SoundFonts only: with a leave-one-SoundFont-out fold's checkpoint
(benchmarks/bench_loso.py) and its held-out SoundFont, it asks whether a naming rule could rescue named outputs on
timbres the model never heard — if told how many play, is the top-k the right set? (`val` clips: a diagnosis, not
the fold's `test` score.)
"""

from __future__ import annotations

import argparse
from collections import Counter

import numpy as np
import torch

from sgn_teach.core.device import get_device
from sgn_teach.data import MixDataset, SoloLibrary
from sgn_teach.evaluation.naming import f1_at_thresholds
from sgn_teach.hub.build import load_checkpoint
from sgn_teach.signal.spectral import SpectralFrontEnd


def auc(score: np.ndarray, truth: np.ndarray) -> float:
    """ROC AUC from ranks (Mann–Whitney U; ties share their mean rank): (M,), (M,) bool → float."""
    order = np.argsort(score, kind="stable")
    ranks = np.empty(len(score))
    ranks[order] = np.arange(1, len(score) + 1)
    for value in np.unique(score):  # mean rank within ties
        tied = score == value
        ranks[tied] = ranks[tied].mean()
    pos, neg = truth.sum(), (~truth).sum()
    return float((ranks[truth].sum() - pos * (pos + 1) / 2) / (pos * neg)) if pos and neg else float("nan")


def best_f1(score: np.ndarray, truth: np.ndarray) -> float:
    """The F1 of the decision at the best threshold: (M,), (M,) bool → float (every distinct score tried)."""
    return float(f1_at_thresholds(score, truth, np.concatenate([[-np.inf], np.unique(score)])).max())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", required=True, help="an SGN checkpoint (a model with a presence head)")
    p.add_argument("--data", default="data/music11")
    p.add_argument("--n-mixtures", type=int, default=240, help="in all, an equal share of 1, 2 and 3 sources")
    p.add_argument("--seed", type=int, default=900)
    p.add_argument("--soundfonts", default=None, help="comma-separated: val clips of these SoundFonts only")
    p.add_argument("--device", default="auto")
    args = p.parse_args()
    dev = get_device(args.device)
    model, cfg, classes, _, _ = load_checkpoint(args.checkpoint, device=dev)
    if not getattr(model, "has_presence_head", False) or model.grouping is None:
        raise SystemExit("error: needs an SGN checkpoint (presence head and grouping)")
    model.eval()
    fe = SpectralFrontEnd(cfg.audio).to(dev)
    fonts = args.soundfonts.split(",") if args.soundfonts else None
    lib = SoloLibrary(args.data, split="val", classes=classes, soundfonts=fonts)
    scores: dict[str, list[np.ndarray]] = {"presence p_i": [], "assignment mass": [], "mask energy": []}
    truth = []
    for n in (1, 2, 3):
        ds = MixDataset(lib, cfg.audio, n_sources=n, n_mixtures=max(args.n_mixtures // 3, 1), seed=args.seed + n)
        for batch in torch.utils.data.DataLoader(ds, batch_size=40):
            with torch.no_grad():
                feats = fe.analyse(batch["mixture"].to(dev))
                out = model(feats["log_mag"])                                      # every class's mask
                w = feats["mag_warped"]                                            # (B, 1, F, T)
                masks = torch.sigmoid(out["mask_logits"].float())                  # (B, C, F, T)
            scores["presence p_i"].append(torch.sigmoid(out["presence_logits"].float()).cpu().numpy())  # (B, C)
            scores["assignment mass"].append(out["assign"].float().mean(1).cpu().numpy())  # (B, P, C) → (B, C)
            scores["mask energy"].append(((masks * w).sum((2, 3)) / w.sum((2, 3))).cpu().numpy())  # (B, C)
            truth.append(batch["labels"].numpy() > 0.5)                           # (B, C)
    y = np.concatenate(truth)                                                      # (M, C)
    k = y.sum(1)
    print(f"{args.checkpoint}: {len(y)} val mixtures of 1/2/3 sources, {len(classes)} classes"
          f"{', SoundFonts ' + args.soundfonts if fonts else ''}\n")
    print("| score | mean per-class AUC | mean per-class F1 at its best threshold | top-k = the k playing |")
    print("|---|---:|---:|---:|")
    for name, parts in scores.items():
        s = np.concatenate(parts)                                                  # (M, C)
        aucs = [auc(s[:, c], y[:, c]) for c in range(y.shape[1])]
        f1s = [best_f1(s[:, c], y[:, c]) for c in range(y.shape[1])]
        topk = np.mean([set(np.argsort(-row)[:kk]) == set(np.flatnonzero(t)) for row, t, kk in zip(s, y, k)])
        print(f"| {name} | {np.nanmean(aucs):.3f} | {np.mean(f1s):.3f} | {topk:.3f} |")
    print_named_errors(np.concatenate(scores["presence p_i"]), y, model.presence_thresholds.cpu().numpy(), classes)


def print_named_errors(p: np.ndarray, y: np.ndarray, thresholds: np.ndarray, classes: list[str]) -> None:
    """At the calibrated thresholds: per-class F1, misses, false positives; confusions; exact sets by count.

    p (M, C) presence probabilities, y (M, C) bool truth, thresholds (C,)."""
    pred = p > thresholds[None, :]                                                 # (M, C): what `auto` names
    print("\nat the checkpoint's thresholds (`--classes auto`):\n")
    print("| class | threshold | F1 | missed / playing | false positives |")
    print("|---|---:|---:|---:|---:|")
    for c, name in enumerate(classes):
        f1 = f1_at_thresholds(p[:, c], y[:, c], thresholds[c:c + 1])[0]
        print(f"| {name} | {thresholds[c]:.2f} | {f1:.2f} | {int((~pred[:, c] & y[:, c]).sum())} / {int(y[:, c].sum())} | "
              f"{int((pred[:, c] & ~y[:, c]).sum())} |")
    named_falsely = Counter((classes[t], classes[c]) for i in range(len(y))
                            for c in np.flatnonzero(pred[i] & ~y[i]) for t in np.flatnonzero(y[i]))
    print("\ncommonest false names (X named while T plays, counted once per T in the mixture): " +
          ", ".join(f"{x} with {t} {k}" for (t, x), k in named_falsely.most_common(8)))
    for n in sorted(set(y.sum(1))):
        sel = y.sum(1) == n
        print(f"{n} source(s): the named set is exactly right in {np.mean((pred[sel] == y[sel]).all(1)):.0%} of "
              f"{int(sel.sum())} mixtures; the right number of classes in {np.mean(pred[sel].sum(1) == n):.0%}")


if __name__ == "__main__":
    main()
