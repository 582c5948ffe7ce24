"""HTTP/1.1 to the daemon over a unix socket, on the C ``_socket`` module alone.

:mod:`http.client` would cost the CLI ~29 ms at start (it imports :mod:`email`, :mod:`re`
…), and even :mod:`socket` ~7 ms (:mod:`enum`, :mod:`selectors`); a whole ``berth
version`` must fit in a few tens of milliseconds, so this speaks the small part of HTTP/1.1
the Engine API needs directly: requests with a body of known length, responses framed by
``Content-Length``, ``chunked`` or the end of the connection, keep-alive (the ping and the
real request share one connection, as the docker CLI does), and streamed bodies read as
they arrive.

:class:`Transport` is the seam: anything with its ``request`` method can stand in for
the socket (tests hand the client a fake).
"""

from __future__ import annotations

import _socket

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator
    from typing import Protocol

    class Transport(Protocol):
        def request(
            self, method: str, target: str, headers: dict[str, str], body: bytes | Iterable[bytes] | None = None
        ) -> Response: ...

        def close(self) -> None: ...


__all__ = ["Hijacked", "ProtocolError", "Response", "UnixTransport"]  # and Transport, for annotations

_READ = 65536


class ProtocolError(Exception):
    """The daemon's answer was not HTTP as expected."""


class _Conn:
    __slots__ = ("buf", "sock")

    def __init__(self, sock: _socket.socket) -> None:
        self.sock = sock
        self.buf = b""

    def fill(self) -> bool:
        data = self.sock.recv(_READ)
        if not data:
            return False
        self.buf += data
        return True

    def read_until(self, sep: bytes, limit: int = 1 << 20) -> bytes:
        start = 0
        while True:
            i = self.buf.find(sep, start)
            if i >= 0:
                out, self.buf = self.buf[:i], self.buf[i + len(sep) :]
                return out
            if len(self.buf) > limit:
                raise ProtocolError("response header too large")
            start = max(0, len(self.buf) - len(sep) + 1)
            if not self.fill():
                raise ProtocolError("connection closed before the end of the response")

    def read_exactly(self, n: int) -> bytes:
        while len(self.buf) < n:
            if not self.fill():
                raise ProtocolError("connection closed in the middle of the response body")
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_some(self, n: int) -> bytes:
        if not self.buf and not self.fill():
            return b""
        out, self.buf = self.buf[:n], self.buf[n:]
        return out


class Response:
    """Status, headers (lowercase names) and a body read on demand.

    Read the body once, whole with :meth:`read` or in pieces with :meth:`iter_body`;
    the connection is reused only after the body has been read to its end.
    """

    __slots__ = ("_chunk_left", "_conn", "_done", "_left", "_mode", "_on_done", "headers", "reason", "status")

    def __init__(self, conn: _Conn, status: int, reason: str, headers: dict[str, str], method: str, on_done: object) -> None:
        self._conn = conn
        self.status = status
        self.reason = reason
        self.headers = headers
        self._on_done = on_done
        self._left = 0
        self._chunk_left = 0
        if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
            self._mode = "none"
        elif "chunked" in headers.get("transfer-encoding", "").lower():
            self._mode = "chunked"
        elif "content-length" in headers:
            self._mode = "length"
            self._left = int(headers["content-length"])
        else:
            self._mode = "close"
        self._done = False
        if self._mode == "none" or (self._mode == "length" and self._left == 0):
            self._finish(True)

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")

    def _finish(self, reusable: bool) -> None:
        self._done = True
        cb = self._on_done
        self._on_done = None
        if cb is not None:
            cb(reusable and self.headers.get("connection", "").lower() != "close")  # type: ignore[operator]

    def iter_body(self) -> Iterator[bytes]:
        """The body as it arrives (chunks decoded)."""
        conn = self._conn
        while not self._done:
            if self._mode == "length":
                data = conn.read_some(min(_READ, self._left))
                if not data:
                    raise ProtocolError("connection closed in the middle of the response body")
                self._left -= len(data)
                if self._left == 0:
                    self._finish(True)
                yield data
            elif self._mode == "close":
                data = conn.read_some(_READ)
                if not data:
                    self._finish(False)
                    return
                yield data
            else:
                if self._chunk_left == 0:
                    line = conn.read_until(b"\r\n", 4096)
                    try:
                        size = int(line.split(b";", 1)[0].strip(), 16)
                    except ValueError:
                        raise ProtocolError(f"invalid chunk size {line[:20]!r}") from None
                    if size == 0:
                        while conn.read_until(b"\r\n", 1 << 20):  # trailers
                            pass
                        self._finish(True)
                        return
                    self._chunk_left = size
                data = conn.read_some(min(_READ, self._chunk_left))
                if not data:
                    raise ProtocolError("connection closed in the middle of a chunk")
                self._chunk_left -= len(data)
                if self._chunk_left == 0 and conn.read_exactly(2) != b"\r\n":
                    raise ProtocolError("missing CRLF after chunk")
                yield data

    def read(self) -> bytes:
        return b"".join(self.iter_body())


