"""``python -m mailrs``: the mailrs command line."""

import sys

from mailrs.cli.main import main

sys.exit(main())
