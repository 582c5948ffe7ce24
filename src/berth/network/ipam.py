"""IP address management for bridge networks: which subnet a network gets, which address
an endpoint gets, both kept in berth.db so a daemon restart changes nothing.

Vocabulary (as libnetwork's default IPAM driver):

- **pool** — a block addresses may come from. Without ``--subnet`` a network takes the
  first *default pool* that is free: ``172.17.0.0/16`` … ``172.31.0.0/16``, then
  ``192.168.0.0/16`` cut into /20s (Docker's ``default-address-pools``).
- **subnet** — the network's block (``--subnet``); **gateway** — the bridge's address in
  it (``--gateway``, else the subnet's first host); **ip range** — the part of the
  subnet endpoints' addresses are taken from (``--ip-range``, else the whole subnet).
- **allocation** — one address taken on one network by an **owner** (an endpoint or
  container id), a row of ``ip_allocations``.

**Free** means overlapping neither another berth network's subnet nor anything already
on the host: a route in any table or an interface address (``ip -j route show table
all``, ``ip -j addr``; a reader is injected for tests). Docker skips only its own
networks and the routes of the main table, which is how docker0 lands on a VPN's
172.17/16; berth skips what the host already reaches. A *requested* subnet is checked
only against berth's own networks, as Docker: the user asked for it by name.

**IPv6** (``--ipv6``): without a subnet a network gets a random /64 out of the unique
local block fd00::/8 (RFC 4193: 40 random bits of global id + 16 of subnet id), so two
hosts, or two berths, hardly ever pick the same one; its gateway is ``<prefix>::1``.

**Persistence.** A subnet belongs to a network row (its doc's ``IPAM.Config``, Docker's
shape, see :func:`ipam_config`); between :meth:`Ipam.allocate_subnet` and the row being
written it is held in memory, and :meth:`Ipam.release_subnet` gives it back (a create
that failed half-way, or a network removed). Addresses are rows of ``ip_allocations``
written in the same transaction that chose them.

Errors carry Docker's texts (libnetwork's ipamapi, the CLI's ``network create``).
"""

from __future__ import annotations

import ipaddress
import json
import secrets
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from berth import errdefs
from berth.metadata import Database

__all__ = [
    "DEFAULT_POOLS",
    "IPAddress",
    "IPNetwork",
    "Ipam",
    "Subnet",
    "ipam_config",
    "parse_ip_addr_json",
    "parse_ip_route_json",
    "parse_proc_net_route",
    "read_host_networks",
    "subnets_of",
]

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

DEFAULT_POOLS: tuple[IPNetwork, ...] = (
    *(ipaddress.IPv4Network(f"172.{n}.0.0/16") for n in range(17, 32)),
    *ipaddress.IPv4Network("192.168.0.0/16").subnets(new_prefix=20),
)
"""Docker's default pools, in the order they are tried."""

ULA = ipaddress.IPv6Network("fd00::/8")
_V6_TRIES = 64

POOL_OVERLAP = "invalid pool request: Pool overlaps with other one on this address space"
ADDRESS_IN_USE = "Address already in use"
NO_ADDRESSES = "No available addresses on this pool"
OUT_OF_RANGE = "Requested address is out of range"


@dataclass(frozen=True)
class Subnet:
    """One subnet of a network, with its gateway and optional ip range."""

    subnet: IPNetwork
    gateway: IPAddress
    ip_range: IPNetwork | None = None

    @property
    def version(self) -> int:
        return self.subnet.version

    def to_config(self) -> dict[str, str]:
        """Docker's IPAMConfig entry: ``{"Subnet", "Gateway"[, "IPRange"]}``."""
        out = {"Subnet": str(self.subnet), "Gateway": str(self.gateway)}
        if self.ip_range is not None:
            out["IPRange"] = str(self.ip_range)
        return out

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any]) -> Subnet:
        subnet = ipaddress.ip_network(str(cfg["Subnet"]))
        gw = cfg.get("Gateway") or str(subnet.network_address + 1)
        rng = cfg.get("IPRange")
        return cls(
            subnet, ipaddress.ip_address(str(gw)), ipaddress.ip_network(str(rng)) if rng else None
        )

    def with_prefix(self, address: str) -> str:
        """``172.18.0.2`` → ``172.18.0.2/16``: an address as the interface carries it."""
        return f"{address}/{self.subnet.prefixlen}"


