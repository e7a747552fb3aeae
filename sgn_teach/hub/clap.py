"""CLAP (Wu et al. 2023) through `transformers`, as an audio–text embedding for the weak losses.

``ClapEmbedding.from_pretrained("laion/clap-htsat-unfused")`` loads the real model
where its weights can be downloaded (Colab); here, offline, the same code is
tested on a tiny randomly initialised ClapModel saved to a folder. It offers
the two methods every audio–text model of the course has:

    audio_features(wave (B, L) at `source_rate`) → (B, E)   differentiable w.r.t. the wave
    text_features(list of K str)                 → (K, E)

ClapFeatureExtractor computes its log-mel input in NumPy, so no gradient could
pass through it. :meth:`ClapEmbedding.log_mel` is the same computation in torch
— resample to 48 kHz, repeat-pad to the model's length, Hann-window STFT, power,
the extractor's own mel filter bank, 10·log10 — and a test checks it against the
extractor's output. `transformers` is an optional extra
(``pip install "sgn-teach[clap]"``) and is imported only here, only when asked for.
"""

from __future__ import annotations

import os
import socket
import urllib.parse

import torch
import torch.nn.functional as F
import torchaudio
from torch import nn

from ..core.config import SAMPLE_RATE
from ..core.errors import SGNError

DEFAULT_CLAP = "laion/clap-htsat-unfused"


def _transformers():
    try:
        import transformers
    except ImportError:
        raise SGNError("CLAP needs the optional `transformers` package: pip install \"sgn-teach[clap]\"") from None
    return transformers


def _first_line(exc: Exception) -> str:
    """The first line of an exception's message (at most 160 characters), or its type's name."""
    text = str(exc).strip()
    return text.splitlines()[0][:160] if text else type(exc).__name__


def _hub_endpoint() -> str:
    """The Hugging Face hub's address: $HF_ENDPOINT, else huggingface.co."""
    return os.environ.get("HF_ENDPOINT", "https://huggingface.co").rstrip("/")


def hub_reachable(timeout: float = 3.0) -> bool:
    """Whether the Hugging Face hub can be reached: False at once under HF_HUB_OFFLINE=1, else one TCP
    connection to its host (no retries, at most `timeout` seconds once the name resolves)."""
    if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on"):
        return False
    url = urllib.parse.urlparse(_hub_endpoint())
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        socket.create_connection((url.hostname or "", port), timeout=timeout).close()
    except (OSError, ValueError):
        return False
    return True


