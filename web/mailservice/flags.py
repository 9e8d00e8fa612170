"""Flag names as the API speaks them, and the Maildir letters (``:2,`` info) they stand for."""

from __future__ import annotations

from web.mailservice.errors import BadInput

FLAG_LETTERS = {"seen": "S", "flagged": "F", "answered": "R", "draft": "D", "deleted": "T"}
LETTER_NAMES = {letter: name for name, letter in FLAG_LETTERS.items()}


def flag_names(letters: str) -> list[str]:
    """The API names of a Maildir flag string, e.g. ``"FS"`` → ``["flagged", "seen"]``."""
    return [LETTER_NAMES[c] for c in letters if c in LETTER_NAMES]


def flag_letters(names: list[str] | tuple[str, ...]) -> str:
    """The Maildir letters of API flag names; BadInput for an unknown name."""
    letters = []
    for name in names:
        key = str(name).lower().lstrip("\\")
        if key not in FLAG_LETTERS:
            raise BadInput(f"unknown flag {name!r}; known: {', '.join(FLAG_LETTERS)}")
        letters.append(FLAG_LETTERS[key])
    return "".join(letters)