def ipam_config(subnets: Iterable[Subnet]) -> dict[str, Any]:
    """The ``IPAM`` member of a network's doc (Docker's NetworkResource shape)."""
    return {"Driver": "default", "Options": {}, "Config": [s.to_config() for s in subnets]}


def subnets_of(doc: str | Mapping[str, Any]) -> list[Subnet]:
    """The subnets a network's doc names in ``IPAM.Config`` (none for host/null)."""
    d = json.loads(doc) if isinstance(doc, str) else doc
    ipam = d.get("IPAM") or {}
    return [Subnet.from_config(c) for c in ipam.get("Config") or [] if c.get("Subnet")]


# -- what the host already has -----------------------------------------------------------


def _usable(net: IPNetwork) -> bool:
    """Routes that say nothing about a private pool: default routes, link-local and
    multicast (every IPv6 interface has fe80::/64, the local table ff00::/8)."""
    return net.prefixlen > 0 and not net.is_link_local and not net.is_multicast


def parse_ip_route_json(text: str) -> list[IPNetwork]:
    """Destinations of ``ip -j route show table all``: ``"default"`` skipped, a bare
    address a host route."""
    out: list[IPNetwork] = []
    for r in json.loads(text or "[]"):
        dst = str(r.get("dst", ""))
        if not dst or dst == "default":
            continue
        try:
            net = ipaddress.ip_network(dst, strict=False)
        except ValueError:
            continue
        if _usable(net):
            out.append(net)
    return out


def parse_ip_addr_json(text: str) -> list[IPNetwork]:
    """The networks of every address in ``ip -j addr`` (``local``/``prefixlen``)."""
    out: list[IPNetwork] = []
    for link in json.loads(text or "[]"):
        for a in link.get("addr_info", []):
            if a.get("family") not in ("inet", "inet6") or "local" not in a:
                continue
            net = ipaddress.ip_network(f"{a['local']}/{a.get('prefixlen', 32)}", strict=False)
            if _usable(net):
                out.append(net)
    return out


def parse_proc_net_route(text: str) -> list[IPNetwork]:
    """IPv4 routes of /proc/net/route (destination and mask as little-endian hex): the
    fallback when ``ip`` is not installed."""
    out: list[IPNetwork] = []
    for line in text.splitlines()[1:]:
        f = line.split()
        if len(f) < 8:
            continue
        dst = ipaddress.IPv4Address(int(f[1], 16).to_bytes(4, "little"))
        mask = ipaddress.IPv4Address(int(f[7], 16).to_bytes(4, "little"))
        net = ipaddress.IPv4Network(f"{dst}/{mask}", strict=False)
        if _usable(net):
            out.append(net)
    return out


def _run(*args: str) -> str:
    p = subprocess.run(args, capture_output=True, text=True, check=False, timeout=30)
    if p.returncode != 0:
        raise errdefs.Internal(f"{' '.join(args)}: {p.stderr.strip() or p.returncode}")
    return p.stdout


def read_host_networks() -> list[IPNetwork]:
    """Every route (all tables, both families) and interface address on the host."""
    if shutil.which("ip") is None:
        with open("/proc/net/route") as f:
            return parse_proc_net_route(f.read())
    return [
        *parse_ip_route_json(_run("ip", "-j", "-4", "route", "show", "table", "all")),
        *parse_ip_route_json(_run("ip", "-j", "-6", "route", "show", "table", "all")),
        *parse_ip_addr_json(_run("ip", "-j", "addr")),
    ]


# -- parsing requests ----------------------------------------------------------------------


