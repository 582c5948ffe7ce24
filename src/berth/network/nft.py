"""berth's firewall as data: the nftables rules for bridge networks and published ports,
rendered from a :class:`State` into one ``nft -f -`` script and applied atomically.

**Tables.** berth owns ``table inet berth`` (filter and NAT for IPv4 and IPv6 in one
table, kernel ≥ 5.2) and, only while some network has icc disabled, ``table bridge
berth``. Nothing else on the host is touched. Every rendered script first declares what
it needs, flushes it, then fills it, and nft(8) runs a file as one netlink transaction:
the kernel swaps the whole ruleset or keeps the old one, so applying is atomic, and
applying the same state twice leaves the same rules (idempotent). The chains::

    forward      filter/forward       isolation, internal networks, published ports
    published    (regular)            DNAT'd traffic on its way into a container
    berth-user   (regular)            the user's rules for published ports (kept)
    prerouting   nat/prerouting  -100 traffic from outside and from containers → ports
    output       nat/output      -100 traffic from the host itself → ports
    ports        (regular)            one DNAT rule per published port
    postrouting  nat/postrouting  100 masquerade: egress, hairpin, loopback

**What each feature is.**

- *Masquerade*: a packet from a bridge subnet leaving by another interface gets the
  outgoing interface's address (``ip saddr <subnet> oifname != <bridge> masquerade``);
  traffic to the bridge itself keeps its source, so containers see each other's
  addresses. ``masquerade=False`` is Docker's ``enable_ip_masquerade=false``.
- *Forwarding and isolation*: replies (``ct state established,related``) to a berth
  bridge pass; traffic between two ports of one bridge passes; from one berth bridge to
  another is dropped (Docker's DOCKER-ISOLATION chains); from a bridge anywhere else
  passes (egress).
- *Internal networks* (``--internal``): nothing enters from or leaves to another
  interface, in either direction, and nothing is masqueraded.
- *icc=false*: containers of one network may not talk to each other. That traffic is
  bridged, not routed, so it is dropped in ``table bridge berth``'s forward hook, by
  addresses (both ends in the subnet) — ``meta ibrname`` would need
  CONFIG_NFT_BRIDGE_META, which small kernels lack, and addresses need nothing. Traffic
  to the gateway (the host) is not bridge-forwarded, so it is untouched.
- *Published ports* (``-p [ip:]host:container``): DNAT in the kernel, no proxy in the
  data path. ``prerouting`` sends traffic for a local address (``fib daddr type
  local``) from outside *and* from containers to ``ports``; ``output`` does the same for
  the host's own connections. A port published on one address matches ``ip daddr``;
  on all addresses only the family.
- *Hairpin*: a container reaching a published port (its own or another's on its bridge)
  through the host's address is DNAT'd back out of the bridge it came in by. The reply
  would go straight from container to container, past the NAT that must undo the DNAT,
  so that traffic is masqueraded (``ip saddr <subnet> oifname <bridge> ct status dnat
  masquerade``) and replies come back through the host. A container reaching *itself*
  also needs its bridge port in hairpin mode (``bridge link set dev <veth> hairpin on``),
  which the link code sets: a bridge never sends a frame back out the port it came in by.
- *Loopback* (``curl 127.0.0.1:8080`` on the host): ``output`` DNATs it, and the packet,
  still from 127.0.0.1, is routed out of the bridge. The kernel drops a packet with a
  loopback source on any other interface as a martian unless
  ``net.ipv4.conf.<bridge>.route_localnet=1`` (see :func:`sysctls`), and the container
  could not answer 127.0.0.1 anyway, so ``postrouting`` rewrites the source of ``ip
  saddr 127.0.0.0/8 oifname <bridge>`` to a link-local address off every container's
  subnet: the container answers it through its default route (the host), where
  connection tracking turns the reply back to 127.0.0.1. One address per host port
  (:func:`loopback_source`: port 8080 is 169.254.31.144), so that NAT maps the host's
  flows one to one onto the container's: with a single address, flows through two host
  ports to one container port (or a released address's stale entries, see
  :mod:`berth.network.conntrack`) would want the same reply tuple, conntrack would remap
  source ports, and a remapped flow meets the container's TIME_WAIT socket of another
  client socket, whose TCP timestamps (offsets are drawn per connection) it refuses
  (PAWS): a second's stall, measured on 1 % of connections with two ports under load.
  :data:`LOOPBACK_SNAT` catches any other loopback flow. Not the bridge's own address,
  as a masquerade would pick: the host's *direct* connections to the container come from
  that address too, and meet the same PAWS refusals. IPv6 has
  no route_localnet: ``[::1]:port`` cannot be DNAT'd out of lo, and is not published.

**Published ports respect the host's input policy (beyond Docker).** A DNAT'd packet is
*forwarded*, never *input*, so the host's input rules (ufw, firewalld, an ``inet
filter input`` with ``policy drop``) never see it: Docker's published ports open holes
in every host firewall. berth sends all DNAT'd traffic bound for its bridges through the
``published`` chain:

1. traffic from a berth bridge (hairpin, or a container of another network) is accepted,
   as the host's own would be;
2. ``jump berth-user``: the user's rules, matched against what a host firewall rule
   names — the original destination port, e.g. ``meta l4proto tcp ct original
   proto-dst 8080 ip saddr 10.0.0.0/8 accept`` or ``meta l4proto tcp ct original
   proto-dst 5432 drop``. ``drop`` is final,
   ``accept`` lets it in, no verdict falls through. The chain is berth's but its rules
   are the user's: a render never flushes it unless :attr:`State.user_rules` is given
   (then the chain is exactly those rules: daemon.json can own it);
3. the default, :attr:`State.published_policy`: ``accept`` (Docker's behaviour) or
   ``drop``. berthd sets ``drop`` when the host's own input policy drops
   (:func:`host_input_policy` reads it from ``nft -j list chains``): on such a host a
   published port is closed until a ``berth-user`` rule opens it, as a host service is
   until an input rule does.

The host's own connections (``output``) never reach ``forward`` and are not filtered.

**Not done here.** nftables ``accept`` is final only within one base chain: a ``drop``
policy in *another* table's forward chain (iptables' FORWARD policy DROP while dockerd
runs, firewalld) still drops berth's traffic. Making a hole there means adding to that
table (dockerd's DOCKER-USER or iptables' FORWARD) and is the daemon's decision, not
this module's.
"""

