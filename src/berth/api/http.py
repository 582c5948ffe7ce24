"""HTTP/1.1 on one connection, server side: as much of RFC 9112 as Engine API clients use.

One :class:`Connection` serves requests one after another on a stream (a unix socket, or
TLS over TCP): request line and headers, bodies framed by ``Content-Length`` or
``Transfer-Encoding: chunked`` (RFC 9112 §6, §7.1), ``Expect: 100-continue``, keep-alive
(the docker CLI sends ``HEAD /_ping`` and then its real request on the same connection),
and the three kinds of reply of :mod:`berth.api.response`.

Response headers are written as Go's net/http writes them, so traces compare line by line:
the handler's and the connection's headers sorted by name, then ``Date``, then
``Content-Length`` or ``Transfer-Encoding`` (unless the handler set them itself).

The connection knows nothing of the Engine API: ``dispatch`` turns a request into a reply
and never raises; ``extra_headers`` are added to every response (``Api-Version`` …).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from http import HTTPStatus

from berth.api.request import Request
from berth.api.response import Hijack, Reply, Response, StreamResponse
from berth.errdefs import InvalidArgument

__all__ = ["MAX_HEAD", "Connection", "ProtocolError", "encode_chunk", "http_date"]

log = logging.getLogger("berth.api")

MAX_HEAD = 1 << 20  # Go's DefaultMaxHeaderBytes
MAX_DRAIN = 256 << 10  # unread body discarded to keep a connection; more closes it
_READ = 1 << 18  # what asyncio's transport gives per socket read at most (big uploads: fewer trips)

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class ProtocolError(Exception):
    """The client did not speak HTTP/1.1; answered with ``status`` and the connection closed."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def http_date(t: float | None = None) -> str:
    """RFC 9110 §5.6.7 IMF-fixdate, independent of the locale."""
    g = time.gmtime(t)
    return (
        f"{_DAYS[g.tm_wday]}, {g.tm_mday:02d} {_MONTHS[g.tm_mon - 1]} {g.tm_year} "
        f"{g.tm_hour:02d}:{g.tm_min:02d}:{g.tm_sec:02d} GMT"
    )


def encode_chunk(data: bytes) -> bytes:
    """One chunk of a chunked body (RFC 9112 §7.1); empty data is the last chunk."""
    if not data:
        return b"0\r\n\r\n"
    return b"%x\r\n%b\r\n" % (len(data), data)


def _reason(status: int) -> str:
    if status == 101:
        return "UPGRADED"  # what dockerd writes for a hijack
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


class _Input:
    """The read side with its own buffer, so that the disconnect watch can read ahead
    without losing bytes of a pipelined request."""

    __slots__ = ("_buf", "_reader", "eof")

    def __init__(self, reader: asyncio.StreamReader) -> None:
        self._reader = reader
        self._buf = bytearray()
        self.eof = False

    async def fill(self) -> bool:
        """Read more into the buffer; False at end of input."""
        if self.eof:
            return False
        data = await self._reader.read(_READ)
        if not data:
            self.eof = True
            return False
        self._buf += data
        return True

    async def read_head(self) -> bytes | None:
        """A request head without its final CRLFCRLF; None on EOF before any byte."""
        while self._buf[:2] == b"\r\n":  # stray CRLF between requests (RFC 9112 §2.2)
            del self._buf[:2]
        start = 0
        while True:
            i = self._buf.find(b"\r\n\r\n", start)
            if i >= 0:
                head = bytes(self._buf[:i])
                del self._buf[: i + 4]
                return head
            if len(self._buf) > MAX_HEAD:
                raise ProtocolError("request header too large", 431)
            start = max(0, len(self._buf) - 3)
            if not await self.fill():
                if not self._buf.strip():
                    return None
                raise ProtocolError("unexpected EOF in request header")

    async def read_line(self, limit: int = 4096) -> bytes:
        start = 0
        while True:
            i = self._buf.find(b"\n", start)
            if i >= 0:
                line = bytes(self._buf[: i + 1])
                del self._buf[: i + 1]
                return line.rstrip(b"\r\n")
            if len(self._buf) > limit:
                raise ProtocolError("line too long in chunked body")
            start = len(self._buf)
            if not await self.fill():
                raise ProtocolError("unexpected EOF in chunked body")

    async def read_some(self, n: int) -> bytes:
        if not self._buf and not await self.fill():
            return b""
        data = bytes(self._buf[:n])
        del self._buf[:n]
        return data

    async def read_exactly(self, n: int) -> bytes:
        while len(self._buf) < n:
            if not await self.fill():
                raise ProtocolError("unexpected EOF in request body")
        data = bytes(self._buf[:n])
        del self._buf[:n]
        return data


