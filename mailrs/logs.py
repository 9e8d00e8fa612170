"""Log lines of every service: plain text, or one JSON object per line (``[log] format``).

``setup_logging`` configures the root logger of a process (smtpd, imapd, the web app,
``mailrs`` commands); Celery workers put ``JsonFormatter`` on the handlers Celery sets
up (``mailrs.celery``), and gunicorn's own loggers get it from ``gunicorn.conf.py``.
``MAILRS_LOG_FORMAT=json`` overrides the file like every other key.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys

from mailrs.config import Settings

TEXT_FORMAT = "%(asctime)s %(name)s %(levelname)s %(message)s"
# Attributes every LogRecord has; anything else was passed with ``extra=`` and is kept.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC, ISO 8601), level, logger, message, extras."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON."""
        entry: dict[str, object] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "process": record.process,
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value if isinstance(value, int | float | bool | None) else str(value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False)


def formatter(settings: Settings, text_format: str = TEXT_FORMAT) -> logging.Formatter:
    """The formatter the settings ask for."""
    if settings.log.format == "json":
        return JsonFormatter()
    return logging.Formatter(text_format)


class _MailrsHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The root handler mailrs installs (so a second set-up replaces it, not doubles it)."""


def setup_logging(settings: Settings, text_format: str = TEXT_FORMAT) -> None:
    """Log to stderr at ``[log] level`` in ``[log] format`` from the root logger down."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler, _MailrsHandler):
            root.removeHandler(handler)
    handler = _MailrsHandler(sys.stderr)
    handler.setFormatter(formatter(settings, text_format))
    root.addHandler(handler)
    root.setLevel(settings.log.level.upper())
