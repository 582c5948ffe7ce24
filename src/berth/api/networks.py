"""Network routes (Engine API 1.41): list, inspect, create, remove, prune, connect,
disconnect.

Wire shape of a network (dockerd's ``NetworkResource``), keys in dockerd's order:
``Name, Id, Created, Scope, Driver, EnableIPv6, IPAM{Driver, Options, Config}, Internal,
Attachable, Ingress, ConfigFrom{Network}, ConfigOnly, Containers, Options, Labels``.
``GET /networks`` answers every network with ``"Containers": {}`` (dockerd's list does not
fill it); ``GET /networks/{id}`` fills it from the endpoints, keyed by container id.

A network is named in a path by its full id, its name, or a unique prefix of its id
(the backend resolves it). ``POST /networks/prune`` answers ``{"NetworksDeleted": null}``
when it removed nothing, as dockerd does.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from berth import errdefs
from berth.api.body import field_bool, field_str, field_str_list, field_str_map, json_object
from berth.api.filters import until_cutoff
from berth.api.request import Request
from berth.api.response import Reply, empty, json_response
from berth.api.router import Router
from berth.engine.networks import filters as nf
from berth.engine.networks.model import EndpointView, Network
from berth.errdefs import InvalidArgument, NotFound

__all__ = ["NetworksBackend", "network_wire", "register"]


class NetworksBackend(Protocol):
    """What the network routes need. ``ref`` is a full id, a name or a unique id prefix
    (``NotFound("network X not found")`` otherwise). ``ipam_config`` items are Docker's
    ``IPAM.Config``: ``Subnet``, ``IPRange``, ``Gateway`` (strings) and
    ``AuxiliaryAddresses`` (a map of host name to address), only the keys the client gave.
    ``prune`` gets filters checked by :func:`berth.engine.networks.filters.validate_prune`
    with ``until`` already resolved to a cutoff in ns since the epoch (a decimal string);
    :func:`berth.engine.networks.filters.prune_match` applies them."""

    async def create(
        self,
        name: str,
        *,
        driver: str,
        options: Mapping[str, str],
        ipam_driver: str,
        ipam_options: Mapping[str, str],
        ipam_config: Sequence[Mapping[str, Any]],
        internal: bool,
        attachable: bool,
        enable_ipv6: bool,
        labels: Mapping[str, str],
    ) -> tuple[Network, str]: ...

    async def list(self) -> builtins.list[Network]: ...

    async def get(self, ref: str) -> Network: ...

    async def endpoints(self, network: Network) -> dict[str, EndpointView]: ...

    async def in_use(self, network: Network) -> bool: ...

    async def remove(self, ref: str) -> None: ...

    async def prune(self, filters: Mapping[str, Sequence[str]]) -> builtins.list[str]: ...

    async def connect(
        self,
        ref: str,
        container: str,
        *,
        aliases: Sequence[str],
        ipv4: str,
        ipv6: str,
        links: Sequence[str],
        driver_opts: Mapping[str, str],
        mac: str,
    ) -> None: ...

    async def disconnect(self, ref: str, container: str, force: bool) -> None: ...


def endpoint_wire(e: EndpointView) -> dict[str, str]:
    return {
        "Name": e.name,
        "EndpointID": e.endpoint_id,
        "MacAddress": e.mac_address,
        "IPv4Address": e.ipv4_address,
        "IPv6Address": e.ipv6_address,
    }


def network_wire(n: Network, endpoints: Mapping[str, EndpointView] | None = None) -> dict[str, Any]:
    return {
        "Name": n.name,
        "Id": n.id,
        "Created": n.created,
        "Scope": n.scope,
        "Driver": n.driver,
        "EnableIPv6": n.enable_ipv6,
        "IPAM": {
            "Driver": n.ipam_driver,
            "Options": dict(n.ipam_options),
            "Config": [dict(c) for c in n.ipam_config],
        },
        "Internal": n.internal,
        "Attachable": n.attachable,
        "Ingress": n.ingress,
        "ConfigFrom": {"Network": ""},
        "ConfigOnly": False,
        "Containers": {cid: endpoint_wire(e) for cid, e in (endpoints or {}).items()},
        "Options": dict(n.options),
        "Labels": dict(n.labels),
    }


# --- request bodies ---


def _ipam_config(ipam: Mapping[str, Any]) -> list[dict[str, Any]]:
    items = ipam.get("Config")
    if items is None:
        return []
    if not isinstance(items, list):
        raise InvalidArgument("invalid IPAM.Config: expected a list")
    out: list[dict[str, Any]] = []
    for raw in items:
        item = json_object(raw, "IPAM.Config item")
        conf: dict[str, Any] = {}
        for key in ("Subnet", "IPRange", "Gateway"):
            if value := field_str(item, key):
                conf[key] = value
        if aux := field_str_map(item, "AuxiliaryAddresses"):
            conf["AuxiliaryAddresses"] = aux
        out.append(conf)
    return out


def _parse_bool_query(name: str, value: str) -> bool:
    """Go's ``strconv.ParseBool``, as dockerd reads ``verbose``."""
    if value in ("1", "t", "T", "TRUE", "true", "True"):
        return True
    if value in ("0", "f", "F", "FALSE", "false", "False"):
        return False
    raise InvalidArgument(
        f'invalid value for {name}: {value}: strconv.ParseBool: parsing "{value}": invalid syntax'
    )


