"""``python -m smtpd``: run the SMTP receiver."""

import sys

from smtpd.server import main

sys.exit(main())
