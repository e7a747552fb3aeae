"""Signals and numbers: reading and writing audio, the STFT front-end, mask targets, metrics, statistics.

audio.py     load / save / resample / fit a wave; the checks of an input file
spectral.py  SoP's STFT front-end and its log-frequency warp (and back)
targets.py   ideal binary and ratio masks, SoP's per-bin loss weight
metrics.py   SDR / SIR / SAR (BSS Eval) and SI-SDR, best permutations
stats.py     bootstrap confidence intervals, paired differences between systems
"""