class Hijacked:
    """A connection taken over after ``101 Switching Protocols`` (or ``200`` with a raw
    stream, which dockerd also answers): a bidirectional byte pipe (README §3.1).

    Bytes that arrived with the response head are returned first by :meth:`recv`.
    :meth:`close_write` half-closes (``shutdown(SHUT_WR)``): the peer sees the end of
    stdin and keeps sending output until the process ends.
    """

    __slots__ = ("_buf", "headers", "sock", "status")

    def __init__(self, sock: _socket.socket, buf: bytes, status: int, headers: dict[str, str]) -> None:
        self.sock = sock
        self._buf = buf
        self.status = status
        self.headers = headers

    def recv(self, n: int = _READ) -> bytes:
        """Up to ``n`` bytes; ``b""`` at the end of the stream."""
        if self._buf:
            out, self._buf = self._buf[:n], self._buf[n:]
            return out
        try:
            return self.sock.recv(n)
        except OSError:  # reset by the peer, or closed locally (detach)
            return b""

    def sendall(self, data: bytes) -> None:
        self.sock.sendall(data)

    def fileno(self) -> int:
        return self.sock.fileno()

    def close_write(self) -> None:
        try:
            self.sock.shutdown(_socket.SHUT_WR)
        except OSError:
            pass

    def close(self) -> None:
        self.sock.close()


def _parse_head(head: bytes) -> tuple[int, str, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
        raise ProtocolError(f"malformed status line {lines[0][:80]!r}")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        key = name.strip().lower()
        value = value.strip()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    return int(parts[1]), parts[2] if len(parts) > 2 else "", headers


class UnixTransport:
    """Requests over one keep-alive connection to a unix socket, reopened when needed.

    Connection failures raise :class:`OSError` (``FileNotFoundError``,
    ``ConnectionRefusedError``, ``PermissionError`` …) for the client to translate.
    """

    def __init__(self, path: str, timeout: float | None = None, user_agent: str = "berth") -> None:
        self.path = path
        self.timeout = timeout
        self.user_agent = user_agent
        self._conn: _Conn | None = None
        self._busy = False

    def _connect(self) -> _Conn:
        sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
        try:
            sock.settimeout(self.timeout)
            sock.connect(self.path)
        except BaseException:
            sock.close()
            raise
        return _Conn(sock)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.sock.close()
            self._conn = None

    def _released(self, reusable: bool) -> None:
        self._busy = False
        if not reusable:
            self.close()

    def request(
        self, method: str, target: str, headers: dict[str, str], body: bytes | Iterable[bytes] | None = None
    ) -> Response:
        if body is not None and not isinstance(body, (bytes, bytearray)):
            return self._stream(method, target, headers, body)
        if self._busy:  # the previous response was not read to its end
            self.close()
        lines = [f"{method} {target} HTTP/1.1", "Host: berth", f"User-Agent: {self.user_agent}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        if body is not None:
            lines.append(f"Content-Length: {len(body)}")
        data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body or b"")
        reused = self._conn is not None
        if self._conn is None:
            self._conn = self._connect()
        try:
            return self._exchange(self._conn, method, data)
        except (ProtocolError, OSError):
            self.close()
            if not reused:
                raise
        # The daemon may close an idle kept-alive connection: try once more on a new one.
        self._conn = self._connect()
        return self._exchange(self._conn, method, data)

    def _stream(self, method: str, target: str, headers: dict[str, str], chunks: Iterable[bytes]) -> Response:
        """Send a body of unknown length as it is produced (``Transfer-Encoding:
        chunked``): a multi-gigabyte ``load`` never sits in the client's memory. Always on a
        new connection, since a body already consumed cannot be sent again."""
        self.close()
        lines = [f"{method} {target} HTTP/1.1", "Host: berth", f"User-Agent: {self.user_agent}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        lines.append("Transfer-Encoding: chunked")
        conn = self._conn = self._connect()
        try:
            conn.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
            try:
                for chunk in chunks:
                    if chunk:
                        conn.sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            except (BrokenPipeError, ConnectionResetError):
                # the daemon refused the body part way: its answer says why
                return self._exchange(conn, method, b"")
            return self._exchange(conn, method, b"0\r\n\r\n")
        except BaseException:
            self.close()
            raise

    def fork(self) -> UnixTransport:
        """Another transport to the same socket, with its own connection (the CLI holds
        ``wait`` open on one connection while it starts the container on another)."""
        return UnixTransport(self.path, self.timeout, self.user_agent)

    def hijack(
        self, method: str, target: str, headers: dict[str, str], body: bytes | None = None
    ) -> Response | Hijacked:
        """Send an upgrade request (``Connection: Upgrade``, ``Upgrade: tcp``) on a new
        connection. ``101`` (or a ``200`` raw stream) gives the socket as a
        :class:`Hijacked`; any other answer is returned as a :class:`Response`."""
        conn = self._connect()
        lines = [f"{method} {target} HTTP/1.1", "Host: berth", f"User-Agent: {self.user_agent}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        lines += [f"Content-Length: {len(body or b'')}", "Connection: Upgrade", "Upgrade: tcp"]
        try:
            conn.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body or b""))
            while True:
                status, reason, hdrs = _parse_head(conn.read_until(b"\r\n\r\n"))
                if status != 100:
                    break
        except BaseException:
            conn.sock.close()
            raise
        if status == 101 or (status == 200 and "raw-stream" in hdrs.get("content-type", "")):
            conn.sock.settimeout(None)
            return Hijacked(conn.sock, conn.buf, status, hdrs)
        return Response(conn, status, reason, hdrs, method, lambda _reusable: conn.sock.close())

    def _exchange(self, conn: _Conn, method: str, data: bytes) -> Response:
        conn.sock.sendall(data)
        while True:
            head = conn.read_until(b"\r\n\r\n")
            status, reason, headers = _parse_head(head)
            if status != 100:
                break
        self._busy = True
        return Response(conn, status, reason, headers, method, self._released)