class ClapEmbedding(nn.Module):
    """A frozen `transformers.ClapModel` with a differentiable feature extractor.

    Args:
        model: a ClapModel (eval mode, frozen here).
        processor: its ClapProcessor (feature extractor + tokenizer).
        source_rate: the sample rate of the waves given to :meth:`audio_features` (the course's 11025 Hz).
    """

    def __init__(self, model, processor, source_rate: int = SAMPLE_RATE) -> None:
        super().__init__()
        self.model = model.eval()
        for p in self.model.parameters():
            p.requires_grad_(False)
        self.processor = processor
        fe = processor.feature_extractor
        self.source_rate = source_rate
        self.target_rate = int(fe.sampling_rate)
        self.n_fft, self.hop = int(fe.fft_window_size), int(fe.hop_length)
        self.max_samples = int(fe.nb_max_samples)
        self.truncation, self.padding = fe.truncation, fe.padding
        filters = fe.mel_filters if fe.truncation == "fusion" else fe.mel_filters_slaney  # (n_fft/2+1, mel)
        self.register_buffer("mel_filters", torch.tensor(filters, dtype=torch.float32), persistent=False)
        self.register_buffer("window", torch.hann_window(self.n_fft, periodic=True), persistent=False)

    @classmethod
    def from_pretrained(cls, name: str = DEFAULT_CLAP, source_rate: int = SAMPLE_RATE,
                        device: torch.device | str = "cpu") -> "ClapEmbedding":
        """Load a CLAP model and processor by hub name or folder; SGNError (one line) when that fails.

        A hub name is looked up in the local cache first; only if it is not there, and the hub answers
        (:func:`hub_reachable`, one connection attempt of a few seconds), is it downloaded. Offline, that
        is one line at once instead of the hub client's retries (11 warnings over ~25 s).
        """
        tf = _transformers()
        folder = os.path.isdir(name)

        def load(**kw):
            return tf.ClapModel.from_pretrained(name, **kw), tf.ClapProcessor.from_pretrained(name, **kw)

        try:
            model, processor = load() if folder else load(local_files_only=True)
        except Exception as exc:  # an incomplete folder, or a hub name not in the cache
            if folder:
                raise SGNError(f"could not load CLAP {name!r}: {_first_line(exc)}") from None
            if not hub_reachable():
                raise SGNError(f"could not load CLAP {name!r} (no network? it is not in the local cache and "
                               f"{_hub_endpoint()} cannot be reached; the weights are downloaded from the Hugging "
                               "Face hub on first use)") from None
            try:
                model, processor = load()
            except Exception as exc2:  # unknown name, interrupted download
                raise SGNError(f"could not load CLAP {name!r} (no network? the weights are downloaded from the "
                               f"Hugging Face hub on first use): {_first_line(exc2)}") from None
        return cls(model, processor, source_rate).to(device)

    @property
    def sample_rate(self) -> int:
        return self.source_rate

    @property
    def dim(self) -> int:
        return int(self.model.config.projection_dim)

    def similarity_scale(self) -> float:
        """CLAP's learned inverse temperature of audio→text similarities, exp(logit_scale_a)."""
        return float(self.model.logit_scale_a.exp())

    def log_mel(self, wave: torch.Tensor) -> torch.Tensor:
        """(B, L) at `source_rate` → CLAP's input features (B, 1 or 4, frames, mel), differentiably.

        Same as ClapFeatureExtractor for clips shorter than its maximum length (10 s for the
        released models): repeat-pad, log-mel in dB; with `truncation="fusion"` the mel is
        stacked four times, as the extractor does for short clips.
        """
        x = torchaudio.functional.resample(wave, self.source_rate, self.target_rate) \
            if self.source_rate != self.target_rate else wave
        L = x.shape[-1]
        if L > self.max_samples:
            x = x[..., :self.max_samples]  # longer clips: the first max_length (the extractor would crop at random)
        elif L < self.max_samples and self.padding in ("repeatpad", "repeat"):
            reps = self.max_samples // L if self.padding == "repeatpad" else self.max_samples // L + 1
            x = x.repeat(1, reps)[..., :self.max_samples]  # (B, L) → (B, reps·L): the clip played again and again
        x = F.pad(x, (0, self.max_samples - x.shape[-1]))  # then zeros to the fixed length
        spec = torch.stft(x, self.n_fft, self.hop, window=self.window, center=True, pad_mode="reflect",
                          return_complex=True).abs().pow(2)           # (B, n_fft/2+1, frames) power
        mel = torch.einsum("bft,fm->btm", spec, self.mel_filters)   # (B, frames, mel): time first, as CLAP reads it
        mel = 10 * torch.log10(mel.clamp(min=1e-10))
        n_views = 4 if self.truncation == "fusion" else 1
        return mel.unsqueeze(1).expand(-1, n_views, -1, -1)         # (B, 1|4, frames, mel)

    @staticmethod
    def _pooled(out) -> torch.Tensor:
        """get_*_features returns a tensor (transformers 4) or an output with `pooler_output` (5)."""
        return out if isinstance(out, torch.Tensor) else out.pooler_output

    def audio_features(self, wave: torch.Tensor) -> torch.Tensor:
        """(B, L) waves at `source_rate` → (B, E) unit vectors."""
        feats = self.log_mel(wave.float())
        is_longer = torch.zeros(wave.shape[0], 1, dtype=torch.bool, device=wave.device)
        out = self.model.get_audio_features(input_features=feats, is_longer=is_longer)
        return F.normalize(self._pooled(out), dim=-1)

    def text_features(self, texts: list[str]) -> torch.Tensor:
        """K texts → (K, E) unit vectors."""
        tok = self.processor.tokenizer(list(texts), padding=True, return_tensors="pt")
        dev = self.mel_filters.device
        out = self.model.get_text_features(input_ids=tok["input_ids"].to(dev),
                                           attention_mask=tok["attention_mask"].to(dev))
        return F.normalize(self._pooled(out), dim=-1)


__all__ = ["ClapEmbedding", "DEFAULT_CLAP", "hub_reachable"]
