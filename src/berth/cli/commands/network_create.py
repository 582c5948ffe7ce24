"""``berth network create [OPTIONS] NETWORK``: prints the new network's id
(cli/command/network/create.go).

``--subnet``, ``--ip-range`` and ``--gateway`` are matched up as the docker CLI does: one
IPAM config per subnet (overlapping subnets are refused), each range, gateway and
``--aux-address`` given to the subnet that contains it, an error when none does. Like
pflag's string slices, ``--subnet a,b`` is two subnets.
"""

from __future__ import annotations

from berth.cli.args import Command, Flag
from berth.cli.commands.volume_create import kv_map
from berth.cli.context import Cli, CliError
from berth.errdefs import BerthError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["COMMAND", "create_body", "ipam_config", "run", "string_slice"]

COMMAND = Command(
    "create [OPTIONS] NETWORK",
    "Create a network",
    [
        Flag("attachable", help="Enable manual container attachment"),
        Flag(
            "aux-address",
            "list",
            help="Auxiliary IPv4 or IPv6 addresses used by Network driver",
            metavar="map",
        ),
        Flag("config-from", "string", help="The network from which to copy the configuration"),
        Flag("config-only", help="Create a configuration only network"),
        Flag("driver,d", "string", "bridge", "Driver to manage the Network"),
        Flag(
            "gateway", "list", help="IPv4 or IPv6 Gateway for the master subnet", metavar="ipSlice"
        ),
        Flag("ingress", help="Create swarm routing-mesh network"),
        Flag("internal", help="Restrict external access to the network"),
        Flag(
            "ip-range", "list", help="Allocate container ip from a sub-range", metavar="ipNetSlice"
        ),
        Flag("ipam-driver", "string", "default", "IP Address Management Driver"),
        Flag("ipam-opt", "list", help="Set IPAM driver specific options", metavar="map"),
        # default "" tells "not given" from --ipv4=false (docker's Changed)
        Flag("ipv4", default="", help="Enable or disable IPv4 address assignment (default true)"),
        Flag("ipv6", help="Enable or disable IPv6 address assignment"),
        Flag("label", "list", help="Set metadata on a network", metavar="list"),
        Flag("opt,o", "list", help="Set driver specific options", metavar="map"),
        Flag("scope", "string", help="Control the network's scope"),
        Flag(
            "subnet",
            "list",
            help="Subnet in CIDR format that represents a network segment",
            metavar="strings",
        ),
    ],
    (1, 1),
    aliases=("berth network create",),
)


def string_slice(values: list[str]) -> list[str]:
    """A pflag string-slice flag's values: each occurrence is a CSV record."""
    import csv

    out: list[str] = []
    for v in values:
        if v:
            out += next(csv.reader([v]))
    return out


def _ip_slice(values: list[str], flag: str, cidr: bool) -> list[str]:
    """pflag's ``ipSlice`` / ``ipNetSlice``: CSV records of addresses (or CIDRs, kept as
    the network they name, as Go's ``net.ParseCIDR`` returns it); a bad one is a flag
    error (status 125)."""
    import ipaddress

    out = []
    for value in values:
        for raw in string_slice([value]):
            v = raw.strip()
            try:
                out.append(
                    str(ipaddress.ip_network(v, strict=False) if cidr else ipaddress.ip_address(v))
                )
            except ValueError:
                what = "CIDR" if cidr else "IP address"
                raise CliError(
                    f'invalid argument "{value}" for "--{flag}" flag: '
                    f"invalid string being converted to {what}: {raw}",
                    125,
                ) from None
    return out


def _contains(subnet: str, data: str) -> bool:
    """The docker CLI's subnetMatches: is the address (or a CIDR's address) ``data``
    inside ``subnet``?"""
    import ipaddress

    try:
        net = ipaddress.ip_network(subnet, strict=False)
    except ValueError:
        raise CliError(f"invalid subnet: invalid CIDR address: {subnet}") from None
    try:
        if "/" in data:
            ip = ipaddress.ip_interface(data).ip
        else:
            ip = ipaddress.ip_address(data)
    except ValueError:
        if "/" in data:
            raise CliError(f"invalid CIDR address: {data}") from None
        return False
    return ip.version == net.version and ip in net


def ipam_config(
    subnets: list[str], ranges: list[str], gateways: list[str], aux: dict[str, str]
) -> list[dict[str, Any]]:
    """Docker's ``IPAM.Config`` from the flags, in the order the subnets were given."""
    if len(subnets) < len(ranges) or len(subnets) < len(gateways):
        raise CliError("every ip-range or gateway must have a corresponding subnet")
    configs: dict[str, dict[str, Any]] = {}
    for s in subnets:
        for k in configs:
            if _contains(s, k) or _contains(k, s):
                raise CliError("multiple overlapping subnet configuration is not supported")
        _contains(s, s)  # refuses a subnet that is not a CIDR even when it is alone
        configs[s] = {"Subnet": s}
    for key, what, label in (("IPRange", ranges, "range"), ("Gateway", gateways, "gateway")):
        for value in what:
            match = False
            for s in subnets:
                if not _contains(s, value):
                    continue
                if key in configs[s]:
                    plural = "ranges" if key == "IPRange" else "gateways"
                    on = "on" if key == "IPRange" else "for"
                    raise CliError(
                        f"cannot configure multiple {plural} ({value}, {configs[s][key]}) {on} the same subnet ({s})"
                    )
                configs[s][key] = value
                match = True
            if not match:
                raise CliError(f"no matching subnet for {label} {value}")
    for name, address in aux.items():
        match = False
        for s in subnets:
            if _contains(s, address):
                configs[s].setdefault("AuxiliaryAddresses", {})[name] = address
                match = True
        if not match:
            raise CliError(f"no matching subnet for aux-address {address}")
    return list(configs.values())


def create_body(name: str, opts: dict[str, Any]) -> dict[str, Any]:
    """The ``POST /networks/create`` body, keys in the docker CLI's order."""
    ipam = ipam_config(
        string_slice(opts["subnet"]),
        _ip_slice(opts["ip_range"], "ip-range", cidr=True),
        _ip_slice(opts["gateway"], "gateway", cidr=False),
        kv_map(opts["aux_address"]),
    )
    body: dict[str, Any] = {"Driver": opts["driver"], "Scope": opts["scope"]}
    if opts["ipv4"] != "":
        body["EnableIPv4"] = opts["ipv4"]
    if opts["ipv6"]:
        body["EnableIPv6"] = True
    body.update(
        {
            "IPAM": {
                "Driver": opts["ipam_driver"],
                "Options": kv_map(opts["ipam_opt"]),
                "Config": ipam,
            },
            "Internal": opts["internal"],
            "Attachable": opts["attachable"],
            "Ingress": opts["ingress"],
            "ConfigOnly": opts["config_only"],
            "ConfigFrom": {"Network": opts["config_from"]} if opts["config_from"] else None,
            "Options": kv_map(opts["opt"]),
            "Labels": kv_map(opts["label"]),
            "Name": name,
            "CheckDuplicate": True,
        }
    )
    return body


def run(cli: Cli, opts: dict[str, Any], args: list[str]) -> int:
    if opts["ipv4"] != "":
        from berth.api.wire import version_less

        version = cli.client.api_version
        if version_less(version, "1.47"):
            raise CliError(
                f'"--ipv4" requires API version 1.47, but the Docker daemon API version is {version}'
            )
    body = create_body(args[0], opts)
    try:
        doc = cli.client.network_create(body)
    except BerthError as exc:
        raise cli.error(exc) from None
    cli.out.write(f"{doc['Id']}\n")
    return 0
