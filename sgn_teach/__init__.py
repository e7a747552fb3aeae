"""sgn-teach: learn audio source separation by building the Semantic Grouping Network.

The package holds each component the notebooks teach:
config → audio/spectral front-end → data (solo-clip libraries, mix-and-separate)
→ models (U-Net, SoP, class tokens, grouping, SGN) → losses → train → evaluate
→ separate.
"""

__version__ = "0.1.0"
