"""Separation in bounded memory: a long file flows through in pieces, never whole.

`separate` cuts the input into windows of one training clip with 50 % overlap,
separates each and stitches the estimates back by overlap-add. Held whole, a
1-hour file at the model's rate and its estimates cost gigabytes; streamed,
only a few windows are alive at any time, whatever the file's length:

    file ──blocks──▶ mono ──StreamResampler──▶ Windower ──batches──▶ model
         ──▶ OverlapAdd ──finished samples──▶ StreamResampler (back) ──▶ files

Each stage keeps just the context it needs and returns every sample that can no
longer change, so pushing a signal in any pieces gives the same result as
pushing it at once (`tests/test_streaming.py` checks both the resampler, against
torchaudio on the whole signal, and the separator).

Windows (as before streaming): the signal is padded with size//2 zeros in
front; window w covers padded samples [w·hop, w·hop + size), hop = size // 2;
there are 1 + (L + hop) // hop windows; each window's estimate is weighted by a
periodic Hann window (shifted copies sum to 1) and added at w·hop; the output
is padded samples [hop, hop + L).
"""

from __future__ import annotations

import itertools
import math
from typing import Sequence

import numpy as np
import torch
import torchaudio

from ..core.config import TRAIN_RMS
from ..core.errors import CheckpointError
from ..models.interface import masks_for, presence_probabilities
from ..signal.sharing import share_masks
from ..signal.spectral import SpectralFrontEnd

LOWPASS_WIDTH = 6   # torchaudio.functional.resample's defaults: zero crossings of the sinc ...
ROLLOFF = 0.99      # ... and its cut-off relative to the lower Nyquist rate
MAX_GAIN = 100.0    # quiet windows are not blown up more than this


