"""The Semantic Grouping Network and its ablations (paper §III, Table III).

    log_mag (B, 1, F, T) ─┬─ U-Net ───────────────────────────▶ U (B, D, F, T)
                          └─ patches ─ transformer ─ grouping ─▶ g (B, C, D)
    mask_logits[b, i, f, t] = ⟨g_i, U(f, t)⟩ / √D + bias       (B, C, F, T)

The 1/√D keeps the logits near SoP's scale at initialisation (|g| ≈ √D would
otherwise make them ~14× larger and slow the first few hundred steps), as in
dot-product attention. U's last layer is a linear 3×3 convolution, so the inner
product can be folded into it (:func:`light_reconstruction`): the same numbers,
without ever materialising the D channels of U at full resolution — SGN's
costliest layer on a CPU.

One mask per *class*: to separate a violin and a flute, read the two channels
of those classes (`select_masks`). The variants differ in where g_i comes from:

| variant    | class tokens read the mixture | grouping | g_i                            |
|------------|-------------------------------|----------|--------------------------------|
| `baseline` | no                            | no       | a learned per-class embedding  |
| `sct`      | yes, with class-constraint CE | no       | transformer output ĉ_i         |
| `cag`      | no: plain learned queries     | yes      | grouped feature                |
| `sgn`      | yes                           | yes      | grouped feature (full model)   |
| `attn`     | yes                           | no: class tokens attend over the patches | attended feature |

`attn` is our control, not a row of the paper: SGN with the grouping's softmax over classes
replaced by an ordinary softmax over patches (:class:`ClassQueryAttention`, the same
parameters), so it differs from `sgn` in one thing — whether classes compete for a patch —
where `baseline` differs in three (no transformer, no presence head, fewer parameters).

An extension of ours, not the paper's (``ModelConfig.trunk = "film"``): in the paper the
U-Net never learns which classes are present — class information enters only at its
last, linear layer. With the `film` trunk the decoder runs once per wanted class and
every decoder level is FiLM-modulated by that class's feature g_i (the encoder still
runs once per mixture), so the trunk itself shapes U for the instrument asked for:

    mask_logits[b, i] = ⟨g_i, U_i(f, t)⟩ / √D + bias,   U_i = decoder(encoder(log_mag) | FiLM(g_i))

FiLM starts as the identity, so at initialisation the `film` SGN computes exactly the paper's.

A second extension (``ModelConfig.presence = "trunk"``): the presence head reads the U-Net encoder's
pooled deepest features instead of g_i (:class:`sgn_teach.models.trunk_presence.TrunkPresenceHead`) — the
encoder runs once per mixture and its features serve the presence head and the decoder alike.

The presence head's decision threshold, one per class, is the buffer `presence_thresholds`
(0.5 until a training calibrates it on validation mixtures: ``classes="auto"`` uses it).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..core.config import ModelConfig
from .film import FiLM
from .grouping import CategoryAwareGrouping, ClassQueryAttention, PresenceHead
from .inputs import check_classes, check_log_mag
from .tokens import ClassTokenTransformer, PatchEmbedding
from .trunk_presence import TrunkPresenceHead
from .unet import UNet, unet_widths

SGN_VARIANTS = ("sgn", "sct", "cag", "baseline", "attn")
PRESENCE_VARIANTS = ("sgn", "sct", "cag", "attn")  # the variants with a presence head (`baseline` has none)


class SGN(nn.Module):
    """Class-conditioned separator: one mask logit map per class.

    Args:
        cfg: model sizes and `cfg.variant` (one of SGN_VARIANTS).
        grid: (F, T) of the warped spectrogram, for the patch count and shape checks.

    forward(log_mag (B, 1, F, T), classes (B, K) long or None) → dict with
        mask_logits     (B, C, F, T), or (B, K, F, T) for the K classes asked for
        mask_classes    (B, K) or None: which class each mask_logits channel is
        token_logits    (B, C, C) or None   class-constraint logits (`sct`, `sgn`, `attn`)
        presence_logits (B, C)    or None   is class i present? (all but `baseline`)
        assign          (B, P, C) or None   grouping assignment A (`cag`, `sgn`; `attn`: its attention)
        class_features  (B, C, D)           g
    """

    class_conditioned = True   # the flags of the Separator protocol (sgn_teach.models.interface)
    generative = False
    takes_prompts = False

    def __init__(self, cfg: ModelConfig, grid: tuple[int, int]) -> None:
        super().__init__()
        if cfg.variant not in SGN_VARIANTS:
            raise ValueError(f"SGN variant must be one of {', '.join(SGN_VARIANTS)}, not {cfg.variant!r}")
        self.cfg = cfg
        self.variant = cfg.variant
        self.grid = tuple(grid)
        C, D = cfg.n_classes, cfg.dim
        uses_tokens = self.variant in ("sct", "sgn", "attn")  # class tokens inside the transformer
        uses_grouping = self.variant in ("cag", "sgn")

        self.unet = UNet(in_channels=1, out_channels=D, ngf=cfg.ngf, levels=cfg.unet_levels)
        self.unet.check_grid(*self.grid)

        self.patch_embed: PatchEmbedding | None = None
        self.transformer: ClassTokenTransformer | None = None
        self.class_queries: nn.Parameter | None = None  # `cag`: plain learned queries
        self.class_embed: nn.Parameter | None = None  # `baseline`: g_i itself
        self.grouping: CategoryAwareGrouping | None = None  # `attn`: ClassQueryAttention, its subclass
        self.presence_head: PresenceHead | None = None

        if self.variant == "baseline":
            self.class_embed = nn.Parameter(torch.randn(C, D) * D**-0.5)  # (C, D)
        else:
            self.patch_embed = PatchEmbedding(D, cfg.patch_size, self.grid)
            self.transformer = ClassTokenTransformer(
                D, cfg.depth, cfg.heads, n_classes=C if uses_tokens else 0, mlp_ratio=cfg.mlp_ratio,
                dropout=cfg.dropout, n_patches=self.patch_embed.n_patches)
            if not uses_tokens:
                self.class_queries = nn.Parameter(torch.zeros(C, D))  # (C, D), never seen by the transformer
                nn.init.trunc_normal_(self.class_queries, std=0.02)
            if uses_grouping:
                self.grouping = CategoryAwareGrouping(D, assign=cfg.assign, tau=cfg.gumbel_tau)
            elif self.variant == "attn":  # the control: the same parameters, softmax over patches
                self.grouping = ClassQueryAttention(D)
            self.presence_head = PresenceHead(D)
        self.trunk_presence: TrunkPresenceHead | None = None
        if cfg.presence == "trunk":  # the extension: presence from the encoder's features, not from g_i
            self.presence_head = None
            self.trunk_presence = TrunkPresenceHead(unet_widths(cfg.ngf, cfg.unet_levels)[-1], C, hidden=D)
        self.film: nn.ModuleList | None = None
        if cfg.trunk == "film":  # the extension: the decoder hears what the class branch found (one pass per class)
            widths = unet_widths(cfg.ngf, cfg.unet_levels)
            # film[l] modulates the decoder input at level l: l = L-1 the bottleneck, l < L-1 the output of up block l+1
            self.film = nn.ModuleList([FiLM(D, widths[level]) for level in range(cfg.unet_levels)])
        self.mask_bias = nn.Parameter(torch.zeros(1))  # b in ⟨g_i, U(f, t)⟩ / √D + b
        # the presence head's threshold per class: calibrated on validation mixtures after training
        self.register_buffer("presence_thresholds", torch.full((C,), 0.5))
        self.logit_scale = D**-0.5 if cfg.logit_scale else 1.0

    @property
    def has_presence_head(self) -> bool:
        """Every variant but `baseline` says which classes are present."""
        return self.presence_head is not None or self.trunk_presence is not None

    def presence_logits(self, log_mag: torch.Tensor) -> torch.Tensor | None:
        """The class branch alone: (B, 1, F, T) → presence logits (B, C), or None for `baseline`."""
        return self.class_features(log_mag)["presence_logits"]

    def class_features(self, log_mag: torch.Tensor,
                       skips: list[torch.Tensor] | None = None) -> dict[str, torch.Tensor | None]:
        """The class branch: (B, 1, F, T) → g (B, C, D) and the optional outputs.

        `skips`: the U-Net encoder's outputs for `log_mag`, which the `trunk` presence head reads (computed here
        when not given).
        """
        B = log_mag.shape[0]
        out: dict[str, torch.Tensor | None] = {"token_logits": None, "presence_logits": None, "assign": None}
        if self.variant == "baseline":
            g = self.class_embed.unsqueeze(0).expand(B, -1, -1)  # (C, D) → (B, C, D), same for every mixture
        else:
            patches = self.patch_embed(log_mag)  # (B, P, D)
            f_hat, c_hat = self.transformer(patches)  # (B, P, D), (B, C, D) or None
            if c_hat is not None:
                out["token_logits"] = self.transformer.token_logits(c_hat)  # (B, C, C)
            else:
                c_hat = self.class_queries.unsqueeze(0).expand(B, -1, -1)  # (C, D) → (B, C, D)
            if self.grouping is not None:
                g, out["assign"] = self.grouping(f_hat, c_hat)  # (B, C, D), (B, P, C)
            else:
                g = c_hat
            if self.presence_head is not None:
                out["presence_logits"] = self.presence_head(g)  # (B, C)
        if self.trunk_presence is not None:
            skips = self.unet.encode(log_mag) if skips is None else skips
            out["presence_logits"] = self.trunk_presence(skips[-1])  # (B, C) from the deepest encoder level
        out["class_features"] = g
        return out

    def forward(self, log_mag: torch.Tensor, classes: torch.Tensor | None = None) -> dict[str, torch.Tensor | None]:
        """log-magnitude (B, 1, F, T) → dict (see the class docstring).

        classes: (B, K) long — compute the masks of these classes only (training
        asks for the N classes of each mixture); None — all C classes.
        """
        check_log_mag(log_mag, self.grid, self.mask_bias.dtype)
        if classes is not None:
            check_classes(classes, log_mag.shape[0], self.cfg.n_classes)
        skips = self.unet.encode(log_mag)  # the U-Net's down path, once: for the decoder (and the `trunk` presence head)
        out = self.class_features(log_mag, skips)
        g = out["class_features"]  # (B, C, D)
        if classes is not None:
            # (B, K) → (B, K, D) for gather: the class features of the wanted classes only
            g = torch.gather(g, 1, classes.long()[:, :, None].expand(-1, -1, g.shape[-1]))
        if self.film is not None:
            B, K, D = g.shape
            h = self.film_hidden(log_mag, g, skips)  # (B·K, 2·ngf, F, T): one decoder pass per (mixture, class)
            # (B, K, D) → (B·K, 1, D): each decoder pass reads its own class feature
            logits = light_reconstruction(h, self.unet.last_conv, g.reshape(B * K, 1, D) * self.logit_scale)
            logits = logits.reshape(B, K, *logits.shape[-2:])  # (B·K, 1, F, T) → (B, K, F, T)
        elif self.cfg.fused_reconstruction:
            h = self.unet.decode(skips, stop_before_last_conv=True)  # (B, 2·ngf, F, T): U before its last conv
            logits = light_reconstruction(h, self.unet.last_conv, g * self.logit_scale)
        else:
            U = self.unet.decode(skips)  # (B, D, F, T): a D-vector per time-frequency bin
            # light reconstruction (eq. 10): inner product over D for every class and bin
            logits = torch.einsum("bcd,bdft->bcft", g * self.logit_scale, U)
        out["mask_logits"] = logits + self.mask_bias  # (B, K, F, T)
        out["mask_classes"] = classes
        return out


    def film_hidden(self, log_mag: torch.Tensor, g: torch.Tensor,
                    skips: list[torch.Tensor] | None = None) -> torch.Tensor:
        """The `film` trunk: the encoder once, the decoder once per class feature, FiLM-conditioned on it.

        log_mag (B, 1, F, T), g (B, K, D) → the input of the U-Net's last conv, (B·K, 2·ngf, F, T), mixture-major.
        `skips`: the encoder's outputs for `log_mag` when the caller has them already.
        """
        B, K, D = g.shape
        unet = self.unet
        if skips is None:
            skips = unet.encode(log_mag)  # [d_0 … d_{L-1}], once per mixture
        cond = g.reshape(B * K, D)  # (B, K, D) → (B·K, D)
        rep = [s.repeat_interleave(K, dim=0) for s in skips]  # each mixture's skips for its K classes: (B·K, …)
        L = len(rep)
        h = self.film[L - 1](rep[L - 1], cond)
        for k in reversed(range(1, L)):
            if k < L - 1:
                h = torch.cat([rep[k], h], dim=1)  # skip connection: (B·K, w, f, t) + (B·K, w, f, t) → (B·K, 2w, f, t)
            h = self.film[k - 1](unet.up[k](h), cond)
        h = torch.cat([rep[0], h], dim=1) if L > 1 else h  # the outermost skip
        return unet.up[0][1](unet.up[0][0](h))  # ReLU → Upsample: the input of the last 3×3 conv


def light_reconstruction(h: torch.Tensor, conv: nn.Conv2d, g: torch.Tensor) -> torch.Tensor:
    """⟨g_k, conv(h)(f, t)⟩ for every k and bin, without computing conv(h).

    U = conv(h) = Σ_j W[:, j] ⋆ h_j + bias is linear, so for each class feature g_k
        ⟨g_k, U(f, t)⟩ = Σ_j (Σ_d g_kd W[d, j]) ⋆ h_j (f, t) + ⟨g_k, bias⟩:
    one small per-sample kernel per class instead of D output channels. The
    3×3 correlation is written as 9 shifted copies of a per-bin projection, which
    is much faster on a CPU than a grouped convolution with one group per sample.

    Args:
        h: (B, J, F, T) input of the last convolution.
        conv: that convolution, weight (D, J, kh, kw), stride 1, 'same' padding.
        g: (B, K, D) class features (already scaled).

    Returns:
        (B, K, F, T), equal to ``einsum("bkd,bdft->bkft", g, conv(h))``.
    """
    B, J, Fq, T = h.shape
    K = g.shape[1]
    kh, kw = conv.kernel_size
    ph, pw = conv.padding
    w = conv.weight.to(g.dtype)
    kernels = torch.einsum("bkd,djyx->bkyxj", g, w)  # (B, K, kh, kw, J): a kernel per sample and class
    # per-bin projections, one per kernel tap: (B, K·kh·kw, J) @ (B, J, F·T) → (B, K·kh·kw, F·T)
    proj = torch.bmm(kernels.reshape(B, K * kh * kw, J), h.reshape(B, J, Fq * T).to(g.dtype))
    proj = F.pad(proj.reshape(B, K * kh * kw, Fq, T), (pw, pw, ph, ph))  # back to a grid, zero-padded
    proj = proj.reshape(B, K, kh, kw, Fq + 2 * ph, T + 2 * pw)  # split the taps out again
    out = torch.einsum("bkd,d->bk", g, conv.bias.to(g.dtype))[:, :, None, None].expand(B, K, Fq, T)  # ⟨g_k, bias⟩
    for y in range(kh):
        for x in range(kw):
            out = out + proj[:, :, y, x, y:y + Fq, x:x + T]  # tap (y, x) reads the bin shifted by (y−ph, x−pw)
    return out


def select_masks(mask_logits: torch.Tensor, class_idx: torch.Tensor) -> torch.Tensor:
    """Pick the channels of the wanted classes: (B, C, F, T), (B, N) long → (B, N, F, T).

    out[b, j] = mask_logits[b, class_idx[b, j]].
    """
    B, C, F, T = mask_logits.shape
    index = class_idx.long()[:, :, None, None].expand(-1, -1, F, T)  # (B, N) → (B, N, F, T) for gather
    return torch.gather(mask_logits, 1, index)


def predicted_classes(presence_logits: torch.Tensor, threshold: float = 0.5,
                      n: int | None = None) -> torch.Tensor | list[torch.Tensor]:
    """Classes judged present from presence_logits (B, C).

    n given: the n most probable classes per sample, a (B, n) long tensor
    (sorted by class index). n None: every class with sigmoid(logit) > threshold,
    at least the most probable one; a list of B long tensors (lengths differ).
    """
    probs = torch.sigmoid(presence_logits.float())  # (B, C)
    if n is not None:
        return probs.topk(n, dim=1).indices.sort(dim=1).values
    result = []
    for p in probs:
        idx = torch.nonzero(p > threshold).flatten()
        if idx.numel() == 0:
            idx = p.argmax().reshape(1)
        result.append(idx)
    return result
