"""``python -m mailrs``: the mailrs command line."""

import sys

from mailrs.cli import main

sys.exit(main())
