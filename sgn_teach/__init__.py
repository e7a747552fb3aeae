"""sgn-teach: learn audio source separation by building the Semantic Grouping Network.

The package holds each component the notebooks teach, in layers; a layer imports
only from the layers below it (ARCHITECTURE.md; `lint-imports` checks it):

    cli          the command line (python -m sgn_teach …)
    exercises    the notebooks' exercise checkers
    widgets      ipywidgets panels
    experiments  ablations, the playground, notebook 08's table, the demo
    inference    separate files and streams with a trained model
    training     the training loops
    evaluation   SDR/SIR/SAR tables, NMF, feature analysis
    hub          checkpoints, build_model, what ships with the package
    losses       the training objectives
    models       the networks (no file I/O)
    course       notebook plumbing: REPO_URL, fast mode, the cached course data
    data         solo-clip libraries, mix-and-separate, captions
    viz          figures and audio players
    signal       audio I/O, the STFT front-end, mask targets, metrics, statistics
    core         config, errors, atomic files, devices, signals, distributed runs
"""

__version__ = "0.1.0"
