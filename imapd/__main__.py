"""``python -m imapd``: run the IMAP server."""

from imapd.server import main

if __name__ == "__main__":
    raise SystemExit(main())
