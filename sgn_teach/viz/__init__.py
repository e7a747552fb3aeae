"""Figures and audio players for the notebooks, the demo and `separate`.

Every function returns a matplotlib Figure (or an IPython widget) and never calls
`plt.show()`, so the same functions serve notebooks and files. They draw arrays
and dicts they are given; none of them runs a model.

plots.py     spectrograms (Hz on the warped axis), waveforms, training curves, players, animations;
             picks the matplotlib backend before pyplot loads
ablation.py  the ablation results: interval plots (Tables III/IV), Figures 3 and 4 (notebook 06)
explorer.py  one example mixture seen through a separator: assignment maps, presence, masks (notebook 04)
text.py      notebook 08: weak-loss curves, the audio–text similarity matrix, the table with intervals
"""
