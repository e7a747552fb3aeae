"""`python -m sgn_teach` entry point."""

import sys

from .cli import main

sys.exit(main())