from __future__ import annotations

import ipaddress
import json
import re
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from berth import errdefs

__all__ = [
    "TABLE",
    "USER_CHAIN",
    "Network",
    "Port",
    "State",
    "apply",
    "current",
    "delete",
    "host_input_policy",
    "list_chains_json",
    "render",
    "render_delete",
    "sysctls",
]

TABLE = "berth"
LOOPBACK_SNAT = "169.254.77.1"  # the source containers see for other flows from the host's 127.0.0.1
USER_CHAIN = "berth-user"

_BASE_CHAINS = {
    "forward": "type filter hook forward priority 0; policy accept;",
    "prerouting": "type nat hook prerouting priority -100; policy accept;",
    "output": "type nat hook output priority -100; policy accept;",
    "postrouting": "type nat hook postrouting priority 100; policy accept;",
}
_REGULAR_CHAINS = ("published", "ports")
_IFNAME = re.compile(r"^[A-Za-z0-9_.\-]{1,15}$")
_PROTOS = ("tcp", "udp", "sctp")
_TABLE = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")


@dataclass(frozen=True)
class Port:
    """One published port: ``host_ip:host_port/proto`` → ``container_ip:container_port``.
    ``host_ip`` empty (or 0.0.0.0 / ::) means every address of the container's family."""

    proto: str
    host_port: int
    container_ip: str
    container_port: int
    host_ip: str = ""


@dataclass(frozen=True)
class Network:
    """A bridge network as the firewall sees it: its host interface, its subnets, its
    options, and the ports published by containers attached to it."""

    bridge: str
    subnets: tuple[str, ...]
    internal: bool = False
    icc: bool = True
    masquerade: bool = True
    ports: tuple[Port, ...] = ()


@dataclass(frozen=True)
class State:
    """Everything berth's firewall holds; :func:`render` turns it into a script."""

    networks: tuple[Network, ...] = ()
    published_policy: Literal["accept", "drop"] = "accept"
    user_rules: tuple[str, ...] | None = None
    table: str = TABLE  # the tables' name (a test daemon uses its own)


# -- validation: nothing user-given reaches the script unchecked --------------------------


def _ifname(name: str) -> str:
    if not _IFNAME.match(name):
        raise errdefs.InvalidArgument(f"invalid bridge name {name!r}")
    return f'"{name}"'


