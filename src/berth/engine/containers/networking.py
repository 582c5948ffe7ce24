"""A container's networks beside its lifecycle: what it asks for at create, and
``network connect``/``disconnect`` (Docker's ``daemon/container_operations.go``).

- **At create** the network mode picks the container's first network: ``default`` is
  the daemon's default network (``bridge``); ``host`` and ``none`` attach it to those
  built-in networks (nothing to wire); ``container:<ref>`` shares another container's
  namespace and has none of its own; any other mode names a network (by name or id) whose
  endpoint takes ``NetworkingConfig``'s ``--ip``/``--alias``/``--mac-address``.
  Published ports are validated here (a bad ``-p`` fails the create, not the start); with
  ``host`` they are dropped with Docker's warning, with ``none`` there is nothing to
  publish them on and they are dropped too.
- **connect/disconnect** change ``NetworkSettings.Networks``; for a running container
  the endpoint is made or removed live (the network service), for a stopped one at its
  next start. Docker's refusals: host and shared namespaces cannot join other networks,
  a container is on a network at most once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from berth import errdefs
from berth.engine.containers.model import Container, ContainerConfig, EndpointSettings, HostConfig
from berth.engine.networks import ports as portmod
from berth.engine.networks.service import builtin_network_id
from berth.network import tc

if TYPE_CHECKING:
    from berth.engine.containers.service import ContainerService

__all__ = ["connect", "disconnect", "legacy_links", "requested_networks"]


def requested_networks(
    svc: ContainerService,
    hc: HostConfig,
    config: ContainerConfig,
    endpoints: Mapping[str, EndpointSettings],
    warnings: list[str],
) -> dict[str, EndpointSettings]:
    mode = hc.network_mode
    if hc.network_bandwidth:
        if mode in ("host", "none") or mode.startswith("container:"):
            raise errdefs.InvalidArgument(
                f"--network-bandwidth needs a bridge network, not network mode {mode}"
            )
        tc.parse_bandwidth(hc.network_bandwidth)
    publishing = bool(hc.port_bindings and any(hc.port_bindings.values())) or hc.publish_all_ports
    if mode in ("host", "none"):
        if publishing and mode == "host":
            warnings.append("Published ports are discarded when using host network mode")
        hc.port_bindings = {}
        hc.publish_all_ports = False
        if endpoints and any(k != mode for k in endpoints):
            raise errdefs.InvalidArgument(
                "Container cannot be connected to network endpoints: " + ", ".join(sorted(endpoints))
            )
        return {mode: EndpointSettings(network_id=builtin_network_id(mode))}
    if mode == "container" or mode.startswith("container:"):
        return {}
    portmod.wanted(hc.port_bindings, config.exposed_ports, hc.publish_all_ports)
    name = svc.cfg.default_network if mode == "default" else mode
    if svc.networks is None:
        raise errdefs.InvalidArgument(f"network {name} not found")
    wanted = {k: v for k, v in endpoints.items() if k in (mode, name)} or dict(endpoints)
    try:
        return svc.networks.attach_requested(name, wanted, config.mac_address)
    except errdefs.NotFound as exc:
        # a 400, as dockerd answers: a 404 would make the CLI pull the image
        raise errdefs.InvalidArgument(exc.message) from None


def connect(svc: ContainerService, net_ref: str, ref: str, ep: EndpointSettings) -> None:
    networks = svc.networks
    if networks is None:
        raise errdefs.NotFound(f"network {net_ref} not found")
    n = networks.get(net_ref)
    c = svc.get(ref)
    with svc.lock(c.id):
        mode = c.host_config.network_mode
        if n.driver == "host" or mode == "host":
            raise errdefs.PermissionDenied(
                "container cannot be disconnected from host network or connected to host network"
            )
        if mode.startswith("container:"):
            raise errdefs.PermissionDenied(
                "container sharing network namespace with another container or host cannot be "
                "connected to any other network"
            )
        if n.driver == "null" or mode == "none":
            raise errdefs.PermissionDenied(
                "container cannot be connected to multiple networks with one of the networks in "
                "private (none) mode"
            )
        if n.name in c.network_settings.networks:
            raise errdefs.PermissionDenied(f"endpoint with name {c.name} already exists in network {n.name}")
        ep = EndpointSettings(
            network_id=n.id, aliases=list(ep.aliases), links=list(ep.links), driver_opts=dict(ep.driver_opts),
            ipv4_requested=ep.ipv4_requested, ipv6_requested=ep.ipv6_requested, mac_requested=ep.mac_requested,
        )  # fmt: skip
        networks.check_endpoint(n, ep)
        running = c.state.running and bool(c.network_settings.sandbox_key)
        if running:
            networks.connect_live(c, n, ep, c.network_settings.sandbox_key)
        c.network_settings.networks[n.name] = ep
        svc.store.save(c)
    if not running:
        networks.connected(c, n)


def disconnect(svc: ContainerService, net_ref: str, ref: str, force: bool) -> None:
    networks = svc.networks
    if networks is None:
        raise errdefs.NotFound(f"network {net_ref} not found")
    c = svc.get(ref)
    try:
        n = networks.get(net_ref)
    except errdefs.NotFound:
        if not force:
            raise
        # -f: forget a network that is gone
        with svc.lock(c.id):
            if c.network_settings.networks.pop(net_ref, None) is not None:
                svc.store.save(c)
                return
        raise
    with svc.lock(c.id):
        ep = c.network_settings.networks.get(n.name)
        if ep is None:
            raise errdefs.Conflict(f"container {c.id} is not connected to network {n.name}")
        if n.driver == "host" or c.host_config.network_mode == "host":
            raise errdefs.PermissionDenied(
                "container cannot be disconnected from host network or connected to host network"
            )
        if ep.endpoint_id:
            networks.disconnect_live(c, n, ep)
        else:
            networks.disconnected(c, n)
        del c.network_settings.networks[n.name]
        svc.store.save(c)


def legacy_links(svc: ContainerService, c: Container) -> list[tuple[str, str]]:
    """``--link other[:alias]`` on the default bridge: (address, names) lines for /etc/hosts
    — ``other`` must be running (Docker refuses the start otherwise)."""
    out = []
    for link in c.host_config.links:
        target, _, alias = link.partition(":")
        target = target.lstrip("/")
        alias = alias.rpartition("/")[2] or target
        try:
            other = svc.get(target)
        except errdefs.NotFound:
            raise errdefs.InvalidArgument(f"could not get container for {target}") from None
        if not other.state.running:
            raise errdefs.InvalidArgument(f"cannot link to a non running container: /{other.name} AS /{c.name}/{alias}")
        ip = next((ep.ip_address for ep in other.network_settings.networks.values() if ep.ip_address), "")
        if ip:
            names = " ".join(dict.fromkeys([alias, other.id[:12], other.name]))
            out.append((ip, names))
    return out
