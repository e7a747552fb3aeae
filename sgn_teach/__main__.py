"""`python -m sgn_teach` entry point."""

import sys

from .cli.main import main

sys.exit(main())
