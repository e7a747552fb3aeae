"""The training objectives, with the mask targets they compare against.

mask.py  SoP's weighted BCE, permutation-invariant BCE, SGN's class-constraint and
         presence losses, and sgn_loss (eq. 9) that combines them for every variant
text.py  notebook 08's weak losses: mixture of mixtures, consistency, bi-modal, supervised; and the
         contrastive loss (InfoNCE) the course's audio–text embedding is trained with

Every name is re-exported here, the mask targets of :mod:`sgn_teach.signal.targets`
included, so a notebook writes ``from sgn_teach.losses import sgn_loss, mask_target, sop_weight``.
"""

from ..signal.targets import binary_mask_target, mask_target, ratio_mask_target, sop_weight
from .mask import class_constraint_ce, multi_hot, pit_bce, presence_bce, sgn_loss, weighted_bce
from .text import (
                   bimodal_contrastive_loss,
                   bimodal_loss,
                   consistency_loss,
                   consistency_union_loss,
                   contrastive_loss,
                   mix_of_mixtures_loss,
                   supervised_loss,
)

__all__ = ["binary_mask_target", "ratio_mask_target", "mask_target", "sop_weight", "weighted_bce", "pit_bce",
           "class_constraint_ce", "presence_bce", "multi_hot", "sgn_loss", "mix_of_mixtures_loss", "consistency_loss",
           "bimodal_loss", "supervised_loss", "contrastive_loss", "consistency_union_loss",
           "bimodal_contrastive_loss"]
