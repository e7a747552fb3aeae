"""Whole experiments built from the layers below: each trains, evaluates and reports.

ablate.py      the paper's ablations as one resumable grid (`python -m sgn_teach ablate`; notebook 06)
playground.py  short runs scored on the same validation mixtures, one row at a time (notebook 06)
text_table.py  notebook 08's table: five text-conditioned separators, weak to supervised
demo.py        `python -m sgn_teach demo`: course data, the shipped models, the evaluation table
"""
