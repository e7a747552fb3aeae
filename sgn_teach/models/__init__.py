"""The networks — modules of torch and nothing else: no file is read or written here.

unet.py                 SoP's U-Net (the mask estimator every model builds on)
sop.py                  the SoP baseline without pixels: N unordered output slots
tokens.py               patch embedding and the class-token transformer (notebook 03)
grouping.py             category-aware grouping and the presence head (notebook 04)
sgn.py                  SGN and its ablation variants (baseline, sct, cag, sgn)
inputs.py               the input checks every model makes
film.py                 FiLM conditioning
text_separator.py       the U-Net steered by a text prompt through FiLM (notebook 08)
audio_text.py           the course's small audio–text embedding (notebook 08)
ddpm.py                 the DDPM/DDIM maths: schedule, forward process, sampler (notebook 07)
diffusion.py            DAVIS's Separation U-Net (notebook 07)
diffusion_separator.py  the generative separator built on it (notebook 07)

The one constructor from a config is :func:`sgn_teach.hub.build.build_model`; loading
weights from a file is :mod:`sgn_teach.hub`.
"""

from __future__ import annotations

from torch import nn

from .grouping import CategoryAwareGrouping, ClassQueryAttention, PresenceHead, hard_assign
from .sgn import SGN, SGN_VARIANTS, predicted_classes, select_masks
from .sop import SoPModel
from .text_separator import TextConditionedSeparator
from .tokens import ClassTokenTransformer, PatchEmbedding
from .unet import UNet, unet_widths

__all__ = [
    "UNet", "unet_widths", "SoPModel", "PatchEmbedding", "ClassTokenTransformer",
    "CategoryAwareGrouping", "ClassQueryAttention", "PresenceHead", "hard_assign", "SGN", "SGN_VARIANTS",
    "select_masks", "predicted_classes", "count_parameters", "TextConditionedSeparator",
]


def count_parameters(model: nn.Module, trainable_only: bool = True) -> int:
    """Number of (trainable) parameters; BatchNorm running statistics are buffers and not counted."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)