class _Body:
    """A request body: ``length`` bytes, chunked, or none (length 0)."""

    __slots__ = ("_chunk_left", "_continue", "_inp", "_left", "chunked", "done")

    def __init__(
        self,
        inp: _Input,
        length: int,
        chunked: bool,
        send_continue: Callable[[], Awaitable[None]] | None,
    ) -> None:
        self._inp = inp
        self._left = length
        self.chunked = chunked
        self._chunk_left = 0
        self._continue = send_continue
        self.done = not chunked and length == 0

    async def read(self, n: int = _READ) -> bytes:
        if self.done:
            return b""
        if self._continue is not None:
            cont, self._continue = self._continue, None
            await cont()
        if not self.chunked:
            data = await self._inp.read_some(min(n, self._left))
            if not data:
                raise ProtocolError("unexpected EOF in request body")
            self._left -= len(data)
            self.done = self._left == 0
            return data
        if self._chunk_left == 0:
            line = await self._inp.read_line()
            size_hex = line.split(b";", 1)[0].strip()
            try:
                size = int(size_hex, 16)
            except ValueError:
                raise ProtocolError(f"invalid chunk size {size_hex[:20]!r}") from None
            if size < 0:
                raise ProtocolError("invalid chunk size")
            if size == 0:
                while await self._inp.read_line(MAX_HEAD):  # trailer fields, ignored
                    pass
                self.done = True
                return b""
            self._chunk_left = size
        data = await self._inp.read_some(min(n, self._chunk_left))
        if not data:
            raise ProtocolError("unexpected EOF in chunked body")
        self._chunk_left -= len(data)
        if self._chunk_left == 0 and await self._inp.read_exactly(2) != b"\r\n":
            raise ProtocolError("missing CRLF after chunk data")
        return data

    async def read_all(self, limit: int) -> bytes:
        parts: list[bytes] = []
        total = 0
        while True:
            data = await self.read()
            if not data:
                return b"".join(parts)
            total += len(data)
            if total > limit:
                raise InvalidArgument(f"request body is larger than {limit} bytes")
            parts.append(data)

    async def drain(self, limit: int) -> bool:
        """Discard what the handler did not read; False if more than ``limit`` is left."""
        if self.done:
            return True
        if self._continue is not None:  # the client waits for our go-ahead: nothing sent
            return False
        total = 0
        while not self.done:
            total += len(await self.read())
            if total > limit:
                return False
        return True


class _ChunkedWriter:
    __slots__ = ("_chunked", "_w")

    def __init__(self, w: asyncio.StreamWriter, chunked: bool) -> None:
        self._w = w
        self._chunked = chunked

    async def write(self, data: bytes) -> None:
        if not data:
            return
        self._w.write(encode_chunk(data) if self._chunked else data)
        await self._w.drain()


class _Hijacked:
    __slots__ = ("_inp", "_w")

    def __init__(self, inp: _Input, w: asyncio.StreamWriter) -> None:
        self._inp = inp
        self._w = w

    async def read(self, n: int = _READ) -> bytes:
        return await self._inp.read_some(n)

    async def write(self, data: bytes) -> None:
        self._w.write(data)
        await self._w.drain()

    def close_write(self) -> None:
        if self._w.can_write_eof():
            self._w.write_eof()


def _parse_head(head: bytes) -> tuple[str, str, str, dict[str, str]]:
    try:
        text = head.decode("latin-1")
    except UnicodeDecodeError:  # pragma: no cover - latin-1 decodes every byte
        raise ProtocolError("malformed request header") from None
    lines = text.split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[0] or not parts[1]:
        raise ProtocolError(f"malformed request line {lines[0][:80]!r}")
    method, target, version = parts
    if version not in ("HTTP/1.1", "HTTP/1.0"):
        raise ProtocolError(f"unsupported protocol version {version[:20]!r}", 505)
    if not target.startswith("/"):
        if target.startswith(("http://", "https://")):  # absolute-form (RFC 9112 §3.2.2)
            rest = target.split("://", 1)[1]
            target = "/" + rest.split("/", 1)[1] if "/" in rest else "/"
        else:
            raise ProtocolError(f"malformed request target {target[:80]!r}")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if not colon or not name or name != name.strip() or line[0] in " \t":
            raise ProtocolError(f"malformed header line {line[:80]!r}")
        key = name.lower()
        value = value.strip(" \t")
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    return method, target, version, headers


