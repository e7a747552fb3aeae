"""Scoring separators the paper's way, and looking inside them.

evaluate.py  seeded test mixtures → SDR/SIR/SAR/SI-SDR for models and reference rows
             (unprocessed mixture, oracle masks, NMF); tables; paired differences
nmf.py       supervised NMF, the classical baseline row
analysis.py  source features, t-SNE and separability scores (Figure 3), curves over training (Figure 4)
"""
