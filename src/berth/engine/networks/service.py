"""The network service: berthd's networks (records, bridges, firewall, DNS) and the
endpoints that attach containers to them.

**Networks.** Every host has three built-in networks: ``bridge`` (Docker's default
network, on the host bridge ``berth0``, its subnet from ``bip`` or the first free default
pool), ``host`` and ``none``. User-defined networks use the ``bridge`` driver, each on
its own host bridge (``br-<id[:12]>`` unless ``-o com.docker.network.bridge.name``
names one). A network is a row of berth.db whose document holds Docker's
NetworkResource; its subnets are allocated by :class:`berth.network.ipam.Ipam`.

**Endpoints.** A container's networks are ``NetworkSettings.Networks`` keyed by network
name. When it starts, :meth:`NetworkService.join` gives each bridge network an endpoint:
an address (``--ip`` or the first free), a veth pair into the container's network
namespace (``eth0``, ``eth1``… in order; the default route through the first), the MAC
(``--mac-address`` on the first, else Docker's 02:42 + address), bandwidth limits, and
on the first network the container's published ports. When it stops
:meth:`NetworkService.leave` undoes all that and releases the addresses, as Docker does
(a stopped container shows no address). ``network connect``/``disconnect`` do the same
for one network of a running container, live.

**Firewall.** One :func:`berth.network.nft.render` of every bridge network with the
ports of its active endpoints, applied atomically whenever a network or a published port
changes, on daemon start (reconciling whatever the kernel holds) — and deleted when the
daemon stops with nothing running, together with the bridges. Where the host's iptables
FORWARD chain drops, :mod:`berth.network.hostfw` makes a hole for berth's bridges.

**DNS.** Containers on user-defined networks get ``nameserver 127.0.0.11`` and a
resolver in their namespace (:mod:`berth.network.dns`) that answers the names (name,
short id, aliases, ``name.network``) of running containers sharing one of their
user-defined networks and forwards everything else to the container's ``--dns`` servers
or the host's — from the host's namespace, so even the host's loopback resolver
(systemd-resolved's 127.0.0.53) works, which it cannot from inside a container. The
default bridge has no names, as in Docker.
"""

from __future__ import annotations

import builtins
import contextlib
import hashlib
import ipaddress
import json
import logging
import re
import socket
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from berth import errdefs, ids
from berth.engine.containers.model import Container, EndpointSettings, PortBinding
from berth.engine.events import EventBus
from berth.engine.networks import ports as portmod
from berth.engine.networks.firewall import Firewall, primary_endpoint
from berth.engine.networks.flows import StaleFlows
from berth.engine.networks.model import (
    BRIDGE_NAME_OPT,
    ICC_OPT,
    MASQ_OPT,
    MTU_OPT,
    EndpointView,
    Network,
    bool_opt,
    from_doc,
    to_doc,
)
from berth.engine.networks.names import Names
from berth.logs.timefmt import now_rfc3339
from berth.metadata import Database
from berth.network import links, nft, tc
from berth.network.ipam import DEFAULT_POOLS, Ipam, IPNetwork, Subnet, subnets_of

__all__ = ["Joined", "NetworkConfig", "NetworkService", "builtin_network_id"]

log = logging.getLogger(__name__)

_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")


def builtin_network_id(name: str) -> str:
    """A stable 64-hex id for the built-in ``none`` and ``host`` networks."""
    return hashlib.sha256(f"berth-builtin-network:{name}".encode()).hexdigest()


_BUILTIN_IDS = frozenset(builtin_network_id(n) for n in ("none", "host"))


@dataclass
class NetworkConfig:
    bridge: str = "berth0"  # the default network's host bridge
    bip: str = ""  # the default bridge's gateway/prefix, e.g. "10.213.0.1/24"; "" = a free pool
    pools: Sequence[IPNetwork] = DEFAULT_POOLS
    nft_table: str = nft.TABLE
    mtu: int = 1500
    icc: bool = True
    ip_masq: bool = True
    published_policy: Literal["auto", "accept", "drop"] = "auto"


@dataclass
class Joined:
    """What :meth:`NetworkService.join` gave a container: its addresses (for /etc/hosts)
    and whether its resolv.conf points at berth's resolver."""

    addresses: list[str] = field(default_factory=list)
    embedded_dns: bool = False
    gateway: str = ""  # the first network's: what --add-host X:host-gateway names



def _addresses(ep: EndpointSettings) -> builtins.list[str]:
    """The addresses an active endpoint holds."""
    return [a for a in (ep.ip_address, ep.global_ipv6_address) if a] if ep.endpoint_id else []