def _parse_cidr(text: str, what: str) -> IPNetwork:
    try:
        net = ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise errdefs.InvalidArgument(f"invalid CIDR address: {text}") from None
    if ipaddress.ip_interface(text).ip != net.network_address:
        raise errdefs.InvalidArgument(f"invalid {what} {text}: it should be {net}")
    return net


def _parse_addr(text: str) -> IPAddress:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        raise errdefs.InvalidArgument(f'ParseAddr("{text}"): unable to parse IP') from None


def _overlaps(a: IPNetwork, b: IPNetwork) -> bool:
    return a.version == b.version and a.overlaps(b)  # type: ignore[arg-type]


# -- the allocator ---------------------------------------------------------------------------


class Ipam:
    """Subnets for networks and addresses for endpoints, recorded in ``db``.

    ``host_networks`` lists what the host already routes (default: :func:`read_host_networks`),
    ``randbits`` draws IPv6 ULA prefixes (default: :func:`secrets.randbits`), ``pools`` the
    IPv4 default pools in order.
    """

    def __init__(
        self,
        db: Database,
        *,
        host_networks: Callable[[], Iterable[IPNetwork]] = read_host_networks,
        randbits: Callable[[int], int] = secrets.randbits,
        pools: Sequence[IPNetwork] = DEFAULT_POOLS,
    ) -> None:
        self._db = db
        self._host_networks = host_networks
        self._randbits = randbits
        self._pools = tuple(pools)
        self._lock = threading.Lock()
        self._pending: set[IPNetwork] = set()

    # -- subnets ---------------------------------------------------------------------------

    def _taken(self) -> list[IPNetwork]:
        with self._db.networks() as tx:
            rows = tx.networks()
        recorded = [s.subnet for r in rows for s in subnets_of(r.doc)]
        self._pending.difference_update(recorded)  # a row holds it now; its removal frees it
        return recorded + list(self._pending)

    def allocate_subnet(
        self,
        requested: str | None = None,
        ip_range: str | None = None,
        gateway: str | None = None,
        *,
        v6: bool = False,
    ) -> Subnet:
        """A subnet for a new network: ``requested`` validated against berth's networks,
        else the first free default pool (``v6``: a random ULA /64). Held until the
        network's row names it, or :meth:`release_subnet`."""
        if requested is None and (ip_range is not None or gateway is not None):
            raise errdefs.InvalidArgument(
                "every ip-range or gateway must have a corresponding subnet"
            )
        with self._lock:
            taken = self._taken()
            if requested is not None:
                net = _parse_cidr(requested, "subnet")
                if any(_overlaps(net, t) for t in taken):
                    raise errdefs.Conflict(POOL_OVERLAP)
            else:
                busy = [*taken, *self._host_networks()]
                net = self._free_v6(busy) if v6 else self._free_v4(busy)
            subnet = self._with_range_and_gateway(net, ip_range, gateway)
            self._pending.add(net)
            return subnet

    def _free_v4(self, busy: list[IPNetwork]) -> IPNetwork:
        for pool in self._pools:
            if not any(_overlaps(pool, b) for b in busy):
                return pool
        raise errdefs.NotFound(
            "could not find an available, non-overlapping IPv4 address pool among the "
            "defaults to assign to the network"
        )

    def _free_v6(self, busy: list[IPNetwork]) -> IPNetwork:
        base = int(ULA.network_address)
        for _ in range(_V6_TRIES):
            net = ipaddress.IPv6Network((base | (self._randbits(56) << 64), 64))
            if not any(_overlaps(net, b) for b in busy):
                return net
        raise errdefs.NotFound(
            "could not find an available, non-overlapping IPv6 address pool among the "
            "defaults to assign to the network"
        )

    @staticmethod
    def _with_range_and_gateway(
        net: IPNetwork, ip_range: str | None, gateway: str | None
    ) -> Subnet:
        rng = None
        if ip_range is not None:
            rng = _parse_cidr(ip_range, "ip-range")
            if rng.version != net.version or not rng.subnet_of(net):  # type: ignore[arg-type]
                raise errdefs.InvalidArgument(f"no matching subnet for range {ip_range}")
        if gateway is not None:
            gw = _parse_addr(gateway)
            if gw not in net:
                raise errdefs.InvalidArgument(f"no matching subnet for gateway {gateway}")
        else:
            gw = net.network_address + 1
        return Subnet(net, gw, rng)

    def release_subnet(self, subnet: Subnet | str) -> None:
        """Forget a held subnet (a failed create, a removed network); idempotent."""
        net = subnet.subnet if isinstance(subnet, Subnet) else _parse_cidr(subnet, "subnet")
        with self._lock:
            self._pending.discard(net)

    # -- addresses ---------------------------------------------------------------------------

    def allocate_address(
        self, network: str, requested: str | None = None, *, owner: str = "", v6: bool = False
    ) -> str:
        """An address on ``network`` (an id) for ``owner``: ``requested`` if free, else the
        lowest free one in the ip range other than the gateway (``v6``: from the
        network's IPv6 subnet). Recorded before it is returned."""
        want = _parse_addr(requested) if requested is not None else None
        version = want.version if want is not None else (6 if v6 else 4)
        with self._db.networks() as tx:
            row = tx.network(network)
            if row is None:
                raise errdefs.NotFound(f"network {network} not found")
            subnets = [s for s in subnets_of(row.doc) if s.version == version]
            taken = {a.address for a in tx.allocations(network)}
            if want is not None:
                address = self._check_requested(want, subnets, taken)
            else:
                if not subnets:
                    raise errdefs.InvalidArgument(f"network {row.name} has no IPv{version} subnet")
                address = self._first_free(subnets, taken)
            tx.add_allocation(network, address, owner)
        return address

    @staticmethod
    def _check_requested(want: IPAddress, subnets: list[Subnet], taken: set[str]) -> str:
        for s in subnets:
            if want not in (s.ip_range or s.subnet):
                continue
            if want == s.subnet.network_address or (
                s.version == 4 and want == s.subnet.broadcast_address and s.subnet.prefixlen < 31
            ):
                raise errdefs.InvalidArgument(OUT_OF_RANGE)
            if want == s.gateway or str(want) in taken:
                raise errdefs.Conflict(ADDRESS_IN_USE)
            return str(want)
        raise errdefs.InvalidArgument(
            f"no configured subnet or ip-range contain the IP address {want}"
        )

    @staticmethod
    def _first_free(subnets: list[Subnet], taken: set[str]) -> str:
        for s in subnets:
            for a in _candidates(s):
                if a != s.gateway and str(a) not in taken:
                    return str(a)
        raise errdefs.Unavailable(NO_ADDRESSES)

    def release_address(self, network: str, address: str) -> None:
        """Give ``address`` back; releasing a free one is fine."""
        with self._db.networks() as tx:
            tx.remove_allocation(network, str(_parse_addr(address)))

    def release_owner(self, owner: str) -> list[tuple[str, str]]:
        """Give back every address ``owner`` holds; the (network, address) pairs freed."""
        with self._db.networks() as tx:
            rows = tx.allocations_of(owner)
            for r in rows:
                tx.remove_allocation(r.network_id, r.address)
        return [(r.network_id, r.address) for r in rows]


def _candidates(s: Subnet) -> Iterator[IPAddress]:
    """Host addresses of the subnet within its ip range, lowest first (never the network
    address; for IPv4 never the broadcast address)."""
    first = int(s.subnet.network_address) + 1
    last = int(s.subnet.broadcast_address) - (1 if s.version == 4 else 0)
    if s.version == 4 and s.subnet.prefixlen >= 31:
        first, last = int(s.subnet.network_address), int(s.subnet.broadcast_address)
    if s.ip_range is not None:
        first = max(first, int(s.ip_range.network_address))
        last = min(last, int(s.ip_range.broadcast_address))
    a = first
    while a <= last:
        yield ipaddress.IPv4Address(a) if s.version == 4 else ipaddress.IPv6Address(a)
        a += 1
