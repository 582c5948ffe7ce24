"""The network records berthd keeps (Docker's NetworkResource, snake_case here; the
PascalCase wire form lives in :mod:`berth.api.networks`).

A network's ``doc`` column in berth.db is :func:`to_doc` of a :class:`Network`: the IPAM
``config`` list is Docker's ``IPAM.Config`` (``Subnet``, ``IPRange``, ``Gateway``), which
:mod:`berth.network.ipam` reads to know the network's subnets.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from berth import errdefs

__all__ = [
    "BRIDGE_NAME_OPT",
    "ICC_OPT",
    "MASQ_OPT",
    "MTU_OPT",
    "EndpointView",
    "Network",
    "bool_opt",
    "from_doc",
    "to_doc",
]

BRIDGE_NAME_OPT = "com.docker.network.bridge.name"
ICC_OPT = "com.docker.network.bridge.enable_icc"
MASQ_OPT = "com.docker.network.bridge.enable_ip_masquerade"
MTU_OPT = "com.docker.network.driver.mtu"


@dataclass
class Network:
    id: str
    name: str
    driver: str  # bridge | host | null
    created: str  # RFC 3339 with ns
    scope: str = "local"
    enable_ipv6: bool = False
    internal: bool = False
    attachable: bool = False
    ingress: bool = False
    ipam_driver: str = "default"
    ipam_options: dict[str, str] = field(default_factory=dict)
    ipam_config: list[dict[str, str]] = field(default_factory=list)  # Docker's IPAM.Config
    options: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    bridge: str = ""  # the host bridge interface (driver bridge)

    @property
    def builtin(self) -> bool:
        """``bridge``, ``host`` and ``none``: made by berthd, never removed by a user."""
        return self.name in ("bridge", "host", "none")

    @property
    def user_defined(self) -> bool:
        """A network the user made: names, aliases and ``--ip`` work only on these."""
        return not self.builtin


@dataclass(frozen=True)
class EndpointView:
    """One container attached to a network, as ``network inspect`` lists it."""

    name: str
    endpoint_id: str
    mac_address: str
    ipv4_address: str  # "10.0.0.2/24" or ""
    ipv6_address: str  # "fd00::2/64" or ""


def to_doc(n: Network) -> dict[str, Any]:
    return {
        "Id": n.id,
        "Name": n.name,
        "Driver": n.driver,
        "Created": n.created,
        "Scope": n.scope,
        "EnableIPv6": n.enable_ipv6,
        "Internal": n.internal,
        "Attachable": n.attachable,
        "Ingress": n.ingress,
        "IPAM": {"Driver": n.ipam_driver, "Options": dict(n.ipam_options), "Config": [dict(c) for c in n.ipam_config]},
        "Options": dict(n.options),
        "Labels": dict(n.labels),
        "Bridge": n.bridge,
    }


def from_doc(d: dict[str, Any]) -> Network:
    ipam = d.get("IPAM") or {}
    return Network(
        id=str(d["Id"]),
        name=str(d["Name"]),
        driver=str(d["Driver"]),
        created=str(d.get("Created") or ""),
        scope=str(d.get("Scope") or "local"),
        enable_ipv6=bool(d.get("EnableIPv6")),
        internal=bool(d.get("Internal")),
        attachable=bool(d.get("Attachable")),
        ingress=bool(d.get("Ingress")),
        ipam_driver=str(ipam.get("Driver") or "default"),
        ipam_options=dict(ipam.get("Options") or {}),
        ipam_config=[dict(c) for c in ipam.get("Config") or []],
        options=dict(d.get("Options") or {}),
        labels=dict(d.get("Labels") or {}),
        bridge=str(d.get("Bridge") or ""),
    )


def bool_opt(options: Mapping[str, str], key: str, default: bool) -> bool:
    """A boolean driver option (``com.docker.network.bridge.enable_icc=false``)."""
    v = options.get(key)
    if v is None or v == "":
        return default
    if v.lower() in ("1", "t", "true"):
        return True
    if v.lower() in ("0", "f", "false"):
        return False
    raise errdefs.InvalidArgument(f"invalid value {v!r} for option {key}: want true or false")
