"""A scripted daemon for CLI tests: canned answers per (method, path) on a temp unix
socket, served by a thread; every request but the ping is recorded.

(Reconstructed from its callers in test_ps.py, test_stats.py and test_container_cmds.py
after the original was overwritten by accident; see the container-commands report.)

``on(method, path, body, status, content_type)`` answers with a body; ``error`` with
``{"message": …}``; ``stream`` with a chunked body sent piece by piece. Paths may hold
``{id}`` / ``{name}`` placeholders for one path segment (``{name}`` may span several, as
image names do); exact paths win over patterns, then the first registered.
``seen`` holds (method, target, body) tuples; :meth:`run` runs the berth CLI against it.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import socketserver
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["FakeDaemon", "daemon"]

_REASONS = {
    200: "OK", 201: "Created", 204: "No Content", 304: "Not Modified", 400: "Bad Request",
    404: "Not Found", 409: "Conflict", 500: "Internal Server Error",
}


class _Route:
    def __init__(self, method: str, path: str, status: int, body: bytes, content_type: str, chunks: list[bytes] | None) -> None:
        self.method = method
        self.exact = "{" not in path
        pattern = re.escape(path).replace(r"\{name\}", ".+").replace(r"\{id\}", "[^/]+")
        self.regex = re.compile(pattern + "$")
        self.status = status
        self.body = body
        self.content_type = content_type
        self.chunks = chunks
        self.once = False


class FakeDaemon:
    def __init__(self, api_version: str = "1.41") -> None:
        self.api_version = api_version
        self.dir = tempfile.mkdtemp(prefix="berth-fake-")
        self.path = os.path.join(self.dir, "berth.sock")
        self.routes: list[_Route] = []
        self.seen: list[tuple[str, str, bytes]] = []
        self._server: socketserver.BaseServer | None = None

    # --- script ---

    def on(self, method: str, path: str, body: str | bytes = "", status: int = 200, content_type: str = "application/json") -> None:
        data = body.encode() if isinstance(body, str) else body
        self.routes.append(_Route(method, path, status, data, content_type, None))

    def error(self, method: str, path: str, status: int, message: str, once: bool = False) -> None:
        """Answer ``message`` with ``status``; ``once``: only the first request so."""
        from berth.oci.fastjson import dumps

        route = _Route(method, path, status, dumps({"message": message}).encode(), "application/json", None)
        route.once = once
        self.routes.append(route)

    def stream(self, method: str, path: str, chunks: list[bytes], content_type: str = "application/json") -> None:
        self.routes.append(_Route(method, path, 200, b"", content_type, list(chunks)))

    def targets(self) -> list[str]:
        return [f"{m} {t}" for m, t, _ in self.seen]

    def run(self, *argv: str) -> int:
        from berth.cli.main import main

        return main(["-H", f"unix://{self.path}", *argv])

    # --- serving ---

    def _find(self, method: str, path: str) -> _Route | None:
        found = [r for r in self.routes if r.method == method and r.regex.match(path)]
        exact = [r for r in found if r.exact]
        best = exact or found
        if best and best[0].once:
            self.routes.remove(best[0])
        return best[0] if best else None

    def _answer(self, sock: socket.socket, method: str, target: str) -> None:
        head = f"Api-Version: {self.api_version}\r\nOstype: linux\r\nDocker-Experimental: false\r\n"
        if target.split("?", 1)[0].endswith("/_ping"):
            body = b"" if method == "HEAD" else b"OK"
            sock.sendall(f"HTTP/1.1 200 OK\r\n{head}Content-Type: text/plain; charset=utf-8\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body)
            return
        path = target.split("?", 1)[0]
        m = re.match(r"/v\d+\.\d+(/.*)$", path)
        if m:
            path = m.group(1)
        route = self._find(method, path)
        if route is None:
            body = b'{"message":"page not found"}'
            sock.sendall(f"HTTP/1.1 404 Not Found\r\n{head}Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body)
            return
        status_line = f"HTTP/1.1 {route.status} {_REASONS.get(route.status, 'Status')}\r\n{head}"
        if route.chunks is not None:
            sock.sendall(f"{status_line}Content-Type: {route.content_type}\r\nTransfer-Encoding: chunked\r\n\r\n".encode())
            for chunk in route.chunks:
                sock.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
            sock.sendall(b"0\r\n\r\n")
            return
        if route.status in (204, 304):
            sock.sendall(f"{status_line}\r\n".encode())
            return
        sock.sendall(
            f"{status_line}Content-Type: {route.content_type}\r\nContent-Length: {len(route.body)}\r\n\r\n".encode() + route.body
        )

    def _serve_conn(self, sock: socket.socket) -> None:
        buf = b""
        while True:
            while b"\r\n\r\n" not in buf:
                data = sock.recv(65536)
                if not data:
                    return
                buf += data
            head, buf = buf.split(b"\r\n\r\n", 1)
            lines = head.decode("latin-1").split("\r\n")
            method, target = lines[0].split(" ")[:2]
            headers = {}
            for line in lines[1:]:
                k, _, v = line.partition(":")
                headers[k.strip().lower()] = v.strip()
            body = b""
            if "chunked" in headers.get("transfer-encoding", ""):
                while True:
                    while b"\r\n" not in buf:
                        buf += sock.recv(65536)
                    size_line, buf = buf.split(b"\r\n", 1)
                    size = int(size_line.split(b";")[0], 16)
                    while len(buf) < size + 2:
                        buf += sock.recv(65536)
                    body += buf[:size]
                    buf = buf[size + 2 :]
                    if size == 0:
                        break
            else:
                n = int(headers.get("content-length", "0"))
                while len(buf) < n:
                    buf += sock.recv(65536)
                body, buf = buf[:n], buf[n:]
            if not target.split("?", 1)[0].endswith("/_ping"):
                self.seen.append((method, target, body))
            self._answer(sock, method, target)

    def start(self) -> None:
        fake = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                try:
                    fake._serve_conn(self.request)
                except OSError:
                    pass

        class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
            daemon_threads = True

        self._server = Server(self.path, Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        shutil.rmtree(self.dir, ignore_errors=True)


@contextmanager
def daemon(fake: FakeDaemon) -> Iterator[FakeDaemon]:
    """Serve ``fake`` for the ``with`` block."""
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()
