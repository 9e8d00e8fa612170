"""A per-user Bayesian spam classifier (Robinson's token probabilities, Fisher's chi-square).

Each user's counts live in one SQLite file in their Maildir (``bayes.sqlite``, beside the
mailbox index, so backups carry it): how many spam and ham messages were learnt, and per
token in how many of each it appeared. ``learn`` is idempotent per message (its
Message-ID, else a hash of its bytes) and moving a message from one class to the other
takes it out of the first. ``spam_probability`` combines the ``MAX_CLUES`` tokens that
say the most, as SpamBayes does, into a number from 0 (ham) to 1 (spam); until both
classes have ``MIN_TRAINED`` messages it answers None (no opinion).
"""

from __future__ import annotations

import hashlib
import math
import re
import sqlite3
from collections.abc import Iterable
from pathlib import Path

from mailrs.inbound.spam.tokens import tokenize

FILENAME = "bayes.sqlite"
MIN_TRAINED = 5
MAX_CLUES = 150
MIN_STRENGTH = 0.1  # tokens with |p - 0.5| below this are no clue
PRIOR_STRENGTH = 0.45  # Robinson's s
PRIOR = 0.5  # Robinson's x
SCHEMA = """
CREATE TABLE IF NOT EXISTS tokens (token TEXT PRIMARY KEY, spam INTEGER NOT NULL,
                                   ham INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS learnt (message TEXT PRIMARY KEY, spam INTEGER NOT NULL);
"""
_MESSAGE_ID = re.compile(rb"^message-id:[ \t]*(<[^>\r\n]{1,500}>)", re.IGNORECASE | re.MULTILINE)


def message_key(data: bytes) -> str:
    """What names a message for learning: its Message-ID, else a hash of its bytes."""
    head = data.split(b"\r\n\r\n", 1)[0][:65536]
    match = _MESSAGE_ID.search(head)
    if match:
        return match.group(1).decode("utf-8", "replace")
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _chi2q(x2: float, freedom: int) -> float:
    """P(chi-square with ``freedom`` degrees >= x2), ``freedom`` even (SpamBayes' chi2Q)."""
    m = x2 / 2.0
    term = total = math.exp(-m)
    for i in range(1, freedom // 2):
        term *= m / i
        total += term
    return min(total, 1.0)


class Classifier:
    """One user's token counts, in their SQLite file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.db = sqlite3.connect(path, timeout=30, isolation_level=None)
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        """Close the file."""
        self.db.close()

    def __enter__(self) -> Classifier:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def totals(self) -> tuple[int, int]:
        """(spam, ham) messages learnt."""
        row = self.db.execute(
            "SELECT COALESCE(SUM(spam), 0), COALESCE(SUM(1 - spam), 0) FROM learnt"
        ).fetchone()
        return int(row[0]), int(row[1])

    def learn(self, data: bytes, spam: bool) -> bool:
        """Count a message as spam or ham; False when it was learnt so already."""
        key = message_key(data)
        tokens = tokenize(data)
        self.db.execute("BEGIN IMMEDIATE")
        try:
            row = self.db.execute("SELECT spam FROM learnt WHERE message = ?", (key,)).fetchone()
            if row is not None and bool(row[0]) == spam:
                self.db.execute("ROLLBACK")
                return False
            if row is not None:  # learnt as the other class: take that back first
                self._count(tokens, bool(row[0]), -1)
            self._count(tokens, spam, 1)
            self.db.execute(
                "INSERT OR REPLACE INTO learnt (message, spam) VALUES (?, ?)", (key, int(spam))
            )
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        return True

    def _count(self, tokens: Iterable[str], spam: bool, step: int) -> None:
        column = "spam" if spam else "ham"
        rows = [(t, int(spam) * step, int(not spam) * step) for t in tokens]
        self.db.executemany(
            "INSERT INTO tokens (token, spam, ham) VALUES (?, MAX(?, 0), MAX(?, 0))"
            f" ON CONFLICT(token) DO UPDATE SET {column} = MAX({column} + ?, 0)",
            [(t, s, h, step) for t, s, h in rows],
        )

    def spam_probability(self, data: bytes) -> float | None:
        """0 (ham) .. 1 (spam), or None before enough of both classes were learnt."""
        nspam, nham = self.totals()
        if nspam < MIN_TRAINED or nham < MIN_TRAINED:
            return None
        tokens = sorted(tokenize(data))
        counts: dict[str, tuple[int, int]] = {}
        for start in range(0, len(tokens), 500):
            chunk = tokens[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for token, s, h in self.db.execute(
                f"SELECT token, spam, ham FROM tokens WHERE token IN ({marks})", chunk
            ):
                counts[token] = (s, h)
        clues = []
        for s, h in counts.values():
            spam_ratio, ham_ratio = s / nspam, h / nham
            if spam_ratio + ham_ratio == 0:
                continue
            p = spam_ratio / (spam_ratio + ham_ratio)
            n = s + h
            p = (PRIOR_STRENGTH * PRIOR + n * p) / (PRIOR_STRENGTH + n)
            if abs(p - 0.5) >= MIN_STRENGTH:
                clues.append(min(max(p, 0.01), 0.99))
        clues = sorted(clues, key=lambda p: -abs(p - 0.5))[:MAX_CLUES]
        if not clues:
            return 0.5
        ham_evidence = _chi2q(-2.0 * sum(math.log(p) for p in clues), 2 * len(clues))
        spam_evidence = _chi2q(-2.0 * sum(math.log(1.0 - p) for p in clues), 2 * len(clues))
        return ((1.0 - spam_evidence) - (1.0 - ham_evidence) + 1.0) / 2.0


def classifier_path(user_dir: Path) -> Path:
    """Where a user's counts live (in their Maildir)."""
    return user_dir / FILENAME