def _refuse_swarm_features(doc: Mapping[str, Any]) -> None:
    """Ingress, config-only and config-from networks and the swarm scopes exist only in
    swarm mode, which berth does not have: refused rather than quietly ignored."""
    if field_bool(doc, "Ingress"):
        raise errdefs.NotImplemented("ingress networks are not supported: berth has no swarm mode")
    if field_bool(doc, "ConfigOnly") or field_str(json_object(doc.get("ConfigFrom"), "ConfigFrom"), "Network"):
        raise errdefs.NotImplemented("config-only networks are not supported")
    scope = field_str(doc, "Scope")
    if scope not in ("", "local"):
        raise errdefs.NotImplemented(
            f"network scope {scope!r} is not supported: berth networks are local"
        )


def prune_filters(filters: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    """The prune filters checked, ``until`` resolved to a cutoff in ns (as a string)."""
    nf.validate_prune(filters)
    out = {k: list(v) for k, v in filters.items()}
    if out.get("until"):
        out["until"] = [str(until_cutoff(out["until"][0]))]
    return out


def register(router: Router, backend: NetworksBackend) -> None:
    async def list_networks(req: Request) -> Reply:
        filters = req.filters()
        nf.validate_list(filters)
        networks = await backend.list()
        used: set[str] = set()
        if filters.get("dangling"):
            used = {n.id for n in networks if await backend.in_use(n)}
        chosen = nf.select(networks, filters, lambda n: n.id in used)
        return json_response([network_wire(n) for n in chosen])

    async def inspect(req: Request) -> Reply:
        ref = req.params["id"]
        if req.q("verbose"):
            _parse_bool_query("verbose", req.q("verbose"))  # berth has no swarm detail to add
        n = await backend.get(ref)
        scope = req.q("scope")
        if scope and scope != n.scope:
            raise NotFound(f"network {ref} not found")
        return json_response(network_wire(n, await backend.endpoints(n)))

    async def create(req: Request) -> Reply:
        doc = json_object(await req.json(), "network create request")
        name = field_str(doc, "Name")
        if not name.strip():
            raise InvalidArgument("invalid name: " + name)
        _refuse_swarm_features(doc)
        ipam = json_object(doc.get("IPAM"), "IPAM")
        field_bool(doc, "CheckDuplicate")  # checked, and names are always unique (as dockerd >= 25)
        network, warning = await backend.create(
            name,
            driver=field_str(doc, "Driver") or "bridge",
            options=field_str_map(doc, "Options"),
            ipam_driver=field_str(ipam, "Driver") or "default",
            ipam_options=field_str_map(ipam, "Options"),
            ipam_config=_ipam_config(ipam),
            internal=field_bool(doc, "Internal"),
            attachable=field_bool(doc, "Attachable"),
            enable_ipv6=field_bool(doc, "EnableIPv6"),
            labels=field_str_map(doc, "Labels"),
        )
        return json_response({"Id": network.id, "Warning": warning}, 201)

    async def remove(req: Request) -> Reply:
        await backend.remove(req.params["id"])
        return empty(204)

    async def prune(req: Request) -> Reply:
        names = await backend.prune(prune_filters(req.filters()))
        return json_response({"NetworksDeleted": list(names) or None})

    async def connect(req: Request) -> Reply:
        doc = json_object(await req.json(), "network connect request")
        ep = json_object(doc.get("EndpointConfig"), "EndpointConfig")
        ipam = json_object(ep.get("IPAMConfig"), "IPAMConfig")
        await backend.connect(
            req.params["id"],
            field_str(doc, "Container"),
            aliases=field_str_list(ep, "Aliases"),
            ipv4=field_str(ipam, "IPv4Address"),
            ipv6=field_str(ipam, "IPv6Address"),
            links=field_str_list(ep, "Links"),
            driver_opts=field_str_map(ep, "DriverOpts"),
            mac=field_str(ep, "MacAddress"),
        )
        return empty(200)

    async def disconnect(req: Request) -> Reply:
        doc = json_object(await req.json(), "network disconnect request")
        await backend.disconnect(req.params["id"], field_str(doc, "Container"), field_bool(doc, "Force"))
        return empty(200)

    router.add("GET", "/networks", list_networks)
    router.add("POST", "/networks/create", create)
    router.add("POST", "/networks/prune", prune)
    router.add("GET", "/networks/{id}", inspect)
    router.add("DELETE", "/networks/{id}", remove)
    router.add("POST", "/networks/{id}/connect", connect)
    router.add("POST", "/networks/{id}/disconnect", disconnect)
