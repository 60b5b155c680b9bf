"""Reading a response body within a limit: raw bytes in, decoded bytes out, never more.

The transports hand over the body as it came off the wire (``iter_raw``: still gzip- or
deflate-compressed). ``BoundedBody`` decodes it here, asking zlib for at most what is
left under the limit, so a small compressed body that inflates to gigabytes stops at the
limit too; an uncompressed body stops as soon as the bytes read pass it (or at once, when
its ``Content-Length`` already says it would). Both transports go through this one place.
"""

from __future__ import annotations

import zlib

__all__ = [
    "ACCEPT_ENCODING",
    "DEFAULT_MAX_RESPONSE_BYTES",
    "ERROR_BODY_BYTES",
    "BodyTooLarge",
    "BoundedBody",
    "UnsupportedEncoding",
]

DEFAULT_MAX_RESPONSE_BYTES = 32 * 1024 * 1024
"""32 MiB. The largest page the API returns is a query of 100 items (``limit`` is 0-100);
the heaviest item in the reference fixtures, a review queue item with its flags, actions
and payload, is 23 KiB, so a full page of them is about 2.3 MiB: the limit is ~14 times
that. Configurable per client (``max_response_bytes``)."""
ERROR_BODY_BYTES = 64 * 1024
"""How much of an error response's body is read: the API's error JSON is a few hundred
bytes; a proxy's HTML page fits too, and a larger one is cut (the excerpt is 300 chars)."""
ACCEPT_ENCODING = "gzip, deflate"
"""What the client asks for: the encodings it decodes itself, within the limit."""


_STEP = 256 * 1024


class BodyTooLarge(Exception):
    """The body passed the limit; ``read`` is how many decoded bytes were kept."""

    def __init__(self, limit: int, read: int) -> None:
        super().__init__(f"the response body is larger than {limit} bytes")
        self.limit = limit
        self.read = read


class UnsupportedEncoding(Exception):
    """A Content-Encoding the client did not ask for and cannot decode within a limit."""


class BoundedBody:
    """Collects a body, decoded, up to ``limit`` bytes; ``BodyTooLarge`` past that."""

    __slots__ = ("_chunks", "_decoder", "_first", "_size", "limit", "truncate")

    def __init__(
        self,
        limit: int,
        *,
        content_encoding: str | None = None,
        content_length: str | None = None,
        truncate: bool = False,
    ) -> None:
        """``truncate``: keep the first ``limit`` bytes and stop, instead of raising (error
        bodies, of which an excerpt is enough)."""
        self.limit = limit
        self.truncate = truncate
        self._chunks: list[bytes] = []
        self._size = 0
        self._first = True
        encoding = (content_encoding or "identity").strip().lower()
        if encoding in ("identity", ""):
            self._decoder = None
        elif encoding in ("gzip", "x-gzip"):
            self._decoder = zlib.decompressobj(zlib.MAX_WBITS | 16)
        elif encoding == "deflate":
            self._decoder = zlib.decompressobj(zlib.MAX_WBITS)  # raw deflate: see _decode
        else:
            raise UnsupportedEncoding(f"unsupported Content-Encoding {encoding!r}")
        if self._decoder is None and not truncate and content_length is not None:
            try:
                declared = int(content_length)
            except ValueError:
                declared = -1
            if declared > limit:
                raise BodyTooLarge(limit, 0)

    @property
    def full(self) -> bool:
        """Whether a truncating body has all it keeps (reading more is pointless)."""
        return self.truncate and self._size >= self.limit

    def feed(self, raw: bytes) -> None:
        """Add a chunk as it came off the wire."""
        if self._decoder is None:
            self._keep(raw)
            return
        data = raw
        while data and not self.full:
            # at most one byte more than fits (that tells "too large"), in steps of 256 KiB
            room = min(self.limit - self._size + 1, _STEP)
            try:
                out = self._decoder.decompress(data, room)
            except zlib.error:
                if not self._first:
                    raise
                # "deflate" sent as raw deflate (no zlib header), as some servers do
                self._decoder = zlib.decompressobj(-zlib.MAX_WBITS)
                out = self._decoder.decompress(data, room)
            self._first = False
            self._keep(out)
            data = self._decoder.unconsumed_tail

    def feed_decoded(self, data: bytes) -> None:
        """Add bytes already decoded (a transport that handed over the body whole)."""
        self._decoder = None
        self._keep(data)

    def _keep(self, data: bytes) -> None:
        if not data:
            return
        if self._size + len(data) > self.limit:
            if not self.truncate:
                raise BodyTooLarge(self.limit, self._size)
            data = data[: self.limit - self._size]
        self._chunks.append(data)
        self._size += len(data)

    def content(self) -> bytes:
        """The decoded body (for a truncating one, its first ``limit`` bytes)."""
        if self._decoder is not None and not self.full:
            self._keep(self._decoder.flush())
        return b"".join(self._chunks)
