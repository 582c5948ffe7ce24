"""TCP listeners demand a client certificate signed by --tlscacert (loopback only)."""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
from pathlib import Path

import pytest

from berth.api.request import Request
from berth.api.response import Reply, text
from berth.api.router import Router
from berth.api.server import ApiServer
from berth.daemon.config import DaemonConfig
from berth.daemon.listeners import tls_context
from berth.errdefs import InvalidArgument

from ..api.helpers import LoopThread

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_pki(d: Path) -> None:
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
            "-days", "2", "-subj", "/CN=berth-test-ca", cwd=d)
    (d / "ext.cnf").write_text("subjectAltName=IP:127.0.0.1\n")
    for name, ext in (("server", ["-extfile", "ext.cnf"]), ("client", [])):
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr",
                "-subj", f"/CN=berth-test-{name}", cwd=d)
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                "-out", f"{name}.pem", "-days", "2", *ext, cwd=d)
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "rogue.key", "-out", "rogue.pem",
            "-days", "2", "-subj", "/CN=berth-test-rogue", cwd=d)


def client_ctx(d: Path, cert: str | None) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(d / "ca.pem"))
    if cert:
        ctx.load_cert_chain(str(d / f"{cert}.pem"), str(d / f"{cert}.key"))
    return ctx


def get(port: int, ctx: ssl.SSLContext) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw, ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
        s.sendall(b"GET /hi HTTP/1.1\r\nConnection: close\r\n\r\n")
        out = b""
        while data := s.recv(4096):
            out += data
        return out


def test_tls_requires_a_client_certificate_from_the_ca(tmp_path: Path) -> None:
    make_pki(tmp_path)
    cfg = DaemonConfig(tlsverify=True, tlscacert=str(tmp_path / "ca.pem"),
                       tlscert=str(tmp_path / "server.pem"), tlskey=str(tmp_path / "server.key"))
    ctx = tls_context(cfg)
    r = Router()

    async def hi(req: Request) -> Reply:
        return text("hi")

    r.add("GET", "/hi", hi)
    server = ApiServer(r)
    lt = LoopThread()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    sock.setblocking(False)
    port = sock.getsockname()[1]
    try:
        lt.run(server.serve_socket(sock, ctx))
        assert get(port, client_ctx(tmp_path, "client")).endswith(b"\r\n\r\nhi")
        for cert in (None, "rogue"):
            # TLS 1.3: the client's handshake ends before the server checks its certificate;
            # the refusal arrives as an alert (SSLError) or a closed connection, never data.
            try:
                out = get(port, client_ctx(tmp_path, cert))
            except (ssl.SSLError, ConnectionError):
                out = b""
            assert out == b"", cert
    finally:
        lt.run(server.close())
        lt.stop()


def test_tls_material_must_be_complete(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match="--tlscert, --tlskey"):
        tls_context(DaemonConfig(tlsverify=True, tlscacert="/x"))
    with pytest.raises(InvalidArgument, match="load TLS material"):
        tls_context(DaemonConfig(tlsverify=True, tlscacert="/nope", tlscert="/nope", tlskey="/nope"))
