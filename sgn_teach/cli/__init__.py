"""The command line, the highest layer: ``python -m sgn_teach …`` (and the ``sgn-teach`` script).

main.py  the parser and one function per command: demo, data, train, evaluate, ablate, separate
text.py  the options of the text-conditioned separator (`train --model text`, `separate --prompt`)

README's "Command line" section is the user-facing contract these modules keep.
"""
