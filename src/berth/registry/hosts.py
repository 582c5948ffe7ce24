"""Where a registry is reached and how: endpoints, TLS, insecure registries, mirrors.

- A reference's **domain** (``127.0.0.1:5000``, ``docker.io``) names a registry;
  ``docker.io`` is served at ``registry-1.docker.io``.
- **TLS**: every registry is HTTPS, verified against the system CAs plus
  ``<certs_dir>/<host:port>/*.crt`` (``ca.crt`` by convention, as Docker's
  ``/etc/docker/certs.d``); ``client.cert``/``client.key`` there give a client
  certificate.
- **Insecure registries** (``--insecure-registry``: a ``host[:port]`` or a CIDR; dockerd's
  default is ``127.0.0.0/8``): HTTPS without verification first, plain HTTP when the TLS
  handshake fails — the choice is remembered per registry.
- **Mirrors** (``--registry-mirror``) serve docker.io only, for pulls: tried in order,
  then Docker Hub itself.
"""

from __future__ import annotations

import glob
import ipaddress
import os
import ssl
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from berth.errdefs import InvalidArgument

__all__ = ["DEFAULT_CERTS_DIR", "Endpoint", "RegistryHosts"]

DEFAULT_CERTS_DIR = "/etc/berth/certs.d"
DOCKER_HUB_HOST = "registry-1.docker.io"


@dataclass(frozen=True)
class Endpoint:
    """One way to reach a registry: ``host`` is host[:port] as sent in ``Host``."""

    host: str
    secure: bool = True  # verify TLS; False: insecure (unverified TLS, then plain HTTP)
    mirror: bool = False
    tls: ssl.SSLContext | None = field(default=None, compare=False)

    @property
    def hostname(self) -> str:
        return _split_host(self.host)[0]

    @property
    def port(self) -> int | None:
        return _split_host(self.host)[1]


def _split_host(host: str) -> tuple[str, int | None]:
    if host.startswith("["):
        end = host.find("]")
        name, rest = host[1:end], host[end + 1 :]
        return name, int(rest[1:]) if rest.startswith(":") else None
    name, sep, port = host.rpartition(":")
    if sep and port.isdigit():
        return name, int(port)
    return host, None


class RegistryHosts:
    """The per-registry settings the client needs (one object for the daemon)."""

    def __init__(
        self,
        insecure: Sequence[str] = ("127.0.0.0/8",),
        mirrors: Sequence[str] = (),
        certs_dir: str = DEFAULT_CERTS_DIR,
    ) -> None:
        self.certs_dir = certs_dir
        self._insecure_hosts: set[str] = set()
        self._insecure_nets: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
        for entry in insecure:
            e = entry.strip()
            for scheme in ("http://", "https://"):
                e = e.removeprefix(scheme)
            e = e.rstrip("/")
            try:
                self._insecure_nets.append(ipaddress.ip_network(e, strict=False))
            except ValueError:
                self._insecure_hosts.add(e.lower())
        self.mirrors: list[str] = []
        for m in mirrors:
            u = urlsplit(m if "://" in m else "https://" + m)
            if not u.netloc:
                raise InvalidArgument(f"invalid mirror {m!r}: no host")
            self.mirrors.append(u.netloc)
        self._lock = threading.Lock()
        self._contexts: dict[tuple[str, bool], ssl.SSLContext] = {}

    def is_insecure(self, host: str) -> bool:
        h = host.lower()
        if h in self._insecure_hosts:
            return True
        name, _ = _split_host(h)
        if name in self._insecure_hosts:
            return True
        if name == "localhost":
            name = "127.0.0.1"
        try:
            ip = ipaddress.ip_address(name)
        except ValueError:
            return False
        return any(ip in net for net in self._insecure_nets)

    def endpoints(self, domain: str, *, push: bool = False) -> list[Endpoint]:
        """Endpoints to try for ``domain``, in order."""
        out: list[Endpoint] = []
        if domain in ("docker.io", "index.docker.io"):
            if not push:
                out += [self.endpoint(m, mirror=True) for m in self.mirrors]
            domain = DOCKER_HUB_HOST
        out.append(self.endpoint(domain))
        return out

    def endpoint(self, host: str, *, mirror: bool = False) -> Endpoint:
        secure = not self.is_insecure(host)
        return Endpoint(host, secure, mirror, self.tls_context(host, secure))

    def tls_context(self, host: str, verify: bool = True) -> ssl.SSLContext:
        key = (host, verify)
        with self._lock:
            ctx = self._contexts.get(key)
            if ctx is None:
                ctx = self._contexts[key] = self._make_context(host, verify)
            return ctx

    def _make_context(self, host: str, verify: bool) -> ssl.SSLContext:
        ctx = ssl.create_default_context()
        d = os.path.join(self.certs_dir, host)
        if not verify:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        else:
            for ca in sorted(glob.glob(os.path.join(d, "*.crt"))):
                try:
                    ctx.load_verify_locations(cafile=ca)
                except (OSError, ssl.SSLError) as exc:
                    raise InvalidArgument(f"load CA certificate {ca!r}: {exc}") from None
        cert, key = os.path.join(d, "client.cert"), os.path.join(d, "client.key")
        if os.path.exists(cert) and os.path.exists(key):
            try:
                ctx.load_cert_chain(cert, key)
            except (OSError, ssl.SSLError) as exc:
                raise InvalidArgument(f"load client certificate {cert!r}: {exc}") from None
        return ctx