def _net(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    try:
        return ipaddress.ip_network(text)
    except ValueError:
        raise errdefs.InvalidArgument(f"invalid subnet {text!r}") from None


def _table(name: str) -> str:
    if not _TABLE.match(name):
        raise errdefs.InvalidArgument(f"invalid nftables table name {name!r}")
    return name


def _fam(version: int) -> str:
    return "ip" if version == 4 else "ip6"


def _port_rule(p: Port) -> str:
    if p.proto not in _PROTOS:
        raise errdefs.InvalidArgument(
            f"invalid protocol {p.proto!r} for published port {p.host_port}"
        )
    for port in (p.host_port, p.container_port):
        if not 0 < port < 65536:
            raise errdefs.InvalidArgument(f"invalid port {port}")
    try:
        to = ipaddress.ip_address(p.container_ip)
        host = ipaddress.ip_address(p.host_ip) if p.host_ip else None
    except ValueError as exc:
        raise errdefs.InvalidArgument(f"published port {p.host_port}: {exc}") from None
    if host is not None and host.version != to.version:
        raise errdefs.InvalidArgument(
            f"published port {p.host_ip}:{p.host_port}: host and container addresses of different families"
        )
    fam = _fam(to.version)
    if host is None or host.is_unspecified:
        match = f"meta nfproto ipv{to.version}"
    else:
        match = f"{fam} daddr {host}"
    dest = f"{to}:{p.container_port}" if to.version == 4 else f"[{to}]:{p.container_port}"
    return f"{match} {p.proto} dport {p.host_port} dnat {fam} to {dest}"


# -- rendering -------------------------------------------------------------------------------


def _forward(networks: Sequence[Network]) -> list[str]:
    rules = [
        "ct state established,related oifname @bridges accept",
    ]
    for n in networks:
        if n.internal:
            br = _ifname(n.bridge)
            rules += [f"iifname {br} oifname != {br} drop", f"oifname {br} iifname != {br} drop"]
    rules.append("ct status dnat oifname @bridges jump published")
    for n in networks:
        br = _ifname(n.bridge)
        rules.append(f"iifname {br} oifname {br} {'accept' if n.icc else 'drop'}")
        rules.append(f"iifname {br} oifname @bridges drop")
        if not n.internal:
            rules.append(f"iifname {br} accept")
    return rules


def _published(policy: str) -> list[str]:
    if policy not in ("accept", "drop"):
        raise errdefs.InvalidArgument(f"invalid published port policy {policy!r}")
    return ["iifname @bridges accept", f"jump {USER_CHAIN}", policy]


def _postrouting(networks: Sequence[Network]) -> list[str]:
    rules: list[str] = []
    for n in networks:
        if n.internal:  # nothing leaves, nothing is published
            continue
        br = _ifname(n.bridge)
        for s in map(_net, n.subnets):
            fam = _fam(s.version)
            if n.masquerade:
                rules.append(f"{fam} saddr {s} oifname != {br} masquerade")
            if n.ports:
                rules.append(f"{fam} saddr {s} oifname {br} ct status dnat masquerade")
        if n.ports:
            for proto, ports in sorted(_loopback_ports(n.ports).items()):
                elements = ", ".join(f"{p} : {loopback_source(p)}" for p in ports)
                rules.append(f"ip saddr 127.0.0.0/8 oifname {br} meta l4proto {proto} snat ip to ct original proto-dst map {{ {elements} }}")
            rules.append(f"ip saddr 127.0.0.0/8 oifname {br} snat ip to {LOOPBACK_SNAT}")
    return rules


def loopback_source(host_port: int) -> str:
    """The source a container sees for the host's loopback flows through ``host_port``:
    169.254.0.0/16 holds one address per port number."""
    return f"169.254.{host_port >> 8}.{host_port & 255}"


def _loopback_ports(ports: Sequence[Port]) -> dict[str, list[int]]:
    """Per protocol, the host ports that 127.0.0.0/8 reaches (published on every address or
    on a loopback one) of IPv4 containers."""
    out: dict[str, set[int]] = {}
    for p in ports:
        host = ipaddress.ip_address(p.host_ip) if p.host_ip else None
        if ipaddress.ip_address(p.container_ip).version == 4 and (host is None or host.is_unspecified or host.is_loopback):
            out.setdefault(p.proto, set()).add(p.host_port)
    return {proto: sorted(v) for proto, v in out.items()}


def _chain(name: str, rules: Sequence[str], indent: str = "\t") -> list[str]:
    return [f"{indent}chain {name} {{", *(f"{indent}\t{r}" for r in rules), f"{indent}}}"]


def _bridge_table(networks: Sequence[Network], table: str) -> list[str]:
    rules: list[str] = []
    for n in networks:
        if not n.icc:
            for s in map(_net, n.subnets):
                fam = _fam(s.version)
                rules.append(f"{fam} saddr {s} {fam} daddr {s} drop")
    out = [f"add table bridge {table}", f"delete table bridge {table}"]
    if rules:
        out += [
            f"table bridge {table} {{",
            "\tchain forward {",
            "\t\ttype filter hook forward priority 0; policy accept;",
            *(f"\t\t{r}" for r in rules),
            "\t}",
            "}",
        ]
    return out


def render(state: State) -> str:
    """The nft script that makes berth's tables exactly ``state`` (keeping the rules of
    ``berth-user`` unless ``state.user_rules`` says what they are)."""
    nets = state.networks
    bridges = [_ifname(n.bridge) for n in nets]
    if len(set(bridges)) != len(bridges):
        raise errdefs.InvalidArgument("two networks on one bridge")
    t = f"inet {_table(state.table)}"
    lines = [
        "# berth's firewall: generated, applied with nft -f (one transaction)",
        f"add table {t}",
    ]
    lines += [f"add chain {t} {c}" for c in (USER_CHAIN, *_REGULAR_CHAINS)]
    lines += [f"add chain {t} {c} {{ {spec} }}" for c, spec in _BASE_CHAINS.items()]
    lines.append(f"add set {t} bridges {{ type ifname; }}")
    owned = [*_REGULAR_CHAINS, *_BASE_CHAINS]
    if state.user_rules is not None:
        owned.insert(0, USER_CHAIN)
    lines += [f"flush chain {t} {c}" for c in owned]
    lines.append(f"flush set {t} bridges")

    lines.append(f"table {t} {{")
    if bridges:
        lines += [
            "\tset bridges {",
            "\t\ttype ifname",
            f"\t\telements = {{ {', '.join(bridges)} }}",
            "\t}",
        ]
    if state.user_rules is not None:
        lines += _chain(USER_CHAIN, state.user_rules)
    lines += _chain("published", _published(state.published_policy))
    lines += _chain("forward", _forward(nets))
    lines += _chain("ports", [_port_rule(p) for n in nets if not n.internal for p in n.ports])
    lines += _chain("prerouting", ["fib daddr type local jump ports"])
    lines += _chain("output", ["fib daddr type local jump ports"])
    lines += _chain("postrouting", _postrouting(nets))
    lines.append("}")
    lines += _bridge_table(nets, state.table)
    return "\n".join(lines) + "\n"


def render_delete(table: str = TABLE) -> str:
    """The script that removes berth's tables, whether or not they exist."""
    table = _table(table)
    return "".join(f"add table {f} {table}\ndelete table {f} {table}\n" for f in ("inet", "bridge"))


def sysctls(state: State) -> dict[str, str]:
    """Kernel settings the rules rely on: ``route_localnet`` on each bridge that has
    published ports, so DNAT'd loopback traffic may leave by it."""
    return {
        f"net.ipv4.conf.{n.bridge}.route_localnet": "1"
        for n in state.networks
        if n.ports and not n.internal
    }


# -- applying ---------------------------------------------------------------------------------


def _nft(args: Sequence[str], netns: str | None, stdin: str | None = None) -> str:
    if shutil.which("nft") is None:
        raise errdefs.FailedPrecondition("nft: command not found (install nftables)")
    cmd = ["nft", *args]
    if netns is not None:
        cmd = ["nsenter", f"--net={netns}", *cmd]
    p = subprocess.run(cmd, input=stdin, capture_output=True, text=True, check=False, timeout=60)
    if p.returncode != 0:
        raise errdefs.Internal(f"nft {' '.join(args)}: {p.stderr.strip() or p.returncode}")
    return p.stdout


def apply(script: str, netns: str | None = None) -> None:
    """Run ``script`` with ``nft -f -`` (in the network namespace bound at ``netns``)."""
    _nft(["-f", "-"], netns, script)


def delete(netns: str | None = None, table: str = TABLE) -> None:
    """Remove berth's tables (the user's ``berth-user`` rules with them)."""
    apply(render_delete(table), netns)


def current(netns: str | None = None, table: str = TABLE) -> dict[str, str]:
    """berth's tables as they are in the kernel: ``{"inet berth": <nft list table …>}``,
    for reconciliation on start (empty when there are none)."""
    listing = json.loads(_nft(["-j", "list", "tables"], netns) or "{}")
    out: dict[str, str] = {}
    for item in listing.get("nftables", []):
        t = item.get("table")
        if t and t.get("name") == table:
            out[f"{t['family']} {table}"] = _nft(["list", "table", t["family"], table], netns)
    return out


def list_chains_json(netns: str | None = None) -> str:
    """``nft -j list chains``: what :func:`host_input_policy` reads."""
    return _nft(["-j", "list", "chains"], netns)


def host_input_policy(chains_json: str, table: str = TABLE) -> Literal["accept", "drop"]:
    """``drop`` when a filter chain of the host on the input hook (in any table but
    berth's) has policy drop, from ``nft -j list chains``; else ``accept``."""
    for item in json.loads(chains_json or "{}").get("nftables", []):
        c = item.get("chain")
        if not c or c.get("table") == table or c.get("family") not in ("ip", "ip6", "inet"):
            continue
        if c.get("hook") == "input" and c.get("type") == "filter" and c.get("policy") == "drop":
            return "drop"
    return "accept"
