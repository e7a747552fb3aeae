"""Training the separators and the audio–text embedding.

common.py      what every loop shares: run-folder file names, the resumable step sampler,
               the optimiser, validation during training
train.py       train(): mix-and-separate for every variant (one process or several under torchrun);
               `--model text` is handed to text.py
text.py        the text-conditioned separator trained from captions (notebook 08)
audio_text.py  the course's audio–text embedding, trained contrastively
               (``python -m sgn_teach.training.audio_text --data DIR --out FILE``)
rundir.py      the run folder: one training at a time (a lock), what a finished run holds
"""
