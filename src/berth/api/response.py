"""What a route handler returns, and the writers it streams through.

A handler returns one of three replies:

- :class:`Response` — a whole body sent with ``Content-Length`` (or none: 204, 304);
  built by :func:`json_response`, :func:`empty`, :func:`text`;
- :class:`StreamResponse` — status and headers flushed at once, then a chunked body the
  handler's ``producer`` writes through a :class:`StreamWriter` as it goes (``wait``,
  ``events``, ``logs``, pulls). If the client goes away the producer is cancelled;
  :func:`json_stream` wraps it for JSON-message streams (README §3.3);
- :class:`Hijack` — ``101 UPGRADED`` (or ``200`` when the client did not ask to upgrade),
  after which the connection is a raw byte pipe handed to the handler's callback as a
  :class:`HijackedStream` (attach, exec start; README §3.1). The server closes the
  connection when the callback returns.

JSON is encoded as Go's encoding/json does (compact, ``<``, ``>``, ``&``, U+2028 and
U+2029 escaped, a newline after each document) so bodies match dockerd's byte for byte.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from berth.api.wire import MEDIA_JSON, MEDIA_RAW_STREAM, MEDIA_TEXT

__all__ = [
    "Hijack",
    "HijackedStream",
    "JsonStream",
    "Reply",
    "Response",
    "StreamResponse",
    "StreamWriter",
    "empty",
    "encode_json",
    "json_response",
    "json_stream",
    "text",
]


def encode_json(obj: Any) -> bytes:
    """``obj`` as Go's json.Encoder writes it, trailing newline included."""
    s = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    # These characters occur only inside JSON strings, so a plain replace is exact.
    if "<" in s or ">" in s or "&" in s or "\u2028" in s or "\u2029" in s:
        s = (
            s.replace("<", "\\u003c")
            .replace(">", "\\u003e")
            .replace("&", "\\u0026")
            .replace("\u2028", "\\u2028")
            .replace("\u2029", "\\u2029")
        )
    return s.encode() + b"\n"


class Response:
    """A complete reply. ``headers`` use canonical names (``Content-Type``)."""

    __slots__ = ("body", "headers", "status")

    def __init__(
        self,
        status: int = 200,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
        content_type: str | None = None,
    ) -> None:
        self.status = status
        self.body = body
        self.headers = dict(headers or {})
        if content_type is not None:
            self.headers["Content-Type"] = content_type

    def __repr__(self) -> str:
        return f"Response({self.status}, {self.body[:60]!r})"


class StreamWriter(Protocol):
    """The body of a :class:`StreamResponse`; each write is one chunk, flushed."""

    async def write(self, data: bytes) -> None: ...


class StreamResponse:
    __slots__ = ("headers", "producer", "status")

    def __init__(
        self,
        producer: Callable[[StreamWriter], Awaitable[None]],
        status: int = 200,
        content_type: str = MEDIA_JSON,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.producer = producer
        self.status = status
        self.headers = dict(headers or {})
        self.headers["Content-Type"] = content_type


class HijackedStream(Protocol):
    """The connection after the upgrade: bytes both ways, no framing."""

    async def read(self, n: int = 65536) -> bytes:
        """Up to ``n`` bytes from the client; ``b""`` once it has closed or half-closed."""
        ...

    async def write(self, data: bytes) -> None:
        """Send ``data`` and wait until the transport has taken it."""
        ...

    def close_write(self) -> None:
        """Half-close: the client reads EOF but may still send."""
        ...


class Hijack:
    __slots__ = ("content_type", "handler", "headers")

    def __init__(
        self,
        handler: Callable[[HijackedStream], Awaitable[None]],
        content_type: str = MEDIA_RAW_STREAM,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.handler = handler
        self.content_type = content_type
        self.headers = dict(headers or {})


Reply = Response | StreamResponse | Hijack


def json_response(obj: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(status, encode_json(obj), headers, MEDIA_JSON)


def empty(status: int = 204, headers: dict[str, str] | None = None) -> Response:
    return Response(status, b"", headers)


def text(body: str, status: int = 200, content_type: str = MEDIA_TEXT) -> Response:
    return Response(status, body.encode(), None, content_type)


class JsonStream:
    """A JSON-message stream: one JSON document per chunk, each ended by CRLF as dockerd
    writes them. An error after the 200 has gone out is sent as the final message
    (:meth:`error`); clients print it and fail."""

    __slots__ = ("_w",)

    def __init__(self, writer: StreamWriter) -> None:
        self._w = writer

    async def send(self, obj: Any) -> None:
        await self._w.write(encode_json(obj)[:-1] + b"\r\n")

    async def error(self, message: str, code: int | None = None) -> None:
        detail: dict[str, Any] = {"message": message}
        if code is not None:
            detail = {"code": code, "message": message}
        await self.send({"errorDetail": detail, "error": message})


def json_stream(
    producer: Callable[[JsonStream], Awaitable[None]], headers: dict[str, str] | None = None
) -> StreamResponse:
    """A 200 JSON-message stream whose messages ``producer`` sends."""

    async def run(w: StreamWriter) -> None:
        await producer(JsonStream(w))

    return StreamResponse(run, 200, MEDIA_JSON, headers)
