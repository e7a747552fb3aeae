"""Running a trained separator on audio: whole files, streams, and single examples.

streaming.py  windows, a streaming resampler, window-by-window separation with overlap-add
separate.py   `python -m sgn_teach separate`: a file in, one file per class out (atomic)
example.py    one two-instrument mixture through a class-conditioned model (notebook 04)
"""
