"""Bridges and veth pairs: how a container's network namespace is wired to a network.

Vocabulary:

bridge
    A virtual switch on the host (``berth0`` for the default network, one per
    user-defined network). It holds the network's gateway address, so it is also the
    containers' first hop.
endpoint
    One container's attachment to one network: a veth pair whose *host side*
    (``vb<10 hex>``) is a port of the bridge and whose *peer* lives in the container's
    namespace as ``eth0`` (``eth1`` …), with the container's address, MAC and routes.
    Deleting either side deletes both, so disconnecting is deleting the host side.
host veth name
    ``vb`` + 10 hex digits (IFNAMSIZ allows 15 characters). Given an endpoint id the name
    is derived from it, so berthd finds an endpoint's link again after a restart; else it
    is random. An ``ib`` + the same 10 hex is the endpoint's ifb device, which
    :mod:`berth.network.tc` makes for an egress bandwidth limit. :func:`list_links` finds
    both kinds by prefix for reconciliation.
MAC
    Docker derives a container's MAC from its IPv4 address: ``02:42`` (locally
    administered, unicast) then the address's four bytes; berth does the same.

The peer is created directly in the container's namespace with its final name
(``IFLA_NET_NS_FD`` on the peer of RTM_NEWLINK), so the host never sees a second
``eth0``, and a failure part-way deletes the host side, which takes the peer with it.
"""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import os
import re
import secrets
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from berth import errdefs
from berth.linux import syscalls as sc
from berth.network import _nl

if TYPE_CHECKING:
    from pyroute2 import IPRoute

__all__ = [
    "HOST_PREFIX",
    "IFB_PREFIX",
    "Endpoint",
    "Link",
    "connect",
    "delete_bridge",
    "derive_mac",
    "disconnect",
    "disconnect_by_name",
    "enable_ip_forward",
    "enable_route_localnet",
    "ensure_bridge",
    "host_veth_name",
    "ifb_name",
    "list_links",
    "set_sysctl",
    "validate_ifname",
]

HOST_PREFIX = "vb"
IFB_PREFIX = "ib"
_SUFFIX = 10
_IFNAME = re.compile(r"^[A-Za-z0-9_.@:+-]{1,15}$")
_IFF_UP = 0x1
_IFA_F_NODAD = 0x02


@dataclass(frozen=True)
class Endpoint:
    """A container's attachment to a bridge, as :func:`connect` made it."""

    host_veth: str
    netns_path: str
    ifname: str
    bridge: str
    address: str  # "10.213.1.2/24"
    gateway: str | None
    mac: str
    address6: str | None = None


@dataclass(frozen=True)
class Link:
    """A host link as :func:`list_links` reports it."""

    name: str
    index: int
    kind: str
    master: int | None
    up: bool


# -- names and addresses (pure) ---------------------------------------------------------------


def validate_ifname(name: str) -> str:
    """``name`` when it is a valid interface name (1 to 15 characters, no ``/`` or space)."""
    if not _IFNAME.match(name) or name in (".", ".."):
        raise errdefs.InvalidArgument(f"invalid interface name {name!r}")
    return name


