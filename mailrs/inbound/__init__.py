"""Checks on mail from outside: SPF, DKIM, DMARC and the spam filters."""
