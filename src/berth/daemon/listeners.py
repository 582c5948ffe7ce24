"""The sockets berthd listens on (``-H``).

- ``unix:///path`` — made with mode 0660 and group ``berth`` (``--group``) when that group
  exists, else left root's (root-only): never world-writable, since whoever can talk to
  the socket is root on the host. A stale socket left by a crashed berthd is removed (the
  daemon lock proves nobody serves it); any other file at the path is refused.
- ``tcp://host:port`` — only with TLS *and* client verification (``--tlsverify
  --tlscacert --tlscert --tlskey``): a client must present a certificate signed by the CA.
  Anything less is refused, because the API is root on the host.
"""

from __future__ import annotations

import grp
import logging
import os
import socket
import ssl
import stat
from dataclasses import dataclass

from berth.daemon.config import DaemonConfig
from berth.errdefs import InvalidArgument, from_oserror

__all__ = ["Listener", "open_listeners", "parse_host", "tls_context"]

log = logging.getLogger("berthd")

DEFAULT_TLS_PORT = 2376


@dataclass
class Listener:
    addr: str  # as given: unix:///run/berth/berth.sock, tcp://127.0.0.1:2376
    sock: socket.socket
    ssl: ssl.SSLContext | None = None
    path: str = ""  # unix socket path to remove on shutdown

    def close(self) -> None:
        self.sock.close()
        if self.path:
            try:
                st = os.lstat(self.path)
                if stat.S_ISSOCK(st.st_mode):
                    os.unlink(self.path)
            except FileNotFoundError:
                pass


def parse_host(addr: str) -> tuple[str, str, int]:
    """``("unix", path, 0)`` or ``("tcp", host, port)``."""
    scheme, sep, rest = addr.partition("://")
    if not sep:
        if addr.startswith("/"):
            return "unix", addr, 0
        raise InvalidArgument(f"invalid host {addr!r}: expected unix:///path or tcp://host:port")
    if scheme == "unix":
        if not rest.startswith("/"):
            raise InvalidArgument(f"invalid host {addr!r}: the socket path must be absolute")
        return "unix", rest, 0
    if scheme == "tcp":
        hostport = rest.rstrip("/")
        if hostport.startswith("["):
            host, _, port_s = hostport[1:].partition("]")
            port_s = port_s.lstrip(":")
        else:
            host, _, port_s = hostport.rpartition(":") if ":" in hostport else (hostport, "", "")
        if port_s and not port_s.isdigit():
            raise InvalidArgument(f"invalid host {addr!r}: bad port {port_s!r}")
        port = int(port_s) if port_s else DEFAULT_TLS_PORT
        if not 0 < port < 65536:
            raise InvalidArgument(f"invalid host {addr!r}: port out of range")
        return "tcp", host or "127.0.0.1", port
    raise InvalidArgument(f"invalid host {addr!r}: unsupported scheme {scheme!r} (unix or tcp)")


def tls_context(cfg: DaemonConfig) -> ssl.SSLContext:
    """A server context that requires a client certificate signed by ``--tlscacert``."""
    missing = [f"--{n}" for n in ("tlscacert", "tlscert", "tlskey") if not getattr(cfg, n)]
    if missing:
        raise InvalidArgument(f"--tlsverify needs {', '.join(missing)}")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        ctx.load_cert_chain(cfg.tlscert, cfg.tlskey)
        ctx.load_verify_locations(cafile=cfg.tlscacert)
    except (OSError, ssl.SSLError) as exc:
        raise InvalidArgument(f"load TLS material ({cfg.tlscert}, {cfg.tlskey}, {cfg.tlscacert}): {exc}") from None
    ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


def _socket_gid(cfg: DaemonConfig) -> int | None:
    try:
        return grp.getgrnam(cfg.group).gr_gid
    except KeyError:
        if cfg.group_explicit:
            raise InvalidArgument(f"group {cfg.group!r} for the API socket does not exist") from None
        log.debug("group %r does not exist: the API socket is root-only", cfg.group)
        return None


def _unix(addr: str, path: str, gid: int | None) -> Listener:
    try:
        os.makedirs(os.path.dirname(path), 0o755, exist_ok=True)
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            pass
        else:
            if not stat.S_ISSOCK(st.st_mode):
                raise InvalidArgument(f"refusing to replace {path!r} with the API socket: not a socket")
            os.unlink(path)  # stale: we hold the daemon lock
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o177)  # nobody but us between bind and chmod
        try:
            sock.bind(path)
        finally:
            os.umask(old)
        if gid is not None:
            os.chown(path, -1, gid)
        os.chmod(path, 0o660)
        sock.listen(512)
        sock.setblocking(False)
    except OSError as exc:
        raise from_oserror(f"listen on {path!r}", exc) from exc
    return Listener(addr, sock, None, path)


def _tcp(addr: str, host: str, port: int, ctx: ssl.SSLContext) -> Listener:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        family, _, _, _, sockaddr = infos[0]
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(sockaddr)
        sock.listen(512)
        sock.setblocking(False)
    except OSError as exc:
        raise from_oserror(f"listen on {addr}", exc) from exc
    return Listener(addr, sock, ctx)


def open_listeners(cfg: DaemonConfig) -> list[Listener]:
    """Bind every ``-H`` address; on any failure close the ones already made."""
    parsed = [(addr, *parse_host(addr)) for addr in cfg.hosts]
    ctx = None
    for addr, kind, _, _ in parsed:
        if kind == "tcp" and not (cfg.tlsverify and cfg.tlscacert):
            raise InvalidArgument(
                f"refusing to listen on {addr} without TLS client verification: "
                "pass --tlsverify with --tlscacert, --tlscert and --tlskey"
            )
    if any(kind == "tcp" for _, kind, _, _ in parsed):
        ctx = tls_context(cfg)
    gid = _socket_gid(cfg) if any(kind == "unix" for _, kind, _, _ in parsed) else None
    out: list[Listener] = []
    try:
        for addr, kind, where, port in parsed:
            if kind == "unix":
                out.append(_unix(addr, where, gid))
            else:
                assert ctx is not None
                out.append(_tcp(addr, where, port, ctx))
    except BaseException:
        for listener in out:
            listener.close()
        raise
    return out
