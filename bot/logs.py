"""Logging set-up: readable lines on a terminal or JSON lines, with secrets masked.

exitplan logs through the standard library (`logging.getLogger(__name__)`) with context
as `key=value` pairs in the message. `configure_logging` installs one handler on the root
logger; the JSON form turns those pairs into fields. A `SecretFilter` on that handler
replaces any configured token or Apprise URL in a record with `***`, whichever library
logged it (defence in depth: nothing should log them in the first place).
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, TextIO
from urllib.parse import unquote, urlsplit

LOG_FORMATS = ("text", "json")
MASK = "***"
#: Shorter strings are never treated as secrets: masking them would garble every line.
MIN_SECRET_LENGTH = 6
#: A URL segment at least this long without a dot is taken for a token (hosts have dots).
_TOKEN_SEGMENT_LENGTH = 20
_TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_PAIR = re.compile(r"(?:^|\s)([a-z][a-z0-9_]*)=(.*?)(?=\s+[a-z][a-z0-9_]*=|$)", re.DOTALL)
_RESERVED = frozenset({"time", "level", "logger", "message", "exception", "stack"})


def message_fields(message: str) -> dict[str, str]:
    """The `key=value` pairs of a log message; a value runs until the next ` key=`."""
    return {
        key: value.strip()
        for key, value in _PAIR.findall(message)
        if key not in _RESERVED and value.strip()
    }


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and the message's pairs."""

    def format(self, record: logging.LogRecord) -> str:
        """Render a record as a single line of JSON."""
        message = record.getMessage()
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": message,
        }
        line.update(message_fields(message))
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class SecretFilter(logging.Filter):
    """Replaces every known secret in a record's message and traceback with `***`."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._secrets: set[str] = set()
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        """Mask these values from now on (short or empty ones are ignored)."""
        self._secrets.update(s for s in secrets if s and len(s) >= MIN_SECRET_LENGTH)

    def mask(self, text: str) -> str:
        """The text with every secret replaced, longest first."""
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(secret, MASK)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        """Mask the record in place; never drops it."""
        if not self._secrets:
            return True
        message = record.getMessage()
        masked = self.mask(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.mask(record.exc_text)
        if record.stack_info:
            record.stack_info = self.mask(record.stack_info)
        return True


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is when a record arrives (it may be replaced)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


def url_secrets(url: str) -> list[str]:
    """The parts of a notification URL to keep out of logs.

    The whole URL, its password, and every host or path segment that looks like a token
    (long, without a dot); the query's values too. Apprise URLs carry their tokens in
    all of these places.
    """
    found = [url]
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return found
    if password:
        found += [password, unquote(password)]
    segments = [parts.netloc.rpartition("@")[2], *parts.path.split("/")]
    segments += [pair.partition("=")[2] for pair in parts.query.split("&")]
    found += [
        piece
        for segment in segments
        for piece in (segment, unquote(segment))
        if len(piece) >= _TOKEN_SEGMENT_LENGTH and "." not in piece
    ]
    return found


def configure_logging(
    level: str | int,
    fmt: str = "text",
    *,
    secrets: Iterable[str] = (),
    stream: TextIO | None = None,
) -> logging.Handler:
    """Send every log record to standard error (or `stream`) as text or JSON lines.

    Replaces the handler an earlier call installed, so it can run again once the
    settings are known. Returns the handler.
    """
    if fmt not in LOG_FORMATS:
        raise ValueError(f"log format must be one of {', '.join(LOG_FORMATS)}, not {fmt!r}")
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "exitplan", False)]:
        root.removeHandler(old)
        old.close()
    handler: logging.Handler = (
        logging.StreamHandler(stream) if stream is not None else _StderrHandler()
    )
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(_TEXT_FORMAT))
    handler.addFilter(SecretFilter(secrets))
    handler.exitplan = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    return handler


def mask_secrets(secrets: Iterable[str]) -> None:
    """Mask more values (say, Apprise URLs read from the database) in every exitplan log."""
    values = list(secrets)
    for handler in logging.getLogger().handlers:
        for item in handler.filters:
            if isinstance(item, SecretFilter):
                item.add(values)
