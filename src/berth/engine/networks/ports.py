"""Published ports: from a container's ``PortBindings`` and ``PublishAllPorts`` to host
ports berthd holds while the container runs.

**What is asked.** ``-p 8080:80`` is ``{"80/tcp": [{"HostIp": "", "HostPort": "8080"}]}``;
an empty ``HostPort`` (``-p 80``) or ``-P`` (every exposed port) means "any free port";
a host range with one container port (``-p 8000-8010:80``) means "the first free port
of the range" (the CLI has already split ``-p 8000-8001:80-81`` into single ports).

**Holding the port.** No proxy sits in the data path (the kernel DNATs, see
:mod:`berth.network.nft`), but something must stop another program, or another
container, from taking the port: berthd binds a socket to ``host_ip:host_port`` (TCP
sockets are bound, never listened on, so they accept nothing) and keeps it while the
container runs. A port held by anyone else is refused at start with Docker's message,
before anything of the container is made. "Any free port" binds port 0: the kernel picks
from ``net.ipv4.ip_local_port_range``, as Docker's allocator does from the same range.
DNAT happens before the socket lookup, so the held socket never sees the traffic.
"""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import socket
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from berth import errdefs
from berth.engine.containers.model import PortBinding
from berth.engine.containers.validate import parse_port

__all__ = ["PortHolder", "Published", "Wanted", "wanted"]


@dataclass(frozen=True)
class Wanted:
    proto: str
    container_port: int
    host_ip: str  # "" = every address
    first: int  # 0 = any free port
    last: int


@dataclass(frozen=True)
class Published:
    proto: str
    container_port: int
    host_ip: str
    host_port: int

    @property
    def key(self) -> str:
        return f"{self.container_port}/{self.proto}"


def _split_key(key: str) -> tuple[int, str]:
    """``80/tcp`` (one port: the CLI has split ranges) → (80, "tcp")."""
    first, last, proto = parse_port(key)
    if first == 0 or first != last:
        raise errdefs.InvalidArgument(f'invalid port specification: "{key}"')
    return first, proto


def _host_range(text: str) -> tuple[int, int]:
    """A binding's host port: "" (any), ``8080``, or ``8000-8010`` (the first free)."""
    if not text:
        return 0, 0
    first, last, _ = parse_port(text)
    return first, last


def wanted(
    bindings: Mapping[str, Sequence[PortBinding]], exposed: Iterable[str], publish_all: bool
) -> list[Wanted]:
    """What the container asks to publish, validated (create calls it to refuse bad input
    early; start calls it again to publish)."""
    out: list[Wanted] = []
    for key, binds in bindings.items():
        cport, proto = _split_key(key)
        for b in binds or [PortBinding()]:
            host_ip = b.host_ip or ""
            if host_ip:
                try:
                    ipaddress.ip_address(host_ip)
                except ValueError:
                    raise errdefs.InvalidArgument(f"invalid host IP address: {host_ip}") from None
            first, last = _host_range(b.host_port)
            out.append(Wanted(proto, cport, host_ip, first, last))
    if publish_all:
        for key in exposed:
            if key not in bindings:
                cport, proto = _split_key(key)
                out.append(Wanted(proto, cport, "", 0, 0))
    return out


def _bind(proto: str, host_ip: str, port: int) -> socket.socket:
    ip = ipaddress.ip_address(host_ip or "0.0.0.0")
    family = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
    kind = socket.SOCK_DGRAM if proto == "udp" else socket.SOCK_STREAM
    sproto = socket.IPPROTO_SCTP if proto == "sctp" else 0
    s = socket.socket(family, kind, sproto)
    try:
        if family == socket.AF_INET6:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        s.bind((str(ip), port))
    except BaseException:
        s.close()
        raise
    return s


class PortHolder:
    """The host ports held for running containers, by owner (a container id)."""

    def __init__(self) -> None:
        self._held: dict[str, list[socket.socket]] = {}
        self._lock = threading.Lock()

    def acquire(self, owner: str, wants: Sequence[Wanted], endpoint: str) -> list[Published]:
        """Bind every wanted port for ``owner`` (all or none); what it got. ``endpoint``
        names the container in errors."""
        got: list[Published] = []
        socks: list[socket.socket] = []
        try:
            for w in wants:
                s, port = self._bind_one(w, endpoint)
                socks.append(s)
                got.append(Published(w.proto, w.container_port, w.host_ip, port))
        except BaseException:
            for s in socks:
                s.close()
            raise
        with self._lock:
            self._held.setdefault(owner, []).extend(socks)
        return got

    @staticmethod
    def _bind_one(w: Wanted, endpoint: str) -> tuple[socket.socket, int]:
        shown = w.host_ip or "0.0.0.0"
        last_err: OSError | None = None
        for port in range(w.first, w.last + 1):
            try:
                s = _bind(w.proto, w.host_ip, port)
            except OSError as exc:
                last_err = exc
                continue
            return s, s.getsockname()[1]
        err = last_err
        where = f"{shown}:{w.first}" if w.first == w.last else f"{shown}:{w.first}-{w.last}"
        if err is not None and err.errno == errno.EADDRINUSE:
            why = "port is already allocated"
        elif err is not None and err.errno == errno.EADDRNOTAVAIL:
            why = f"cannot assign requested address {shown}: not an address of this host"
        else:
            why = err.strerror if err is not None and err.strerror else str(err)
        raise errdefs.Conflict(
            f"driver failed programming external connectivity on endpoint {endpoint}: "
            f"Bind for {where}/{w.proto} failed: {why}"
        )

    def hold(self, owner: str, published: Sequence[Published]) -> list[Published]:
        """Take back ports a container already has (berthd restarted); those that could
        not be bound again (someone took them meanwhile) are returned."""
        lost = []
        socks = []
        for p in published:
            try:
                socks.append(_bind(p.proto, p.host_ip, p.host_port))
            except OSError:
                lost.append(p)
        with self._lock:
            self._held.setdefault(owner, []).extend(socks)
        return lost

    def release(self, owner: str) -> None:
        with self._lock:
            socks = self._held.pop(owner, [])
        for s in socks:
            with contextlib.suppress(OSError):
                s.close()

    def owners(self) -> list[str]:
        with self._lock:
            return list(self._held)