class NetworkService:
    def __init__(
        self,
        db: Database,
        cfg: NetworkConfig,
        events: EventBus | None = None,
        *,
        ipam: Ipam | None = None,
        flows: StaleFlows | None = None,
    ) -> None:
        self.db = db
        self.cfg = cfg
        self.events = events
        self.ipam = ipam or Ipam(db, pools=cfg.pools)
        self.ports = portmod.PortHolder()
        self.containers: Callable[[], Iterable[Container]] = lambda: ()
        self._lock = threading.RLock()
        self.firewall = Firewall(cfg.nft_table, cfg.published_policy)
        self.flows = flows or StaleFlows()
        self.names = Names(self.list, lambda: self.containers())

    # -- records ---------------------------------------------------------------------------

    def list(self) -> builtins.list[Network]:
        with self.db.networks() as tx:
            rows = tx.networks()
        return [from_doc(json.loads(r.doc)) for r in rows]

    def get(self, ref: str) -> Network:
        """By full id, name, or unique id prefix (Docker's order)."""
        if not ref:
            raise errdefs.NotFound("network  not found")
        nets = self.list()
        for n in nets:
            if n.id == ref:
                return n
        for n in nets:
            if n.name == ref:
                return n
        hits = [n for n in nets if n.id.startswith(ref)]
        if len(hits) == 1:
            return hits[0]
        if len(hits) > 1:
            raise errdefs.InvalidArgument(f"network {ref} is ambiguous ({len(hits)} matches found based on ID prefix)")
        raise errdefs.NotFound(f"network {ref} not found")

    def _event(self, action: str, n: Network, **attrs: str) -> None:
        if self.events is not None:
            self.events.publish("network", action, n.id, {"name": n.name, "type": n.driver, **attrs})

    # -- daemon start and stop ---------------------------------------------------------------

    def start(self) -> None:
        """berthd starts: the built-in networks exist, every bridge is up with its
        gateway, forwarding is on, the firewall is what the records say."""
        with self._lock:
            self._ensure_builtin()
            for n in self.list():
                if n.driver == "bridge":
                    self._ensure_bridge(n)
        links.enable_ip_forward()
        self.sync_firewall()

    def _ensure_builtin(self) -> None:
        names = {n.name for n in self.list()}
        for name, driver in (("none", "null"), ("host", "host")):
            if name not in names:
                n = Network(id=builtin_network_id(name), name=name, driver=driver, created=now_rfc3339())
                with self.db.networks() as tx:
                    tx.add_network(n.id, n.name, n.driver, json.dumps(to_doc(n)))
        if "bridge" in names:
            return
        if self.cfg.bip:
            try:
                iface = ipaddress.ip_interface(self.cfg.bip)
            except ValueError:
                raise errdefs.InvalidArgument(f"invalid bip {self.cfg.bip!r}") from None
            subnet = self.ipam.allocate_subnet(str(iface.network), gateway=str(iface.ip))
        else:
            subnet = self.ipam.allocate_subnet()
        n = Network(
            id=ids.new_id(), name="bridge", driver="bridge", created=now_rfc3339(),
            ipam_config=[subnet.to_config()], bridge=self.cfg.bridge,
            options={
                "com.docker.network.bridge.default_bridge": "true",
                ICC_OPT: "true" if self.cfg.icc else "false",
                MASQ_OPT: "true" if self.cfg.ip_masq else "false",
                "com.docker.network.bridge.host_binding_ipv4": "0.0.0.0",
                BRIDGE_NAME_OPT: self.cfg.bridge,
                MTU_OPT: str(self.cfg.mtu),
            },
        )  # fmt: skip
        try:
            with self.db.networks() as tx:
                tx.add_network(n.id, n.name, n.driver, json.dumps(to_doc(n)))
        finally:
            self.ipam.release_subnet(subnet)

    def _ensure_bridge(self, n: Network) -> None:
        subs = subnets_of(to_doc(n))
        v4 = next((s for s in subs if s.version == 4), None)
        v6 = next((s for s in subs if s.version == 6), None) if n.enable_ipv6 else None
        if v4 is None:
            raise errdefs.Internal(f"network {n.name} has no IPv4 subnet")
        links.ensure_bridge(
            n.bridge, v4.with_prefix(str(v4.gateway)), self._mtu(n),
            v6.with_prefix(str(v6.gateway)) if v6 is not None else None,
        )  # fmt: skip

    def _mtu(self, n: Network) -> int:
        v = n.options.get(MTU_OPT)
        if not v:
            return self.cfg.mtu
        try:
            return int(v)
        except ValueError:
            raise errdefs.InvalidArgument(f"invalid MTU {v!r} for network {n.name}") from None

    def close(self, anything_running: bool) -> None:
        """berthd stops: DNS answers end; with nothing running, berth's firewall and bridges
        go too (start makes them again)."""
        self.names.close()
        self.flows.drain()
        if anything_running:
            return
        self.firewall.remove()
        for n in self.list():
            if n.driver == "bridge" and n.bridge:
                with contextlib.suppress(errdefs.BerthError):
                    links.delete_bridge(n.bridge)

    # -- create, remove ----------------------------------------------------------------------

    def create(
        self,
        name: str,
        *,
        driver: str = "bridge",
        options: Mapping[str, str] | None = None,
        ipam_driver: str = "default",
        ipam_options: Mapping[str, str] | None = None,
        ipam_config: Sequence[Mapping[str, str]] = (),
        internal: bool = False,
        attachable: bool = False,
        enable_ipv6: bool = False,
        labels: Mapping[str, str] | None = None,
    ) -> tuple[Network, str]:
        if not name:
            raise errdefs.InvalidArgument("network name cannot be empty")
        if not _NAME.match(name):
            raise errdefs.InvalidArgument(
                f"invalid network name {name!r}: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
            )
        driver = driver or "bridge"
        if driver in ("host", "null"):
            raise errdefs.PermissionDenied(f'only one instance of "{driver}" network is allowed')
        if driver != "bridge":
            raise errdefs.NotFound(
                f"could not find plugin {driver} in v1 plugin registry: plugin not found"
            )
        if (ipam_driver or "default") != "default":
            raise errdefs.NotFound(
                f"could not find plugin {ipam_driver} in v1 plugin registry: plugin not found"
            )
        opts = dict(options or {})
        with self._lock:
            if any(n.name == name for n in self.list()):
                raise errdefs.Conflict(f"network with name {name} already exists")
            nid = ids.new_id()
            bridge = opts.get(BRIDGE_NAME_OPT) or f"br-{nid[:12]}"
            links.validate_ifname(bridge)
            if any(n.bridge == bridge for n in self.list()):
                raise errdefs.Conflict(f"bridge name {bridge} is already used by another network")
            bool_opt(opts, ICC_OPT, True)
            bool_opt(opts, MASQ_OPT, True)
            n = Network(
                id=nid, name=name, driver="bridge", created=now_rfc3339(), internal=internal,
                attachable=attachable, enable_ipv6=enable_ipv6, ipam_driver="default",
                ipam_options=dict(ipam_options or {}), options=opts, labels=dict(labels or {}),
                bridge=bridge,
            )  # fmt: skip
            self._mtu(n)
            subnets: builtins.list[Subnet] = []
            shown: builtins.list[dict[str, str]] = []
            made_bridge = False
            try:
                for item in ipam_config:
                    sub = item.get("Subnet") or None
                    v6 = sub is not None and ":" in sub
                    s = self.ipam.allocate_subnet(sub, item.get("IPRange") or None, item.get("Gateway") or None, v6=v6)
                    subnets.append(s)
                    # as dockerd: the config shows what the user gave (no derived gateway)
                    shown.append({k: str(item[k]) for k in ("Subnet", "IPRange", "Gateway") if item.get(k)})
                if not any(s.version == 4 for s in subnets):
                    s = self.ipam.allocate_subnet()
                    subnets.append(s)
                    shown.append(s.to_config())
                if enable_ipv6 and not any(s.version == 6 for s in subnets):
                    s = self.ipam.allocate_subnet(v6=True)
                    subnets.append(s)
                    shown.append(s.to_config())
                if sum(1 for s in subnets if s.version == 4) > 1:
                    raise errdefs.InvalidArgument("berth bridge networks take one IPv4 subnet")
                # what the user gave, as dockerd shows it (a derived gateway is the
                # subnet's first address, which subnets_of derives again)
                n.ipam_config = shown
                self._ensure_bridge(n)
                made_bridge = True
                with self.db.networks() as tx:
                    tx.add_network(n.id, n.name, n.driver, json.dumps(to_doc(n)))
            except BaseException:
                if made_bridge:
                    with contextlib.suppress(errdefs.BerthError):
                        links.delete_bridge(bridge)
                raise
            finally:
                for s in subnets:
                    self.ipam.release_subnet(s)
        self.sync_firewall()
        self._event("create", n)
        return n, ""

    def remove(self, ref: str) -> None:
        with self._lock:
            n = self.get(ref)
            if n.builtin:
                raise errdefs.PermissionDenied(f"{n.name} is a pre-defined network and cannot be removed")
            users = [c for c in self.containers() if self._active(c, n)]
            if users:
                raise errdefs.PermissionDenied(
                    f"error while removing network: network {n.name} id {n.id} has active endpoints"
                )
            with self.db.networks() as tx:
                tx.remove_network(n.id)
            if n.bridge:
                with contextlib.suppress(errdefs.BerthError):
                    links.delete_bridge(n.bridge)
        self.sync_firewall()
        self._event("destroy", n)

    def prune(self, keep: Callable[[Network], bool]) -> builtins.list[str]:
        """Remove every user-defined network no running container uses and ``keep`` does
        not keep; their names."""
        out = []
        for n in self.list():
            if n.builtin or keep(n) or self.in_use(n):
                continue
            try:
                self.remove(n.id)
            except errdefs.BerthError as exc:
                log.warning("prune network %s: %s", n.name, exc.message)
                continue
            out.append(n.name)
        return out

    # -- who uses a network -------------------------------------------------------------------

    @staticmethod
    def _ep(c: Container, n: Network) -> EndpointSettings | None:
        ep = c.network_settings.networks.get(n.name)
        if ep is not None and (not ep.network_id or ep.network_id == n.id):
            return ep
        return None

    def _active(self, c: Container, n: Network) -> bool:
        ep = self._ep(c, n)
        if ep is None:
            return False
        if n.driver == "bridge":
            return bool(ep.endpoint_id)
        return c.state.running

    def in_use(self, n: Network) -> bool:
        return any(self._active(c, n) for c in self.containers())

    def endpoints(self, n: Network) -> dict[str, EndpointView]:
        out = {}
        for c in self.containers():
            ep = self._ep(c, n)
            if ep is None or not self._active(c, n):
                continue
            out[c.id] = EndpointView(
                name=c.name,
                endpoint_id=ep.endpoint_id,
                mac_address=ep.mac_address,
                ipv4_address=f"{ep.ip_address}/{ep.ip_prefix_len}" if ep.ip_address else "",
                ipv6_address=f"{ep.global_ipv6_address}/{ep.global_ipv6_prefix_len}" if ep.global_ipv6_address else "",
            )
        return out

    # -- container create: what a container asks for ---------------------------------------

    def attach_requested(
        self, network_mode: str, endpoints: Mapping[str, EndpointSettings], mac: str
    ) -> dict[str, EndpointSettings]:
        """The container's ``NetworkSettings.Networks`` at create: the network of its mode
        with what ``NetworkingConfig`` asked for it (``--ip``, ``--alias``…), validated as
        Docker does. ``network_mode`` is a network name or id; host/none/container modes
        are handled by the caller."""
        n = self.get(network_mode)
        if len(endpoints) > 1:
            raise errdefs.InvalidArgument(
                "Container cannot be connected to network endpoints: "
                + ", ".join(sorted(endpoints))
            )
        ep = next(iter(endpoints.values()), None) or EndpointSettings()
        ep = EndpointSettings(
            network_id=n.id, aliases=list(ep.aliases), links=list(ep.links),
            driver_opts=dict(ep.driver_opts), ipv4_requested=ep.ipv4_requested,
            ipv6_requested=ep.ipv6_requested, mac_requested=ep.mac_requested or mac,
        )  # fmt: skip
        self.check_endpoint(n, ep)
        return {n.name: ep}

    def check_endpoint(self, n: Network, ep: EndpointSettings) -> None:
        if n.driver != "bridge":
            return
        if n.user_defined:
            for key in ("ipv4_requested", "ipv6_requested"):
                want = getattr(ep, key)
                if want:
                    subs = [s for s in subnets_of(to_doc(n)) if s.version == (4 if key == "ipv4_requested" else 6)]
                    if not subs or not any(ipaddress.ip_address(want) in (s.ip_range or s.subnet) for s in subs):
                        raise errdefs.InvalidArgument(
                            f"no configured subnet or ip-range contain the IP address {want}"
                        )
            return
        if ep.ipv4_requested or ep.ipv6_requested:
            raise errdefs.InvalidArgument("user specified IP address is supported on user defined networks only")
        if ep.aliases:
            raise errdefs.InvalidArgument("network-scoped alias is supported only for containers in user defined networks")

    # -- endpoints of a starting / stopping container ----------------------------------------

    def join(self, c: Container, netns_path: str) -> Joined:
        """Give each of ``c``'s bridge networks an endpoint in ``netns_path``, publish its
        ports, start its resolver. All or nothing."""
        joined = Joined()
        made: builtins.list[str] = []
        try:
            for name, ep in list(c.network_settings.networks.items()):
                if ep.network_id in _BUILTIN_IDS:
                    continue  # none, host: nothing to wire (and no record to read)
                n = self._network_of(name, ep)
                if n.driver != "bridge":
                    continue
                self._join_one(c, n, ep, netns_path, first=not made)
                if not made:
                    joined.gateway = ep.gateway
                made.append(name)
                joined.addresses.append(ep.ip_address)
                if n.user_defined:
                    joined.embedded_dns = True
            if made and self._wanted_ports(c):
                self._publish(c)
            if joined.embedded_dns:
                self.names.add(c, netns_path)
        except BaseException:
            self.leave(c)
            raise
        if c.network_settings.ports:
            self.sync_firewall()
            udp = [int(b.host_port) for key, binds in c.network_settings.ports.items() if key.endswith("/udp") for b in binds]
            self.flows.ports_soon(socket.IPPROTO_UDP, udp)  # flows that began before the DNAT rule
        return joined

    def _network_of(self, name: str, ep: EndpointSettings) -> Network:
        try:
            return self.get(ep.network_id or name)
        except errdefs.NotFound:
            raise errdefs.NotFound(f"network {name} not found") from None

    def _join_one(self, c: Container, n: Network, ep: EndpointSettings, netns_path: str, *, first: bool) -> None:
        eid = ids.new_id()
        subs = subnets_of(to_doc(n))
        v4 = next(s for s in subs if s.version == 4)
        v6 = next((s for s in subs if s.version == 6), None) if n.enable_ipv6 else None
        addr = self.ipam.allocate_address(n.id, ep.ipv4_requested or None, owner=eid)
        try:
            addr6 = self.ipam.allocate_address(n.id, ep.ipv6_requested or None, owner=eid, v6=True) if v6 else None
            for a in (addr, addr6):
                if a and not self.flows.settle(a):  # its last owner's flows are being forgotten
                    log.warning("address %s: its last owner's conntrack entries are still being removed", a)
            used = [e.ifname for e in c.network_settings.networks.values() if e.endpoint_id and e.ifname]
            ifname = next(f"eth{k}" for k in range(64) if f"eth{k}" not in used)
            made = links.connect(
                netns_path, n.bridge,
                address_cidr=v4.with_prefix(addr), gateway=str(v4.gateway), ifname=ifname,
                mac=(ep.mac_requested or None) if first else None, mtu=self._mtu(n),
                default_route=first and not n.internal,  # an internal network has no way out
                address6_cidr=v6.with_prefix(addr6) if v6 and addr6 else None,
                gateway6=str(v6.gateway) if v6 else None, endpoint_id=eid,
            )  # fmt: skip
        except BaseException:
            self.ipam.release_owner(eid)
            raise
        ep.network_id = n.id
        ep.endpoint_id = eid
        ep.ifname = ifname
        ep.ip_address = addr
        ep.ip_prefix_len = v4.subnet.prefixlen
        ep.gateway = str(v4.gateway)
        ep.mac_address = made.mac
        if v6 and addr6:
            ep.global_ipv6_address = addr6
            ep.global_ipv6_prefix_len = v6.subnet.prefixlen
            ep.ipv6_gateway = str(v6.gateway)
        ep.dns_names = [c.name, c.id[:12], *ep.aliases] if n.user_defined else []
        bw = c.host_config.network_bandwidth
        if bw:
            egress, ingress = tc.parse_bandwidth(bw)
            tc.limit(made.host_veth, egress, ingress)

    def _wanted_ports(self, c: Container) -> builtins.list[portmod.Wanted]:
        return portmod.wanted(c.host_config.port_bindings, c.config.exposed_ports, c.host_config.publish_all_ports)

    def _publish(self, c: Container) -> None:
        got = self.ports.acquire(c.id, self._wanted_ports(c), f"{c.name} ({c.id[:12]})")
        out: dict[str, builtins.list[PortBinding]] = {}
        for p in got:
            out.setdefault(p.key, []).append(PortBinding(p.host_ip or "0.0.0.0", str(p.host_port)))
        c.network_settings.ports = out
        primary = primary_endpoint(c)
        if primary is not None:
            # a container reaching itself through a published port (hairpin): the bridge
            # must send the frame back out of the port it came in by
            with contextlib.suppress(OSError):
                with open(f"/sys/class/net/{links.host_veth_name(primary.endpoint_id)}/brport/hairpin_mode", "w") as f:
                    f.write("1")

    def leave(self, c: Container) -> None:
        """Undo :meth:`join` (any part of it); idempotent. The container's namespace is
        about to go: its veths go with it, destroyed by the kernel's namespace cleanup in
        the background (deleting a link waits ~30 ms for RCU grace periods, on the path of
        every ``run --rm``); the firewall forgets its ports in the background too."""
        self.names.remove(c)
        had_ports = bool(c.network_settings.ports)
        self.ports.release(c.id)
        c.network_settings.ports = {}
        # the addresses' flows are marked for forgetting before the addresses go back to the
        # pool, so that a join given one of them waits (StaleFlows.settle)
        addrs = [a for ep in c.network_settings.networks.values() for a in _addresses(ep)]
        forget = self.flows.job(addrs)
        for ep in c.network_settings.networks.values():
            self._leave_one(ep, delete_link=False, limited=bool(c.host_config.network_bandwidth))
        if had_ports:  # forget the flows once no DNAT rule can make them again
            self.firewall.sync_soon(self._firewall_inputs, then=forget)
        elif addrs:
            self.flows.soon(forget)

    def _leave_one(self, ep: EndpointSettings, *, delete_link: bool = True, limited: bool = False) -> None:
        if not ep.endpoint_id:
            return
        veth = links.host_veth_name(ep.endpoint_id)
        with contextlib.suppress(errdefs.BerthError):
            if delete_link:
                links.disconnect_by_name(veth)
            elif limited:
                tc.clear(veth)  # the ifb lives in the host's namespace: it would stay
        self.ipam.release_owner(ep.endpoint_id)
        keep = EndpointSettings(
            network_id=ep.network_id, aliases=ep.aliases, links=ep.links, driver_opts=ep.driver_opts,
            ipv4_requested=ep.ipv4_requested, ipv6_requested=ep.ipv6_requested, mac_requested=ep.mac_requested,
        )  # fmt: skip
        ep.__dict__.update(keep.__dict__)

    def restore(self, c: Container, netns_path: str) -> None:
        """berthd restarted while ``c`` runs: hold its ports again, answer its DNS."""
        published = [
            portmod.Published(key.split("/")[1], int(key.split("/")[0]), "" if b.host_ip == "0.0.0.0" else b.host_ip, int(b.host_port))
            for key, binds in c.network_settings.ports.items()
            for b in binds
        ]
        for p in self.ports.hold(c.id, published):
            log.warning("container %s: host port %s:%d is taken by another program", c.id[:12], p.host_ip or "0.0.0.0", p.host_port)
        if any(ep.endpoint_id and self._is_user_defined(ep) for ep in c.network_settings.networks.values()):
            with contextlib.suppress(errdefs.BerthError):
                self.names.add(c, netns_path)

    def _is_user_defined(self, ep: EndpointSettings) -> bool:
        try:
            return self.get(ep.network_id).user_defined
        except errdefs.NotFound:
            return False

    # -- connect and disconnect a running container ------------------------------------------

    def connect_live(self, c: Container, n: Network, ep: EndpointSettings, netns_path: str) -> None:
        first = not any(e.endpoint_id for e in c.network_settings.networks.values())
        self._join_one(c, n, ep, netns_path, first=first)
        if n.user_defined:
            self.names.add(c, netns_path)
        self._event("connect", n, container=c.id)

    def disconnect_live(self, c: Container, n: Network, ep: EndpointSettings) -> None:
        addrs = _addresses(ep)
        forget = self.flows.job(addrs)
        self._leave_one(ep)
        if addrs:
            self.flows.soon(forget)
        self._event("disconnect", n, container=c.id)

    def connected(self, c: Container, n: Network) -> None:
        self._event("connect", n, container=c.id)

    def disconnected(self, c: Container, n: Network) -> None:
        self._event("disconnect", n, container=c.id)

    # -- firewall ---------------------------------------------------------------------------

    def sync_firewall(self) -> None:
        """Apply the firewall the records describe (atomically)."""
        self.firewall.sync(self._firewall_inputs)

    def _firewall_inputs(self) -> tuple[builtins.list[Network], builtins.list[Container]]:
        return [n for n in self.list() if n.driver == "bridge"], list(self.containers())
