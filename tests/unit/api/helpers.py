"""An ApiServer on a temp unix socket, run by an event loop in a thread, and clients
that speak raw bytes or http.client to it."""

from __future__ import annotations

import asyncio
import http.client
import os
import shutil
import socket
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from berth.api.router import Router
from berth.api.server import ApiServer


class LoopThread:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro, timeout: float = 10):  # type: ignore[no-untyped-def]
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


@contextmanager
def serve(router: Router, headers: dict[str, str] | None = None) -> Iterator[str]:
    """Serve ``router`` (with ``headers`` replacing the server's own); yields the socket path."""
    d = tempfile.mkdtemp(prefix="berth-api-")
    path = os.path.join(d, "api.sock")
    lt = LoopThread()
    server = ApiServer(router)
    for k, v in (headers or {}).items():
        if v:
            server.headers[k] = v
        else:
            server.headers.pop(k, None)
    try:
        lt.run(server.listen_unix(path))
        yield path
    finally:
        lt.run(server.close())
        lt.stop()
        shutil.rmtree(d, ignore_errors=True)


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float = 10) -> None:
        super().__init__("localhost", timeout=timeout)
        self.path = path

    def connect(self) -> None:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self.path)
        self.sock = s


def connect(path: str, timeout: float = 10) -> socket.socket:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(path)
    return s


def read_until_close(s: socket.socket) -> bytes:
    out = b""
    while True:
        data = s.recv(65536)
        if not data:
            return out
        out += data


def read_head(s: socket.socket) -> tuple[bytes, bytes]:
    """(head up to the blank line, bytes already read past it)."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        data = s.recv(65536)
        if not data:
            raise EOFError(buf)
        buf += data
    head, _, rest = buf.partition(b"\r\n\r\n")
    return head, rest


def exchange(path: str, request: bytes) -> bytes:
    """Send raw bytes, read until the server closes."""
    with connect(path) as s:
        s.sendall(request)
        return read_until_close(s)


def header_lines(head: bytes) -> list[str]:
    return head.decode("latin-1").split("\r\n")


def headers_of(head: bytes) -> dict[str, str]:
    out = {}
    for line in header_lines(head)[1:]:
        k, _, v = line.partition(": ")
        out[k] = v
    return out
