"""One recipe per model kind: what the one training loop (:mod:`sgn_teach.training.loop`) asks of it.

base.py        the Recipe interface, Prepared (a run's resolved inputs), StepOutput
mask.py        SoP, SGN and its ablations; the diffusion model (notebook 07)
text.py        the text-conditioned separator trained from captions (notebook 08)
audio_text.py  the course's audio–text embedding, trained contrastively (notebook 08)
classifier.py  the instrument classifier that names SoP's separated outputs ("SoP + classifier")
"""

from __future__ import annotations

from ...core.config import MODEL_KINDS
from ...core.errors import ConfigError
from .audio_text import AudioTextRecipe
from .base import Prepared, Recipe, StepOutput
from .classifier import ClassifierRecipe
from .mask import DiffusionRecipe, MaskRecipe
from .text import TextRecipe

RECIPES: dict[str, type[Recipe]] = {"diffusion": DiffusionRecipe, "text": TextRecipe, "audio_text": AudioTextRecipe,
                                     "classifier": ClassifierRecipe}
"""Model kinds with a recipe of their own; every other kind (sop, sgn, sct, cag, baseline) is a mask model."""


def recipe_for(kind: str) -> Recipe:
    """A fresh recipe for model kind `kind` (``cfg.model.variant``)."""
    if kind not in MODEL_KINDS:
        raise ConfigError(f"unknown model kind {kind!r}; choose from {', '.join(MODEL_KINDS)}")
    return RECIPES.get(kind, MaskRecipe)()


__all__ = ["AudioTextRecipe", "ClassifierRecipe", "DiffusionRecipe", "MaskRecipe", "Prepared", "RECIPES", "Recipe", "StepOutput",
           "TextRecipe", "recipe_for"]
