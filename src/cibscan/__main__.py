"""``python -m cibscan``: the command line."""

import sys

from cibscan.cli import main

sys.exit(main())
