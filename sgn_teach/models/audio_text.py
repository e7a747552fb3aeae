"""The course's own audio–text embedding: a small CLAP trained on one SoundFont.

Two towers map audio and text into one space of unit vectors (E = 64), where a
clip of a cello and the words "the sound of a cello" point the same way:

    wave (B, L) ─ STFT, log-frequency warp ─ level-normalised log ─ CNN ─ pool ─ Linear ─▶ a (B, E)
    text  ─ words ─ word embeddings ─ mean over known words ─ MLP ─────────────────────▶ t (K, E)
    similarity = a · tᵀ  (cosine), logits = similarity · exp(logit_scale)

It is trained contrastively (sgn_teach.training.recipes.audio_text) on *labelled* solo clips of
the same 11 classes — the `train` split of *one* SoundFont (csound), which the separator never
trains on — with text from the class names, their synonyms and templates. So for the separator
it plays the part of an
audio–text model pretrained elsewhere, as CLAP does in the paper. Both towers
accept any clip length (global pooling) and any level (each spectrogram is
divided by its RMS before the log), because they will judge *separated*
estimates, which are quieter than the mixture and come in several lengths.

Saving and loading it (and choosing CLAP instead) is :mod:`sgn_teach.hub.audio_text`.
Any audio–text model used by the weak losses has the same two methods:
``audio_features(wave (B, L) at .sample_rate) → (B, E)`` (differentiable with
respect to the wave) and ``text_features(list of K str) → (K, E)``, unit length.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..core.config import AudioConfig
from ..data.captions import normalize_words
from ..signal.spectral import SpectralFrontEnd

LEVEL_FLOOR = 1e-3   # log(m / rms(m) + floor): the level-normalised log magnitude


def level_normalised_log_mag(frontend: SpectralFrontEnd, wave: torch.Tensor) -> torch.Tensor:
    """(B, L) → (B, 1, F, T): the log of the warped magnitude divided by its RMS, so any level looks the same."""
    mag = frontend.warped_magnitude(wave).unsqueeze(1)          # (B, L) → (B, F, T) → (B, 1, F, T)
    rms = mag.pow(2).mean(dim=(2, 3), keepdim=True).sqrt()      # (B, 1, 1, 1)
    return torch.log(mag / (rms + 1e-8) + LEVEL_FLOOR)


class AudioTower(nn.Module):
    """(B, 1, F, T) level-normalised log magnitude → (B, E): 4 conv blocks, mean+max pooling, a linear map."""

    def __init__(self, dim: int = 64, width: int = 16) -> None:
        super().__init__()
        chans = [1, width, 2 * width, 4 * width, 8 * width]
        blocks: list[nn.Module] = [nn.BatchNorm2d(1)]
        for c_in, c_out in zip(chans[:-1], chans[1:]):
            blocks += [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(),
                       nn.MaxPool2d(2)]
        self.features = nn.Sequential(*blocks)
        self.proj = nn.Linear(2 * chans[-1], dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.features(x)                                       # (B, 8w, F/16, T/16)
        pooled = torch.cat([h.mean(dim=(2, 3)), h.amax(dim=(2, 3))], dim=1)  # (B, 16w): any grid size
        return self.proj(pooled)


class TextTower(nn.Module):
    """Word indices (K, W) (0 = padding / unknown) → (K, E): mean of word embeddings, then a 2-layer MLP."""

    def __init__(self, vocab_size: int, dim: int = 64, word_dim: int = 64) -> None:
        super().__init__()
        self.words = nn.Embedding(vocab_size + 1, word_dim, padding_idx=0)
        self.mlp = nn.Sequential(nn.Linear(word_dim, word_dim), nn.ReLU(), nn.Linear(word_dim, dim))

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        known = (ids > 0).float()                                   # (K, W)
        summed = (self.words(ids) * known[:, :, None]).sum(1)       # (K, W, word_dim) → (K, word_dim)
        return self.mlp(summed / known.sum(1, keepdim=True).clamp(min=1.0))


class CourseAudioText(nn.Module):
    """The course audio–text embedding (see the module docstring).

    Args:
        vocab: the text tower's words (word i has index i + 1; 0 is unknown).
        audio_cfg: the audio front-end (sample rate, STFT, warped bins); clip length is free.
        dim: E, the shared embedding width.
    """

    def __init__(self, vocab: list[str], audio_cfg: AudioConfig, dim: int = 64, width: int = 16,
                 word_dim: int = 64) -> None:
        super().__init__()
        self.vocab = list(vocab)
        self.index = {w: i + 1 for i, w in enumerate(self.vocab)}
        self.audio_cfg = audio_cfg
        self.hparams = {"dim": dim, "width": width, "word_dim": word_dim}
        self.frontend = SpectralFrontEnd(audio_cfg)
        self.audio = AudioTower(dim, width)
        self.text = TextTower(len(self.vocab), dim, word_dim)
        self.logit_scale = nn.Parameter(torch.tensor(float(torch.log(torch.tensor(1 / 0.07)))))
        self.card: dict = {}  # filled by sgn_teach.hub.audio_text.load_audio_text: the training record

    @property
    def sample_rate(self) -> int:
        return self.audio_cfg.sample_rate

    @property
    def dim(self) -> int:
        return self.hparams["dim"]

    def audio_input(self, wave: torch.Tensor) -> torch.Tensor:
        """(B, L) → the audio tower's input (B, 1, F, T): log of the warped magnitude divided by its RMS."""
        return level_normalised_log_mag(self.frontend, wave)

    def audio_features(self, wave: torch.Tensor) -> torch.Tensor:
        """(B, L) waves at `sample_rate` → (B, E) unit vectors; differentiable with respect to the waves."""
        return F.normalize(self.audio(self.audio_input(wave)), dim=-1)

    def similarity_scale(self) -> float:
        """The learned inverse temperature of its similarities, exp(logit_scale) (≤ 100)."""
        return float(self.logit_scale.exp())

    def tokenize(self, texts: list[str]) -> torch.Tensor:
        """K texts → word indices (K, W), zero-padded; unknown words are 0 (ignored)."""
        rows = [[self.index.get(w, 0) for w in normalize_words(t)] or [0] for t in texts]
        width = max(len(r) for r in rows)
        ids = torch.zeros(len(rows), width, dtype=torch.long)
        for k, r in enumerate(rows):
            ids[k, :len(r)] = torch.tensor(r)
        return ids.to(self.logit_scale.device)

    def text_features(self, texts: list[str]) -> torch.Tensor:
        """K texts → (K, E) unit vectors."""
        return F.normalize(self.text(self.tokenize(texts)), dim=-1)


__all__ = ["CourseAudioText", "AudioTower", "TextTower", "LEVEL_FLOOR", "level_normalised_log_mag"]
