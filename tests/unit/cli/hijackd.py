"""A scripted Engine API daemon that hijacks: run, start -a, attach, exec, logs, wait.

Plain HTTP/1.1 over threads (one per connection, keep-alive), enough to play the
exchanges of the recorded traces: JSON answers, ``wait`` whose headers go out at once and
whose body follows later, and hijacked attach/exec connections (``101 UPGRADED`` then
raw bytes). Every request is recorded as (method, target, headers, body).
"""

from __future__ import annotations

import os
import shutil
import socket
import socketserver
import tempfile
import threading
from collections.abc import Callable
from typing import Any

from berth.api.stdcopy import frame
from berth.oci.fastjson import dumps

CID = "d08c3630b5929931fb8d73223ebb570d553c6fda7d2aaf74c5286072e4642684"


class Request:
    def __init__(self, method: str, target: str, headers: dict[str, str], body: bytes) -> None:
        self.method = method
        self.target = target
        self.path = target.split("?", 1)[0]
        self.query = target.split("?", 1)[1] if "?" in target else ""
        self.headers = headers
        self.body = body


class Conn:
    """The server side of one connection."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = b""

    def read_request(self) -> Request | None:
        while b"\r\n\r\n" not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                return None
            self.buf += data
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ", 2)
        headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        n = int(headers.get("content-length", "0"))
        while len(self.buf) < n:
            self.buf += self.sock.recv(65536)
        body, self.buf = self.buf[:n], self.buf[n:]
        return Request(method, target, headers, body)

    def reply(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
        reasons = {200: "OK", 201: "Created", 204: "No Content", 304: "Not Modified", 400: "Bad Request", 404: "Not Found", 409: "Conflict", 500: "Internal Server Error"}
        data = b"" if body is None else (body if isinstance(body, bytes) else dumps(body).encode())
        hdrs = {"Api-Version": "1.41", "Ostype": "linux"}
        if body is not None and not isinstance(body, bytes):
            hdrs["Content-Type"] = "application/json"
        hdrs.update(headers or {})
        if status not in (204, 304):
            hdrs["Content-Length"] = str(len(data))
        head = f"HTTP/1.1 {status} {reasons.get(status, 'X')}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in hdrs.items())
        self.sock.sendall(head.encode() + b"\r\n" + data)

    def error(self, status: int, message: str) -> None:
        self.reply(status, {"message": message})

    def start_chunked(self) -> None:
        self.sock.sendall(b"HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")

    def chunk(self, data: bytes) -> None:
        self.sock.sendall(b"%x\r\n" % len(data) + data + b"\r\n")

    def end_chunked(self) -> None:
        self.sock.sendall(b"0\r\n\r\n")

    def upgrade(self) -> None:
        self.sock.sendall(
            b"HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\n"
            b"Connection: Upgrade\r\nUpgrade: tcp\r\n"
        )
        self.sock.sendall(b"Api-Version: 1.41\r\n\r\n")  # dockerd writes the head in pieces

    def read_until_eof(self) -> bytes:
        data = self.buf
        self.buf = b""
        while True:
            got = self.sock.recv(65536)
            if not got:
                return data
            data += got


Handler = Callable[[Request, Conn], bool | None]


class FakeDaemon:
    """``route(method, path_prefix, handler)``; a handler answers on ``conn`` and
    returns True when it took the connection over (no more requests on it)."""

    def __init__(self) -> None:
        self.dir = tempfile.mkdtemp(prefix="berth-fake-")
        self.path = os.path.join(self.dir, "d.sock")
        self.routes: list[tuple[str, str, Handler]] = []
        self.seen: list[Request] = []
        self.lock = threading.Lock()
        daemon = self

        class H(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                conn = Conn(self.request)
                while True:
                    try:
                        req = conn.read_request()
                    except OSError:
                        return
                    if req is None:
                        return
                    with daemon.lock:
                        daemon.seen.append(req)
                    try:
                        if daemon.dispatch(req, conn):
                            return
                    except OSError:  # the client went away (detach, error paths)
                        return

        class S(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
            daemon_threads = True

        self.server = S(self.path, H)
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)

    def route(self, method: str, prefix: str, handler: Handler) -> None:
        self.routes.append((method, prefix, handler))

    def dispatch(self, req: Request, conn: Conn) -> bool:
        if req.path == "/_ping":
            conn.reply(200, b"", {"Content-Type": "text/plain"})
            return False
        path = req.path.split("/", 2)[2] if req.path.startswith("/v1.") else req.path.lstrip("/")
        for method, prefix, handler in self.routes:
            if req.method == method and ("/" + path).startswith(prefix):
                return bool(handler(req, conn))
        conn.error(404, "page not found")
        return False

    def calls(self) -> list[Request]:
        """The requests received, pings left out."""
        return [r for r in self.seen if r.path != "/_ping"]

    def requests(self) -> list[str]:
        return [f"{r.method} {r.target}" for r in self.seen if r.path != "/_ping"]

    def __enter__(self) -> FakeDaemon:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        shutil.rmtree(self.dir, ignore_errors=True)


class Container:
    """One container's life as the daemon plays it: attach waits for start, the
    process 'runs' (reads stdin until the half-close when attached with stdin, then
    writes ``output``), the connection closes, ``wait`` answers ``status``."""

    def __init__(self, daemon: FakeDaemon, output: list[tuple[int, bytes]], status: int, tty: bool = False, cid: str = CID) -> None:
        self.cid = cid
        self.output = output
        self.status = status
        self.tty = tty
        self.started = threading.Event()
        self.exited = threading.Event()
        self.stdin_seen: bytes | None = None
        self.stdin_done = threading.Event()
        self.start_error: tuple[int, str] | None = None
        daemon.route("POST", f"/containers/{cid}/attach", self.attach)
        daemon.route("POST", f"/containers/{cid}/wait", self.wait)
        daemon.route("POST", f"/containers/{cid}/start", self.start)
        daemon.route("POST", f"/containers/{cid}/resize", lambda r, c: c.reply(200, b""))
        daemon.route("POST", f"/containers/{cid}/kill", lambda r, c: c.reply(204))

    def attach(self, req: Request, conn: Conn) -> bool:
        conn.upgrade()
        self.stdin_seen = conn.read_until_eof()  # the client half-closes: stdin ends
        self.stdin_done.set()
        if not self.started.wait(5) or self.start_error is not None:
            conn.sock.close()
            return True
        for stream, data in self.output:
            conn.sock.sendall(data if self.tty else frame(stream, data))
        if b"echo-stdin" in b"".join(d for _, d in self.output):
            conn.sock.sendall(frame(1, self.stdin_seen))
        conn.sock.close()
        self.exited.set()
        return True

    def wait(self, req: Request, conn: Conn) -> bool:
        conn.start_chunked()
        if not self.exited.wait(5):
            return True
        conn.chunk(dumps({"Error": None, "StatusCode": self.status}).encode() + b"\n")
        conn.end_chunked()
        return False

    def start(self, req: Request, conn: Conn) -> bool:
        if self.start_error is not None:
            conn.error(*self.start_error)
            self.started.set()
            self.exited.set()
            return False
        self.started.set()
        conn.reply(204)
        return False
