"""Names on user-defined networks: what berth's resolver (:mod:`berth.network.dns`, at
127.0.0.11 in each container's namespace) answers for a container.

A container sees the running containers that share one of its user-defined networks, by
name, short id, network-scoped alias (``--network-alias``, ``network connect --alias``),
and the same followed by ``.<network>``; ``--link other:alias`` on such a network makes
``alias`` name ``other`` for this container only (Docker's links there). A reverse (PTR)
query for such a container's address answers ``name.network``. Everything else goes to
the container's ``--dns`` servers, else the host's — forwarded from the host's namespace,
where even a loopback resolver (systemd-resolved's 127.0.0.53) is reachable. The default
bridge has no names, as in Docker.

The lookups run on the resolver's thread: they read the records the network and container
services keep in memory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from berth.engine.containers.model import Container, EndpointSettings
from berth.engine.networks.model import Network

__all__ = ["Names", "host_nameservers"]

_TYPE_A = 1


def host_nameservers(path: str = "/etc/resolv.conf") -> list[str]:
    try:
        with open(path) as f:
            text = f.read()
    except OSError:
        return []
    return [w[1] for w in (line.split() for line in text.splitlines()) if len(w) >= 2 and w[0] == "nameserver"]


class Names:
    def __init__(self, networks: Callable[[], Iterable[Network]], containers: Callable[[], Iterable[Container]]) -> None:
        self._networks = networks
        self._containers = containers
        self._resolver: Any = None

    # -- which containers answer -----------------------------------------------------------

    def add(self, c: Container, netns_path: str) -> None:
        """Serve names to ``c`` (its namespace at ``netns_path``)."""
        if self._resolver is None:
            from berth.network.dns import Resolver

            self._resolver = Resolver(self.lookup, self.reverse, self.upstreams)
        self._resolver.add(c.id, netns_path)

    def remove(self, c: Container) -> None:
        if self._resolver is not None:
            self._resolver.remove(c.id)

    def close(self) -> None:
        if self._resolver is not None:
            self._resolver.close()
            self._resolver = None

    # -- the answers -----------------------------------------------------------------------

    def _peers(self, cid: str) -> tuple[Container | None, list[tuple[Network, Container, EndpointSettings]]]:
        cs = list(self._containers())
        me = next((c for c in cs if c.id == cid), None)
        if me is None:
            return None, []
        mine = {ep.network_id for ep in me.network_settings.networks.values() if ep.endpoint_id}
        nets = {n.id: n for n in self._networks() if n.id in mine and n.user_defined}
        out = [
            (nets[ep.network_id], c, ep)
            for c in cs
            for ep in c.network_settings.networks.values()
            if ep.endpoint_id and ep.network_id in nets
        ]
        return me, out

    def lookup(self, cid: str, name: str, qtype: int) -> list[str] | None:
        """Addresses of ``name`` (A: IPv4, AAAA: IPv6) for the container ``cid``; None
        when no container is called that (forward it)."""
        name = name.lower().rstrip(".")
        me, peers = self._peers(cid)
        if me is None:
            return None
        linked: dict[str, str] = {}  # alias → container name, this container's links
        for ep in me.network_settings.networks.values():
            for link in ep.links:
                target, _, alias = link.partition(":")
                linked[(alias or target).lower()] = target.lower().lstrip("/")
        found = False
        addrs: list[str] = []
        for n, c, ep in peers:
            names = {x.lower() for x in (c.name, c.id[:12], *ep.aliases)}
            names |= {alias for alias, target in linked.items() if target in (c.name.lower(), c.id[:12])}
            short, _, scope = name.rpartition(".")
            if name in names or (scope == n.name.lower() and short in names):
                found = True
                a = ep.ip_address if qtype == _TYPE_A else ep.global_ipv6_address
                if a and a not in addrs:
                    addrs.append(a)
        return addrs if found else None

    def reverse(self, cid: str, address: str) -> str | None:
        for n, c, ep in self._peers(cid)[1]:
            if address in (ep.ip_address, ep.global_ipv6_address):
                return f"{c.name}.{n.name}"
        return None

    def upstreams(self, cid: str) -> list[str]:
        c = next((c for c in self._containers() if c.id == cid), None)
        if c is not None and c.host_config.dns:
            return list(c.host_config.dns)
        return host_nameservers()