def host_veth_name(endpoint_id: str | None = None) -> str:
    """``vb`` + 10 hex: the first 10 hex digits of ``endpoint_id`` (a 64-hex id), or random."""
    if endpoint_id is None:
        return HOST_PREFIX + secrets.token_hex(_SUFFIX // 2)
    suffix = endpoint_id[:_SUFFIX].lower()
    if len(suffix) != _SUFFIX or any(c not in "0123456789abcdef" for c in suffix):
        raise errdefs.InvalidArgument(f"invalid endpoint id {endpoint_id!r}")
    return HOST_PREFIX + suffix


def ifb_name(host_veth: str) -> str:
    """The ifb device that carries ``host_veth``'s redirected ingress: ``ib`` + its suffix."""
    if not host_veth.startswith(HOST_PREFIX) or len(host_veth) != len(HOST_PREFIX) + _SUFFIX:
        raise errdefs.InvalidArgument(f"not a berth veth name: {host_veth!r}")
    return IFB_PREFIX + host_veth[len(HOST_PREFIX) :]


def derive_mac(address: str) -> str:
    """Docker's MAC for an IPv4 address: ``02:42:`` + its four bytes
    (``172.17.0.2`` → ``02:42:ac:11:00:02``)."""
    ip = ipaddress.ip_interface(address).ip
    if ip.version != 4:
        raise errdefs.InvalidArgument(f"cannot derive a mac address from {address!r}: not ipv4")
    return ":".join(f"{b:02x}" for b in (0x02, 0x42, *ip.packed))


def _iface(cidr: str, what: str) -> ipaddress.IPv4Interface | ipaddress.IPv6Interface:
    try:
        iface = ipaddress.ip_interface(cidr)
    except ValueError:
        raise errdefs.InvalidArgument(f"invalid {what} {cidr!r}") from None
    if "/" not in cidr:
        raise errdefs.InvalidArgument(f"invalid {what} {cidr!r}: no prefix length")
    return iface


def _mtu(mtu: int) -> int:
    if not 68 <= mtu <= 65535:
        raise errdefs.InvalidArgument(f"invalid mtu {mtu}")
    return mtu


# -- kernel helpers ---------------------------------------------------------------------------


def _index(ipr: IPRoute, name: str) -> int | None:
    found = ipr.link_lookup(ifname=name)
    return int(found[0]) if found else None


def _kind(msg: Any) -> str:
    info = msg.get_attr("IFLA_LINKINFO")
    kind = info.get_attr("IFLA_INFO_KIND") if info is not None else None
    return str(kind or "")


def _add_address(ipr: IPRoute, index: int, iface: Any, flags: int = 0) -> None:
    """Add ``iface`` to link ``index`` unless it is there already."""
    have = {
        (a.get_attr("IFA_ADDRESS"), a["prefixlen"])
        for a in ipr.get_addr(index=index, family=2 if iface.version == 4 else 10)
    }
    if (str(iface.ip), iface.network.prefixlen) in have:
        return
    kw: dict[str, Any] = {"index": index, "address": str(iface.ip), "prefixlen": iface.network.prefixlen}
    if flags:
        kw["flags"] = flags
    ipr.addr("add", **kw)


# -- bridges ----------------------------------------------------------------------------------


def ensure_bridge(name: str, gateway_cidr: str, mtu: int = 1500, gateway6_cidr: str | None = None) -> int:
    """The bridge ``name`` with the network's gateway address on it, up; its index.

    Creates it, or adopts an existing bridge of that name (berthd after a restart, or a
    bridge the administrator made as ``com.docker.network.bridge.name``). A link of that
    name that is not a bridge is a Conflict. Idempotent."""
    validate_ifname(name)
    gw = _iface(gateway_cidr, "gateway address")
    gw6 = _iface(gateway6_cidr, "ipv6 gateway address") if gateway6_cidr else None
    _mtu(mtu)
    with _nl.route() as ipr:
        index = _index(ipr, name)
        if index is None:
            try:
                ipr.link("add", ifname=name, kind="bridge", mtu=mtu)
            except Exception as exc:
                if not _nl.is_errno(exc, errno.EEXIST):  # made meanwhile: adopt it
                    raise _nl.error(f"create bridge '{name}'", exc) from exc
            index = _index(ipr, name)
            if index is None:
                raise errdefs.Internal(f"create bridge '{name}': not found after creation")
        kind = _kind(ipr.get_links(index)[0])
        if kind != "bridge":
            raise errdefs.Conflict(f"link '{name}' exists and is not a bridge (it is {kind or 'unknown'})")
        try:
            _add_address(ipr, index, gw)
            if gw6 is not None:
                _add_address(ipr, index, gw6, _IFA_F_NODAD)
            ipr.link("set", index=index, state="up")
        except Exception as exc:
            raise _nl.error(f"configure bridge '{name}'", exc) from exc
        return index


def delete_bridge(name: str) -> bool:
    """Delete the bridge ``name`` (its ports fall off it, they are not deleted); False when
    there is none. A link of that name that is not a bridge is a Conflict."""
    validate_ifname(name)
    with _nl.route() as ipr:
        index = _index(ipr, name)
        if index is None:
            return False
        kind = _kind(ipr.get_links(index)[0])
        if kind != "bridge":
            raise errdefs.Conflict(f"link '{name}' is not a bridge (it is {kind or 'unknown'})")
        try:
            ipr.link("del", index=index)
        except Exception as exc:
            if _nl.is_errno(exc, errno.ENODEV):
                return False
            raise _nl.error(f"delete bridge '{name}'", exc) from exc
        return True


# -- endpoints --------------------------------------------------------------------------------


def connect(
    netns_path: str,
    bridge: str,
    *,
    address_cidr: str,
    gateway: str | None,
    ifname: str = "eth0",
    mac: str | None = None,
    mtu: int = 1500,
    default_route: bool = True,
    address6_cidr: str | None = None,
    gateway6: str | None = None,
    endpoint_id: str | None = None,
) -> Endpoint:
    """Wire the namespace bound at ``netns_path`` to ``bridge``: a veth pair, the host
    side on the bridge and up, the peer in the namespace as ``ifname`` with
    ``address_cidr`` (and ``address6_cidr``), ``mac`` (derived from the address when
    None), ``mtu``, up. With ``default_route`` (the container's first network) the default
    route goes via ``gateway`` (and ``gateway6``); further networks get only their subnet's
    route. On failure nothing is left behind."""
    validate_ifname(ifname)
    validate_ifname(bridge)
    addr = _iface(address_cidr, "address")
    if addr.version != 4:
        raise errdefs.InvalidArgument(f"invalid address {address_cidr!r}: not ipv4")
    addr6 = _iface(address6_cidr, "ipv6 address") if address6_cidr else None
    if addr6 is not None and addr6.version != 6:
        raise errdefs.InvalidArgument(f"invalid ipv6 address {address6_cidr!r}")
    try:
        gw = ipaddress.IPv4Address(gateway) if gateway else None
        gw6 = ipaddress.IPv6Address(gateway6) if gateway6 else None
    except ValueError as exc:
        raise errdefs.InvalidArgument(f"invalid gateway: {exc}") from None
    mac = (mac or derive_mac(address_cidr)).lower()
    if not re.fullmatch(r"[0-9a-f]{2}(:[0-9a-f]{2}){5}", mac):
        raise errdefs.InvalidArgument(f"invalid mac address {mac!r}")
    _mtu(mtu)
    host = host_veth_name(endpoint_id)

    with _nl.route() as ipr:
        br = _index(ipr, bridge)
        if br is None:
            raise errdefs.NotFound(f"bridge '{bridge}' not found")
        with _nl.netns_fd(netns_path) as nsfd:
            try:
                ipr.link(
                    "add", ifname=host, kind="veth", mtu=mtu,
                    peer={"ifname": ifname, "net_ns_fd": nsfd, "mtu": mtu, "address": mac},
                )  # fmt: skip
            except Exception as exc:
                raise _nl.error(f"create veth '{host}' (peer '{ifname}' in '{netns_path}')", exc) from exc
        try:
            index = _index(ipr, host)
            if index is None:
                raise errdefs.Internal(f"create veth '{host}': not found after creation")
            try:
                ipr.link("set", index=index, master=br, state="up")
            except Exception as exc:
                raise _nl.error(f"attach '{host}' to bridge '{bridge}'", exc) from exc
            _configure_peer(netns_path, ifname, addr, addr6, gw if default_route else None,
                            gw6 if default_route else None)  # fmt: skip
        except BaseException:
            with contextlib.suppress(Exception):
                ipr.link("del", ifname=host)
            raise
    return Endpoint(
        host_veth=host, netns_path=netns_path, ifname=ifname, bridge=bridge,
        address=address_cidr, gateway=str(gw) if gw else None, mac=mac, address6=address6_cidr,
    )  # fmt: skip


def _configure_peer(
    netns_path: str,
    ifname: str,
    addr: Any,
    addr6: Any,
    gateway: ipaddress.IPv4Address | None,
    gateway6: ipaddress.IPv6Address | None,
) -> None:
    what = f"configure '{ifname}' in '{netns_path}'"
    with _nl.route(netns_path) as ns:
        index = _index(ns, ifname)
        if index is None:
            raise errdefs.Internal(f"{what}: not found in the namespace")
        try:
            _add_address(ns, index, addr)
            if addr6 is not None:
                # No duplicate address detection: the address is usable at once, as Docker's.
                _add_address(ns, index, addr6, _IFA_F_NODAD)
            ns.link("set", index=index, state="up")
            if gateway is not None:
                ns.route("replace", dst="0.0.0.0/0", gateway=str(gateway), oif=index)
            if gateway6 is not None:
                ns.route("replace", family=10, dst="::/0", gateway=str(gateway6), oif=index)
        except Exception as exc:
            raise _nl.error(what, exc) from exc


def disconnect(endpoint: Endpoint) -> bool:
    """Remove ``endpoint`` (its veth pair and ifb, if any); False when it was gone."""
    return disconnect_by_name(endpoint.host_veth)


def disconnect_by_name(host_veth: str) -> bool:
    """Delete the host veth ``host_veth`` (the peer in the container goes with it) and its
    ifb device; False when the veth did not exist. Only berth's names are accepted."""
    ifb = ifb_name(host_veth)
    found = False
    with _nl.route() as ipr:
        for name in (host_veth, ifb):
            try:
                ipr.link("del", ifname=name)
                found = found or name == host_veth
            except Exception as exc:
                if _nl.is_errno(exc, errno.ENODEV, errno.ENOENT):
                    continue
                raise _nl.error(f"delete link '{name}'", exc) from exc
    return found


def list_links(prefixes: tuple[str, ...] = (HOST_PREFIX, IFB_PREFIX)) -> list[Link]:
    """The host's links whose names are a prefix + 10 hex (berth's veths and ifbs by
    default; pass a bridge's name prefix to find bridges), for reconciliation."""
    out: list[Link] = []
    with _nl.route() as ipr:
        for msg in ipr.get_links():
            name = msg.get_attr("IFLA_IFNAME") or ""
            if not any(_owned(name, p) for p in prefixes):
                continue
            master = msg.get_attr("IFLA_MASTER")
            out.append(Link(name, int(msg["index"]), _kind(msg),
                            int(master) if master else None, bool(msg["flags"] & _IFF_UP)))  # fmt: skip
    return sorted(out, key=lambda link: link.name)


def _owned(name: str, prefix: str) -> bool:
    if prefix not in (HOST_PREFIX, IFB_PREFIX):
        return name.startswith(prefix)
    rest = name[len(prefix) :]
    return name.startswith(prefix) and len(rest) == _SUFFIX and all(c in "0123456789abcdef" for c in rest)


# -- sysctls ----------------------------------------------------------------------------------


def _sysctl_parts(key: str) -> tuple[str, ...]:
    """``net.ipv4.ip_forward`` → its path under /proc/sys. As sysctl(8), a ``/``-separated
    key keeps its dots (``net/ipv4/conf/eth0.100/forwarding``)."""
    parts = tuple(key.split("/") if "/" in key else key.split("."))
    if not key or any(p in ("", ".", "..") for p in parts):
        raise errdefs.InvalidArgument(f"invalid sysctl {key!r}")
    return parts


def _set_here(key: str, value: str) -> bool:
    path = os.path.join("/proc/sys", *_sysctl_parts(key))
    try:
        with open(path) as f:
            if f.read().strip() == value:
                return False
        with open(path, "w") as f:
            f.write(value)
    except FileNotFoundError:
        raise errdefs.NotFound(f"sysctl {key} not found") from None
    except OSError as exc:
        # A read-only /proc/sys (berthd in a container) or a lack of privilege: report it;
        # the caller decides whether the network can work without.
        raise errdefs.FailedPrecondition(
            f"set sysctl {key}={value}: {errdefs.strerror(exc.errno or 0)}"
            " (the host forbids the change; set it on the host)"
        ) from exc
    return True


def set_sysctl(key: str, value: str, netns_path: str | None = None) -> bool:
    """Write ``value`` to the sysctl ``key`` (``net.ipv4.ip_forward``), in the host's
    network namespace or the one bound at ``netns_path`` (the net.* sysctls are per
    namespace). True when it changed, False when it already had the value; never writes
    an equal value. A host that forbids the write is a FailedPrecondition naming the key."""
    if netns_path is None:
        return _set_here(key, value)
    result: list[bool] = []
    failure: list[BaseException] = []

    def work() -> None:
        try:
            fd = os.open(netns_path, os.O_RDONLY | os.O_CLOEXEC)
            try:
                sc.default().setns(fd, sc.CLONE_NEWNET)
            finally:
                os.close(fd)
            result.append(_set_here(key, value))
        except BaseException as exc:  # handed to the caller
            failure.append(exc)

    t = threading.Thread(target=work, name="netns-sysctl", daemon=True)
    t.start()
    t.join()
    if failure:
        exc = failure[0]
        if isinstance(exc, OSError):
            raise errdefs.from_oserror(f"enter network namespace '{netns_path}'", exc) from exc
        raise exc
    return result[0]


def enable_ip_forward() -> bool:
    """``net.ipv4.ip_forward=1``: the host routes between bridges and its uplinks."""
    return set_sysctl("net.ipv4.ip_forward", "1")


def enable_route_localnet(bridge: str) -> bool:
    """``net.ipv4.conf.<bridge>.route_localnet=1``: DNAT'd loopback traffic may leave by
    the bridge (published ports reached on 127.0.0.1)."""
    return set_sysctl(f"net/ipv4/conf/{validate_ifname(bridge)}/route_localnet", "1")

