"""What the class features have learned: the paper's Figure 3 (t-SNE) and Figure 4 (token/presence F1).

Figure 3 — *are the per-source features category-aware?* For each held-out
mixture and each of its sources we take a feature vector and colour it by the
source's class:

* SGN-family models: g_i, the class feature of the source's class (B, N, D);
* every model, SoP included: the U-Net's last hidden features pooled under the
  model's own mask for that source, ``Σ_tf m_i(f,t) h(f,t) / Σ_tf m_i`` — so the
  baseline (whose g_i is one fixed vector per class) and SoP (which has no g at
  all) are compared on the same footing.

A picture can flatter, so two numbers go with it, computed in the original
feature space: the silhouette score (cosine; 1 = tight separate class clusters,
0 = overlapping) and leave-one-out 5-nearest-neighbour accuracy of the class.

Figure 4 — precision, recall and F1 of the class tokens (token i classified as
class i) and of the presence head over training, read from a run's history.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ..core.config import AudioConfig
from ..data import MixDataset, SoloLibrary, mix_features
from ..losses.mask import pit_bce
from ..signal.spectral import SpectralFrontEnd


@torch.no_grad()
def source_features(model: torch.nn.Module, library: SoloLibrary, audio_cfg: AudioConfig, n_mixtures: int = 100,
                    seed: int = 0, batch_size: int = 10) -> dict[str, np.ndarray]:
    """Per-source features of `n_mixtures` seeded 2-source mixtures of `library`.

    Returns:
        {"labels": (S,) class index of each source, "pooled": (S, J) mask-pooled U-Net
        features, and "g": (S, D) class features for models that have them}; S = 2·n_mixtures.
    """
    was_training = model.training
    model.eval()
    frontend = SpectralFrontEnd(audio_cfg)
    ds = MixDataset(library, audio_cfg, n_sources=2, n_mixtures=n_mixtures, seed=seed)
    labels, pooled, gs = [], [], []
    for batch in torch.utils.data.DataLoader(ds, batch_size=batch_size):
        cls = batch["class_idx"]  # (B, N)
        feats = mix_features(batch["mixture"], batch["sources"], frontend)
        conditioned = model.class_conditioned
        out = model(feats["log_mag"], classes=cls if conditioned else None)
        masks = torch.sigmoid(out["mask_logits"].float())  # (B, N, F, T); a SoP's: (B, K ≥ N, F, T) slots
        if not conditioned:  # unordered slots: put slot perm[b, j] with reference j (a spare slot is dropped)
            _, perm = pit_bce(out["mask_logits"].float(), feats["target_binary"], feats["weight"])
            # perm (B, N) → (B, N, F, T) indices into the slot axis
            masks = torch.gather(masks, 1, perm[:, :, None, None].expand(-1, -1, *masks.shape[2:]))
        h = model.unet.last_hidden(feats["log_mag"])  # (B, J, F, T)
        # Σ_ft m_i h / Σ_ft m_i: (B, N, F, T) × (B, J, F, T) → (B, N, J)
        weighted = torch.einsum("bnft,bjft->bnj", masks, h) / masks.sum((2, 3)).clamp(min=1e-6)[:, :, None]
        pooled.append(weighted.reshape(-1, weighted.shape[-1]))  # (B·N, J)
        labels.append(cls.reshape(-1))  # (B·N,)
        if out.get("class_features") is not None:
            g = out["class_features"]  # (B, C, D)
            g = torch.gather(g, 1, cls[:, :, None].expand(-1, -1, g.shape[-1]))  # (B, N, D): the sources' classes
            gs.append(g.reshape(-1, g.shape[-1]))  # (B·N, D): one row per source, in the order of `labels`
    model.train(was_training)
    result = {"labels": torch.cat(labels).numpy(), "pooled": torch.cat(pooled).numpy()}
    if gs:
        result["g"] = torch.cat(gs).numpy()
    return result


def embedding_scores(features: np.ndarray, labels: np.ndarray, k: int = 5) -> dict[str, float]:
    """Silhouette score (cosine) and leave-one-out k-NN accuracy of `labels` in the feature space."""
    from sklearn.metrics import silhouette_score

    x = features / (np.linalg.norm(features, axis=1, keepdims=True) + 1e-12)
    if len(np.unique(labels)) < 2 or np.allclose(x, x[0]):
        return {"silhouette": 0.0, "knn_accuracy": float(np.mean(labels == np.bincount(labels).argmax()))}
    sims = x @ x.T  # cosine similarities (S, S)
    np.fill_diagonal(sims, -np.inf)  # leave one out
    neighbours = np.argsort(-sims, axis=1)[:, :k]  # (S, k)
    votes = labels[neighbours]
    pred = np.array([np.bincount(v, minlength=labels.max() + 1).argmax() for v in votes])
    return {"silhouette": float(silhouette_score(x, labels, metric="cosine")),
            "knn_accuracy": float(np.mean(pred == labels))}


def tsne_2d(features: np.ndarray, seed: int = 0, perplexity: float = 30.0) -> np.ndarray:
    """t-SNE of (S, D) features to (S, 2), seeded (scikit-learn)."""
    from sklearn.manifold import TSNE

    perplexity = min(perplexity, max(2.0, (len(features) - 1) / 3))
    return TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed,
                metric="cosine").fit_transform(features.astype(np.float64))


def figure3_data(models: dict[str, torch.nn.Module], library: SoloLibrary, audio_cfg: AudioConfig,
                 n_mixtures: int = 100, seed: int = 0) -> dict[str, Any]:
    """For each model: its feature sets (pooled, and g where it has one), their t-SNE and scores.

    Returns {name: {"kind": {"xy": [[x, y], …], "labels": […], "silhouette": …, "knn_accuracy": …}}}.
    """
    out: dict[str, Any] = {}
    for name, model in models.items():
        feats = source_features(model, library, audio_cfg, n_mixtures=n_mixtures, seed=seed)
        out[name] = {}
        for kind in ("g", "pooled"):
            if kind not in feats:
                continue
            scores = embedding_scores(feats[kind], feats["labels"])
            xy = tsne_2d(feats[kind], seed=seed)
            out[name][kind] = {"xy": np.round(xy, 3).tolist(), "labels": feats["labels"].tolist(), **scores}
    return out


def figure4_data(history: dict[str, Any]) -> dict[str, list[float]]:
    """Precision/recall/F1 of the class tokens and the presence head at each validation step of a run."""
    keys = [f"{head}_{m}" for head in ("token", "presence") for m in ("precision", "recall", "f1")]
    rows = [r for r in history.get("val", []) if any(k in r for k in keys)]
    data = {"step": [r["step"] for r in rows]}
    for k in keys:
        if any(k in r for r in rows):
            data[k] = [r.get(k, float("nan")) for r in rows]
    return data


__all__ = ["embedding_scores", "figure3_data", "figure4_data", "source_features", "tsne_2d"]