class StreamResampler:
    """Band-limited resampling of a stream, equal to torchaudio's resampling of the whole signal.

    torchaudio's windowed sinc reads `width` input samples either side of each
    output sample. Working in steps of a = orig/gcd input samples (which give
    exactly b = new/gcd output samples), the stream is resampled a piece at a
    time with `ctx` samples of real context kept on each side, so every output
    sample sees exactly the inputs it would see in the whole signal.

    push(x (L,)) → the output samples that are final; flush() → the rest.
    """

    def __init__(self, orig_sr: int, new_sr: int) -> None:
        self.orig, self.new = int(orig_sr), int(new_sr)
        g = math.gcd(self.orig, self.new)
        self.a, self.b = self.orig // g, self.new // g
        width = math.ceil(LOWPASS_WIDTH * self.a / (min(self.a, self.b) * ROLLOFF))  # torchaudio's, in input samples
        self.ctx = (math.ceil((width + self.a) / self.a) + 1) * self.a  # a multiple of a, ≥ width + a
        self.identity = self.orig == self.new
        self._resample = None if self.identity else torchaudio.transforms.Resample(self.orig, self.new)
        self.left = np.zeros(0, np.float32)     # the last ctx input samples already resampled (left context)
        self.pending = np.zeros(0, np.float32)  # input samples not resampled yet

    def _run(self, seg: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return self._resample(torch.from_numpy(np.ascontiguousarray(seg, dtype=np.float32))).numpy()

    def push(self, x: np.ndarray) -> np.ndarray:
        """Feed input samples (L,); return the output samples now final."""
        x = np.asarray(x, dtype=np.float32)
        if self.identity:
            return x
        buf = np.concatenate([self.left, self.pending, x])
        nl = len(self.left)
        n_proc = (len(buf) - nl - self.ctx) // self.a * self.a  # keep ctx samples of right context back
        if n_proc <= 0:
            self.pending = buf[nl:]
            return np.zeros(0, np.float32)
        out = self._run(buf[: nl + n_proc + self.ctx])[nl * self.b // self.a: (nl + n_proc) * self.b // self.a]
        end = nl + n_proc
        self.left = buf[max(end - self.ctx, 0): end]  # starts at a multiple of a: keeps the phase
        self.pending = buf[end:]
        return out

    def flush(self) -> np.ndarray:
        """The remaining output samples (the whole signal's right edge is zero-padded, as torchaudio does)."""
        if self.identity or len(self.pending) == 0:
            return np.zeros(0, np.float32)
        nl = len(self.left)
        out = self._run(np.concatenate([self.left, self.pending]))[nl * self.b // self.a:]
        self.left, self.pending = np.zeros(0, np.float32), np.zeros(0, np.float32)
        return out


class Windower:
    """Cut a stream into overlapping windows (size, hop = size // 2), padded as in the module docstring."""

    def __init__(self, size: int) -> None:
        self.size, self.hop = size, size // 2
        self.buf = np.zeros(self.hop, np.float32)  # padded samples from buf_start on; starts with the front padding
        self.buf_start = 0
        self.next_window = 0
        self.n_in = 0

    def _take(self, last: int | None = None) -> np.ndarray:
        frames = []
        while (last is None or self.next_window < last) and \
                self.next_window * self.hop + self.size - self.buf_start <= len(self.buf):
            s = self.next_window * self.hop - self.buf_start
            frames.append(self.buf[s: s + self.size])
            self.next_window += 1
        drop = self.next_window * self.hop - self.buf_start  # samples no later window reads
        self.buf, self.buf_start = self.buf[drop:], self.buf_start + drop
        return np.stack(frames) if frames else np.zeros((0, self.size), np.float32)

    def push(self, x: np.ndarray) -> np.ndarray:
        """Feed samples (L,); return the windows now complete, (W, size)."""
        self.buf = np.concatenate([self.buf, np.asarray(x, dtype=np.float32)])
        self.n_in += len(x)
        return self._take()

    def n_windows(self) -> int:
        """Windows of the whole signal (known once every sample is in): 1 + (L + hop) // hop."""
        return 1 + (self.n_in + self.hop) // self.hop

    def flush(self) -> np.ndarray:
        """The remaining windows, zero-padded at the end: (W, size)."""
        n = self.n_windows()
        need = (n - 1) * self.hop + self.size - self.buf_start
        self.buf = np.concatenate([self.buf, np.zeros(max(need - len(self.buf), 0), np.float32)])
        return self._take(last=n)


class OverlapAdd:
    """Stitch window estimates (W, N, size) back into N signals, returning samples as they become final."""

    def __init__(self, n_out: int, size: int) -> None:
        self.size, self.hop = size, size // 2
        self.window = np.sin(np.pi * np.arange(size) / size) ** 2  # periodic Hann: shifted by hop, sums to 1
        self.acc = np.zeros((n_out, 0))  # padded positions acc_start … acc_start + len
        self.acc_start = 0
        self.n_windows = 0
        self.emitted = self.hop  # padded position of the next output sample (the front padding is never output)

    def add(self, est: np.ndarray) -> np.ndarray:
        """Add windows (W, N, size); return the output samples now final, (N, k)."""
        for e in est:
            pos = self.n_windows * self.hop - self.acc_start
            if self.acc.shape[1] < pos + self.size:
                self.acc = np.pad(self.acc, ((0, 0), (0, pos + self.size - self.acc.shape[1])))
            self.acc[:, pos: pos + self.size] += e * self.window  # overlap-add
            self.n_windows += 1
        return self._emit(self.n_windows * self.hop)  # no later window reaches before its start

    def _emit(self, upto: int) -> np.ndarray:
        if upto <= self.emitted:
            return np.zeros((self.acc.shape[0], 0))
        a, b = self.emitted - self.acc_start, upto - self.acc_start
        out = self.acc[:, a:b].copy()
        self.acc, self.acc_start, self.emitted = self.acc[:, b:], upto, upto
        return out

    def flush(self, n_samples: int) -> np.ndarray:
        """The rest of the output, up to the signal's length n_samples: (N, k)."""
        end = self.hop + n_samples
        if self.acc.shape[1] < end - self.acc_start:
            self.acc = np.pad(self.acc, ((0, 0), (0, end - self.acc_start - self.acc.shape[1])))
        return self._emit(end)


def best_permutation(prev: np.ndarray, cur: np.ndarray, hop: int) -> list[int]:
    """The order of `cur`'s slots (N, size) that agrees best with `prev` (N, size) over the half they share.

    Window w's first half is window w−1's second half; the permutation with the
    largest summed normalised correlation there is kept.
    """
    n = cur.shape[0]
    a, b = prev[:, hop: 2 * hop], cur[:, :hop]  # (N, hop) each: the shared half
    a = a / (np.linalg.norm(a, axis=1, keepdims=True) + 1e-8)
    b = b / (np.linalg.norm(b, axis=1, keepdims=True) + 1e-8)
    corr = a @ b.T  # (N, N): corr[i, j] = slot i of w−1 against slot j of w
    return list(max(itertools.permutations(range(n)), key=lambda p: sum(corr[i, p[i]] for i in range(n))))


class WindowSeparator:
    """The model applied to a stream, window batch by window batch.

    Args:
        model: a class-conditioned model (SGN and variants) or one with unordered slots (`sop`).
        indices: class indices to extract (class-conditioned models); None for `sop`.
        batch_size: windows per forward pass — with the window length, this bounds the memory.
        target_rms: each window is scaled to this RMS (the training mixtures'), the estimates scaled back.
        sharing: how the N masks share a bin: "independent" (the paper's) or "compete" (sgn_teach.signal.sharing).

    push(x (L,)) → (N, k) final output samples; flush() → the rest. After flush,
    `n_in` is the number of input samples.
    """

    def __init__(self, model: torch.nn.Module, audio_cfg, indices: Sequence[int] | None,
                 device: torch.device | str = "cpu", batch_size: int = 8, target_rms: float = TRAIN_RMS,
                 sharing: str = "independent") -> None:
        self.model, self.device = model, torch.device(device)
        self.sharing = sharing  # how the masks of the classes asked for (or SoP's slots) share a bin
        self.frontend = SpectralFrontEnd(audio_cfg).to(self.device)
        self.size = audio_cfg.n_samples
        self.batch_size, self.target_rms = batch_size, target_rms
        self.conditioned = model.class_conditioned
        self.indices = None if indices is None else torch.tensor(list(indices), device=self.device)
        self.windower = Windower(self.size)
        self.ola: OverlapAdd | None = None
        self.queue = np.zeros((0, self.size), np.float32)
        self.prev: np.ndarray | None = None  # the last window's estimate, for slot alignment (`sop`)
        self.n_out = 0  # output samples returned so far

    @property
    def n_in(self) -> int:
        return self.windower.n_in

    def _gain(self, frames: np.ndarray) -> np.ndarray:
        rms = np.sqrt(np.mean(np.square(frames, dtype=np.float64), axis=1, keepdims=True)) + 1e-8
        return np.minimum(self.target_rms / rms, MAX_GAIN)  # (W, 1)

    @torch.no_grad()
    def presence(self, frames: np.ndarray) -> np.ndarray | None:
        """Presence probabilities (W, C) of windows (W, size), or None for a model without a presence head."""
        x = torch.from_numpy((frames * self._gain(frames)).astype(np.float32)).to(self.device)
        p = presence_probabilities(self.model, self.frontend.analyse(x)["log_mag"])  # the class branch alone
        return None if p is None else p.cpu().numpy()

    @torch.no_grad()
    def _separate(self, frames: np.ndarray) -> np.ndarray:
        """Windows (W, size) → estimates (W, N, size), at the windows' own level."""
        gain = self._gain(frames)
        x = torch.from_numpy((frames * gain).astype(np.float32)).to(self.device)
        a = self.frontend.analyse(x)
        wanted = None if self.indices is None else self.indices.expand(len(frames), -1)  # (W, N): the same in every window
        masks = masks_for(self.model, a["log_mag"], wanted).masks  # (W, N, F, T): classes asked for, or SoP's slots
        masks = share_masks(masks, self.sharing)
        est = self.frontend.apply_masks(masks, a["stft"]).cpu().numpy()
        if not np.all(np.isfinite(est)):  # a damaged checkpoint: never write a file of NaN (or its −32768 PCM)
            raise CheckpointError("the model's estimate is not finite (NaN or infinite): its weights or config are "
                                  "damaged; nothing was written")
        est = est / gain[:, :, None]  # (W, N, size), undo the gain
        if not self.conditioned and est.shape[1] > 1:
            for w in range(len(est)):  # keep each slot one instrument across windows
                if self.prev is not None:
                    est[w] = est[w][best_permutation(self.prev, est[w], self.size // 2)]
                self.prev = est[w]
        return est

    def _run(self, frames: np.ndarray, final: bool) -> np.ndarray:
        self.queue = np.concatenate([self.queue, frames])
        outs = []
        while len(self.queue) >= self.batch_size or (final and len(self.queue)):
            batch, self.queue = self.queue[: self.batch_size], self.queue[self.batch_size:]
            est = self._separate(batch)
            if self.ola is None:
                self.ola = OverlapAdd(est.shape[1], self.size)
            outs.append(self.ola.add(est))
        if not outs:
            return np.zeros((0 if self.ola is None else self.ola.acc.shape[0], 0))
        return np.concatenate(outs, axis=1)

    def push(self, x: np.ndarray) -> np.ndarray:
        """Feed samples (L,) at the model's rate; return the output samples now final, (N, k)."""
        out = self._run(self.windower.push(x), final=False)
        self.n_out += out.shape[1]
        return out

    def flush(self) -> np.ndarray:
        """Process the last windows; return the rest of the output, (N, k): n_in samples in all."""
        head = self._run(self.windower.flush(), final=True)
        tail = self.ola.flush(self.n_in)
        out = np.concatenate([head, tail], axis=1)[:, : self.n_in - self.n_out]  # the last window overhangs the end
        self.n_out += out.shape[1]
        return out
