"""Bounded decompression of gzip and deflate response bodies, a chunk at a time.

An `Inflater` never produces more than its limit, so a small compressed body cannot
inflate into an unbounded one. Failures raise `InflateError`, whose `problem` says
which of a small closed set went wrong; `feeds.fetch` maps it to its error kinds.
"""

from __future__ import annotations

import zlib
from typing import Literal

InflateProblem = Literal["corrupt", "too_large", "unsupported"]


class InflateError(Exception):
    """A body could not be decoded: corrupt, larger than the limit, or in an unknown encoding."""

    def __init__(self, problem: InflateProblem, message: str) -> None:
        super().__init__(message)
        self.problem: InflateProblem = problem
        self.message = message


class Inflater:
    """Decompresses gzip or deflate a chunk at a time, never producing more than `limit` bytes."""

    def __init__(self, encoding: str, limit: int) -> None:
        self._encoding = encoding
        self._limit = limit
        self._produced = 0
        self._obj: zlib._Decompress | None = None

    def feed(self, data: bytes) -> bytes:
        """Return the bytes `data` inflates to; raise InflateError if corrupt or too large."""
        if self._obj is None:
            self._obj = zlib.decompressobj(self._wbits(data))
        out: list[bytes] = []
        try:
            while data:
                piece = self._obj.decompress(data, self._limit - self._produced + 1)
                self._count(piece)
                out.append(piece)
                data = self._obj.unconsumed_tail
        except zlib.error as exc:
            raise InflateError("corrupt", f"the {self._encoding} body is corrupt: {exc}") from exc
        return b"".join(out)

    def flush(self) -> bytes:
        """Return whatever the stream still holds once the body has ended."""
        if self._obj is None:
            return b""
        rest = self._obj.flush()
        self._count(rest)
        return rest

    def _count(self, piece: bytes) -> None:
        self._produced += len(piece)
        if self._produced > self._limit:
            raise InflateError("too_large", f"the feed inflates past {self._limit:,} bytes")

    def _wbits(self, first: bytes) -> int:
        """Window bits for zlib: gzip framing, zlib framing, or a raw deflate stream."""
        if self._encoding != "deflate":
            return 16 + zlib.MAX_WBITS
        # "deflate" is meant to be zlib-wrapped, but some servers send a raw stream.
        wrapped = len(first) >= 2 and first[0] & 0x0F == 8 and (first[0] << 8 | first[1]) % 31 == 0
        return zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS


def inflater_for(content_encoding: str, limit: int) -> Inflater | None:
    """Return an inflater for a Content-Encoding header, or None for an unencoded body.

    Raises InflateError ("unsupported") for an encoding other than gzip or deflate.
    """
    encoding = content_encoding.strip().lower()
    if encoding in ("", "identity"):
        return None
    if encoding in ("gzip", "x-gzip", "deflate"):
        return Inflater("deflate" if encoding == "deflate" else "gzip", limit)
    raise InflateError(
        "unsupported",
        f"the server sent the body in the {encoding!r} encoding, which was not asked for",
    )
