"""How different are the course's three SoundFonts, instrument by instrument?

    python benchmarks/bench_soundfonts.py [--phrases 4] [--seconds 4]

Renders the same phrases with each pair of SoundFonts and prints, per class,
(1) the waveform correlation of the two renderings (1.0 = the same samples) and
(2) the distance between their average log-spectra (dB, 0 = the same timbre).
A leave-one-SoundFont-out test is only a test of *unseen* timbres where the
held-out SoundFont does not share samples with the training ones — this table
says where it does.
"""

from __future__ import annotations

import argparse
import itertools

import numpy as np
import torch

from sgn_teach.data import MUSIC11_NAMES, SoundFontRenderer, clip_rng, find_course_soundfonts, random_phrase

SR = 11025


def log_spectrum(wave: np.ndarray) -> np.ndarray:
    """Average log-magnitude spectrum (dB) over the frames with energy: (L,) → (F,)."""
    spec = torch.stft(torch.from_numpy(wave), 1024, 256, window=torch.hann_window(1024), return_complex=True).abs()
    energy = spec.pow(2).sum(0)
    return (20 * torch.log10(spec[:, energy > 1e-3 * energy.max()].mean(1) + 1e-6)).numpy()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--phrases", type=int, default=4)
    p.add_argument("--seconds", type=float, default=4.0)
    args = p.parse_args()
    fonts = find_course_soundfonts()
    if len(fonts) < 2:
        raise SystemExit("error: needs at least two of the course SoundFonts (apt-get install timgm6mb-soundfont ...)")
    renderers = {k: SoundFontRenderer(path, SR) for k, path in fonts.items()}
    pairs = list(itertools.combinations(fonts, 2))
    print("per class: waveform correlation | log-spectrum distance (dB), mean over "
          f"{args.phrases} phrases of {args.seconds:g} s")
    print("| class | " + " | ".join(f"{a} vs {b}" for a, b in pairs) + " |")
    print("|---|" + "---:|" * len(pairs))
    for name in MUSIC11_NAMES:
        cells = []
        for a, b in pairs:
            corr, dist = [], []
            for k in range(args.phrases):
                notes = random_phrase(name, clip_rng(7, name, k), args.seconds)
                wa = renderers[a].render(name, notes, args.seconds)
                wb = renderers[b].render(name, notes, args.seconds)
                corr.append(float(np.dot(wa, wb) / (np.linalg.norm(wa) * np.linalg.norm(wb) + 1e-12)))
                dist.append(float(np.sqrt(np.mean((log_spectrum(wa) - log_spectrum(wb)) ** 2))))
            cells.append(f"{np.mean(corr):.2f} \\| {np.mean(dist):.1f}")
        print(f"| {name} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
