"""berth's firewall from the records: every bridge network with the ports its containers
publish, as :class:`berth.network.nft.State`, applied in one transaction, plus the hole
in the host's iptables FORWARD chain where that chain drops (:mod:`berth.network.hostfw`).

A container's ports are published on its first network (the endpoint that is ``eth0``,
the one with the default route), as Docker does.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable, Sequence
from typing import Literal

from berth import errdefs
from berth.engine.containers.model import Container, EndpointSettings
from berth.engine.networks.model import ICC_OPT, MASQ_OPT, Network, bool_opt, to_doc
from berth.network import hostfw, links, nft
from berth.network.ipam import subnets_of

__all__ = ["Firewall", "primary_endpoint", "state_networks"]


def primary_endpoint(c: Container) -> EndpointSettings | None:
    """The endpoint a container's published ports lead to: its ``eth0``."""
    return next((ep for ep in c.network_settings.networks.values() if ep.endpoint_id and ep.ifname == "eth0"), None)


def state_networks(nets: Sequence[Network], containers: Iterable[Container]) -> tuple[nft.Network, ...]:
    by_net: dict[str, list[nft.Port]] = {n.id: [] for n in nets}
    for c in containers:
        primary = primary_endpoint(c)
        if primary is None or not c.network_settings.ports:
            continue
        for key, binds in c.network_settings.ports.items():
            cport, proto = key.split("/")
            for b in binds:
                host_ip = "" if b.host_ip in ("", "0.0.0.0", "::") else b.host_ip
                by_net.setdefault(primary.network_id, []).append(
                    nft.Port(proto, int(b.host_port), primary.ip_address, int(cport), host_ip)
                )
    return tuple(
        nft.Network(
            bridge=n.bridge,
            subnets=tuple(str(s.subnet) for s in subnets_of(to_doc(n)) if s.version == 4 or n.enable_ipv6),
            internal=n.internal,
            icc=bool_opt(n.options, ICC_OPT, True),
            masquerade=bool_opt(n.options, MASQ_OPT, True),
            ports=tuple(by_net.get(n.id, ())),
        )
        for n in nets
    )


class Firewall:
    """berth's nftables table ``table`` (a test daemon has its own) and its FORWARD hole.
    ``policy`` is what published ports get after the user's chain: ``auto`` follows the
    host's input policy, read at every sync."""

    def __init__(self, table: str, policy: Literal["auto", "accept", "drop"]) -> None:
        self.table = table
        self.policy = policy
        self._lock = threading.Lock()

    def sync(self, nets: Sequence[Network], containers: Iterable[Container]) -> None:
        state_nets = state_networks(nets, containers)
        with self._lock:
            policy: Literal["accept", "drop"]
            if self.policy == "auto":
                try:
                    policy = nft.host_input_policy(nft.list_chains_json(), self.table)
                except errdefs.BerthError:
                    policy = "accept"
            else:
                policy = self.policy
            state = nft.State(networks=state_nets, published_policy=policy, table=self.table)
            for key, value in nft.sysctls(state).items():
                with contextlib.suppress(errdefs.BerthError):
                    links.set_sysctl(key, value)
            nft.apply(nft.render(state))
            hostfw.sync(self.table, [n.bridge for n in nets])

    def remove(self) -> None:
        with self._lock:
            with contextlib.suppress(errdefs.BerthError):
                nft.delete(table=self.table)
            hostfw.remove(self.table)
