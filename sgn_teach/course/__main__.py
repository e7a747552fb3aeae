"""`python -m sgn_teach.course sync NOTEBOOK…`: rewrite the notebooks' badges and install cells from REPO_URL."""

import sys

from .notebooks import main

sys.exit(main(sys.argv[1:]))
