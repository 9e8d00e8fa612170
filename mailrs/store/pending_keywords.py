"""IMAP keywords for a message not indexed yet (a Sieve ``addflag "$Label"`` at delivery).

Maildir file names carry only the system flags; keywords live in the mailbox index, and
delivery does not open the index (the next sync gives the file its UID). So delivery
leaves the keywords in a small file named by the message's key, and the sync that
indexes the message takes them from there.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

DIRNAME = "mailrs-keywords"
ATOM = re.compile(r"^[!#-'*+\-./0-9:<=>?@A-Z\[^-z|~$]{1,100}$")  # IMAP atom, no specials
MAX_KEYWORDS = 32


def clean_keywords(keywords: list[str]) -> str:
    """The keywords an IMAP client can see, space-separated (no system flags, no junk)."""
    kept = [k for k in keywords if ATOM.match(k) and not k.startswith("\\")]
    return " ".join(dict.fromkeys(kept[:MAX_KEYWORDS]))


def set_pending(user_dir: Path, key: str, keywords: str) -> None:
    """Leave ``keywords`` for the message ``key`` (written before the message itself)."""
    folder = user_dir / DIRNAME
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{key}.tmp"
    tmp.write_text(keywords)
    os.replace(tmp, folder / key)


def base_key(key: str) -> str:
    """The name delivery chose, without the ``,S=size`` the Maildir key adds."""
    return key.split(",", 1)[0]


def take_pending(user_dir: Path, keys: list[str]) -> dict[str, str]:
    """The pending keywords of these messages (by ``base_key``), removed once read."""
    folder = user_dir / DIRNAME
    if not keys or not folder.is_dir():
        return {}
    found = {}
    for key in keys:
        path = folder / base_key(key)
        try:
            found[key] = path.read_text()[:4000]
        except (FileNotFoundError, IsADirectoryError, UnicodeDecodeError):
            continue
        path.unlink(missing_ok=True)
    return found