class Connection:
    """Serves one client connection until it closes, asks to close, or is hijacked."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        dispatch: Callable[[Request], Awaitable[Reply]],
        extra_headers: dict[str, str],
    ) -> None:
        self._inp = _Input(reader)
        self._w = writer
        self._dispatch = dispatch
        self._extra = extra_headers

    async def serve(self) -> None:
        try:
            while await self._one():
                pass
        except ProtocolError as exc:
            await self._refuse(exc)
        except (ConnectionError, asyncio.IncompleteReadError, TimeoutError):
            pass
        finally:
            self._w.close()
            try:
                await self._w.wait_closed()
            except (ConnectionError, OSError):
                pass

    async def _refuse(self, exc: ProtocolError) -> None:
        body = f"{exc.status} {_reason(exc.status)}: {exc}\n".encode()
        head = self._head(
            exc.status,
            {"Content-Type": "text/plain; charset=utf-8"},
            [("Connection", "close"), ("Content-Length", str(len(body)))],
        )
        try:
            self._w.write(head + body)
            await self._w.drain()
        except (ConnectionError, OSError):
            pass

    async def _one(self) -> bool:
        """Serve one request; True to keep the connection for another."""
        head = await self._inp.read_head()
        if head is None:
            return False
        method, target, version, headers = _parse_head(head)
        te = headers.get("transfer-encoding", "").lower()
        chunked = False
        length = 0
        if te:
            if te.split(",")[-1].strip() != "chunked":
                raise ProtocolError(f"unsupported transfer encoding {te!r}", 501)
            chunked = True
        elif "content-length" in headers:
            cl = headers["content-length"].strip()
            if not cl.isdigit():
                raise ProtocolError(f"invalid Content-Length {cl[:20]!r}")
            length = int(cl)
        send_continue = None
        if version == "HTTP/1.1" and headers.get("expect", "").lower() == "100-continue":
            send_continue = self._send_continue
        body = _Body(self._inp, length, chunked, send_continue)
        req = Request(method, target, headers, body, version)
        conn = req.header_tokens("connection")
        if version == "HTTP/1.1":
            keep = "close" not in conn
        else:
            keep = "keep-alive" in conn
        reply = await self._dispatch(req)
        if isinstance(reply, Hijack):
            await self._hijack(req, reply)
            return False
        if isinstance(reply, StreamResponse):
            keep = await self._stream(req, reply, keep) and keep
        else:
            await self._respond(req, reply, keep)
        return keep and await body.drain(MAX_DRAIN)

    async def _send_continue(self) -> None:
        self._w.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        await self._w.drain()

    def _head(self, status: int, headers: dict[str, str], tail: list[tuple[str, str]]) -> bytes:
        merged = {**self._extra, **headers}
        lines = [f"HTTP/1.1 {status} {_reason(status)}"]
        lines += [f"{k}: {merged[k]}" for k in sorted(merged)]
        lines.append(f"Date: {http_date()}")
        lines += [f"{k}: {v}" for k, v in tail if k not in merged]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    async def _respond(self, req: Request, resp: Response, keep: bool) -> None:
        tail: list[tuple[str, str]] = []
        if not keep:
            tail.append(("Connection", "close"))
        elif req.http_version == "HTTP/1.0":
            tail.append(("Connection", "keep-alive"))
        if resp.status >= 200 and resp.status not in (204, 304):
            tail.append(("Content-Length", str(len(resp.body))))
        data = self._head(resp.status, resp.headers, tail)
        if req.method != "HEAD" and resp.status not in (204, 304):
            data += resp.body
        self._w.write(data)
        await self._w.drain()

    async def _stream(self, req: Request, resp: StreamResponse, keep: bool) -> bool:
        """Headers now, then the producer's chunks; False if the stream did not end cleanly."""
        chunked = req.http_version == "HTTP/1.1"
        tail = [("Transfer-Encoding", "chunked")] if chunked else [("Connection", "close")]
        if chunked and not keep:
            tail.insert(0, ("Connection", "close"))
        self._w.write(self._head(resp.status, resp.headers, tail))
        await self._w.drain()
        if req.method == "HEAD":
            return True
        producer = asyncio.ensure_future(resp.producer(_ChunkedWriter(self._w, chunked)))
        watch = asyncio.ensure_future(self._watch_disconnect())
        try:
            await asyncio.wait({producer, watch}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            watch.cancel()
            if not producer.done():
                producer.cancel()
        await asyncio.wait({producer})
        if producer.cancelled():
            return False
        exc = producer.exception()
        if exc is not None:
            if not isinstance(exc, ConnectionError):
                log.error("stream for %s %s failed", req.method, req.path, exc_info=exc)
            return False
        if chunked:
            self._w.write(encode_chunk(b""))
            await self._w.drain()
            return True
        return False

    async def _watch_disconnect(self) -> None:
        """Return when the client closes its side (Go cancels the request's context then)."""
        while await self._inp.fill():
            if len(self._inp._buf) > MAX_HEAD:
                return

    async def _hijack(self, req: Request, reply: Hijack) -> None:
        if req.wants_upgrade:
            first = {"Content-Type": reply.content_type, "Connection": "Upgrade", "Upgrade": "tcp"}
            lines = ["HTTP/1.1 101 UPGRADED"] + [f"{k}: {v}" for k, v in first.items()]
            rest = {**self._extra, **reply.headers}
            lines += [f"{k}: {rest[k]}" for k in sorted(rest)]
            data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        else:
            data = self._head(200, {**reply.headers, "Content-Type": reply.content_type}, [])
        self._w.write(data)
        await self._w.drain()
        try:
            await reply.handler(_Hijacked(self._inp, self._w))
        except ConnectionError:
            pass
        except Exception:
            log.exception("hijacked stream for %s %s failed", req.method, req.path)
