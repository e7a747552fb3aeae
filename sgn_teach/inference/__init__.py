"""Running a trained separator on audio: whole files, streams, and single examples.

streaming.py  windows, a streaming resampler, window-by-window separation with overlap-add
separate.py   `python -m sgn_teach separate`: a file in, one file per class out (atomic); separate_wave in memory
reader.py     the input: header checks, one decoding pass to a model-rate stream
presence.py   `--classes auto`: the presence head averaged over a stream's windows
writer.py     the outputs: estimates streamed into temp wavs at the input's rate
figure.py     the spectrogram figure written beside the wavs
example.py    one two-instrument mixture through a class-conditioned model (notebook 04)
"""
