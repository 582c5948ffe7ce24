"""The files berthd writes for each container and binds at /etc/hostname, /etc/hosts and
/etc/resolv.conf, as dockerd does (libnetwork ``etchosts`` and ``resolvconf``).

- **hostname**: the container's hostname and a newline.
- **hosts**: the loopback entries, the container's own name on its addresses (or on
  nothing but loopback when it has none), ``--add-host`` entries.
- **resolv.conf**: the host's, with ``--dns``/``--dns-search``/``--dns-option`` replacing
  its lines; for a container in its own network namespace, loopback nameservers of the
  host (systemd-resolved's 127.0.0.53, dnsmasq on 127.0.0.1) cannot work inside, so they
  are dropped, and when none is left Google's public servers are the fallback as in
  Docker. On a user-defined network the only nameserver is berth's resolver at
  127.0.0.11 (with ``options ndots:0``), which forwards what it does not know.
- ``--link other:alias`` on the default bridge: ``<other's address> alias <id[:12]> other``
  lines, as Docker's legacy links (on user-defined networks links are names the
  resolver answers instead).
- ``--add-host NAME:host-gateway`` names the gateway of the container's first network
  (the host, as seen from the container).
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from berth import errdefs
from berth.linux.fs import atomic_write
from berth.network.dns import ADDRESS as RESOLVER_ADDRESS

__all__ = ["hosts_file", "resolv_conf", "write_host_files"]

_LOOPBACK = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
_IPV6_EXTRA = "fe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n"
_FALLBACK_DNS = ("8.8.8.8", "8.8.4.4")


def hosts_file(
    hostname: str,
    addresses: Sequence[str],
    extra_hosts: Sequence[str],
    host_gateway: str = "",
    links: Sequence[tuple[str, str]] = (),
) -> str:
    out = _LOOPBACK + _IPV6_EXTRA
    for ip, names in links:
        out += f"{ip}\t{names}\n"
    for entry in extra_hosts:
        host, sep, ip = entry.partition(":")
        if not sep or not host or not ip:
            # host=ip is the newer spelling
            host, sep, ip = entry.partition("=")
        if not sep or not host or not ip:
            raise errdefs.InvalidArgument(f"invalid argument \"{entry}\" for \"--add-host\" flag: bad format for add-host: \"{entry}\"")
        if ip == "host-gateway":
            if not host_gateway:
                raise errdefs.InvalidArgument(
                    f"add-host '{entry}': host-gateway needs a bridge network, and this container has none"
                )
            ip = host_gateway
        out += f"{ip}\t{host}\n"
    for addr in addresses:
        out += f"{addr}\t{hostname}\n"
    return out


def resolv_conf(
    host_text: str,
    dns: Sequence[str],
    search: Sequence[str],
    options: Sequence[str],
    own_netns: bool,
    embedded_dns: bool = False,
) -> str:
    nameservers: list[str] = []
    searches: list[str] = []
    opts: list[str] = []
    others: list[str] = []
    for line in host_text.splitlines():
        words = line.split()
        if not words or words[0].startswith(("#", ";")):
            continue
        if words[0] == "nameserver" and len(words) > 1:
            nameservers.append(words[1])
        elif words[0] in ("search", "domain"):
            searches = words[1:]
        elif words[0] == "options":
            opts += words[1:]
        else:
            others.append(line)
    if embedded_dns:
        # berth's resolver in the container's namespace answers, and forwards the rest
        # to --dns or the host's servers (berth.network.dns); ndots:0 as Docker
        nameservers = [RESOLVER_ADDRESS]
        opts = ["ndots:0", *(o for o in opts if not o.startswith("ndots:"))]
    elif dns:
        nameservers = list(dns)
    elif own_netns:
        nameservers = [n for n in nameservers if not (n.startswith("127.") or n == "::1")]
        if not nameservers:
            nameservers = list(_FALLBACK_DNS)
    if search:
        searches = [] if list(search) == ["."] else list(search)
    if options:
        opts = list(options)
    out = "".join(f"nameserver {n}\n" for n in nameservers)
    if searches:
        out += "search " + " ".join(searches) + "\n"
    if opts:
        out += "options " + " ".join(opts) + "\n"
    return out


def write_host_files(
    directory: str,
    *,
    hostname: str,
    addresses: Sequence[str],
    extra_hosts: Sequence[str],
    dns: Sequence[str],
    dns_search: Sequence[str],
    dns_options: Sequence[str],
    own_netns: bool,
    host_mode: bool,
    embedded_dns: bool = False,
    host_gateway: str = "",
    links: Sequence[tuple[str, str]] = (),
) -> tuple[str, str, str]:
    """Write ``hostname``, ``hosts`` and ``resolv.conf`` under ``directory``; their paths.
    With host networking the host's own /etc/hosts is the base, as in Docker."""
    paths = tuple(os.path.join(directory, n) for n in ("hostname", "hosts", "resolv.conf"))
    try:
        with open("/etc/resolv.conf") as f:
            host_resolv = f.read()
    except OSError:
        host_resolv = ""
    if host_mode:
        try:
            with open("/etc/hosts") as f:
                hosts = f.read()
        except OSError:
            hosts = _LOOPBACK
        if extra_hosts:
            hosts += hosts_file("", (), extra_hosts, host_gateway).removeprefix(_LOOPBACK + _IPV6_EXTRA)
    else:
        hosts = hosts_file(hostname, addresses, extra_hosts, host_gateway, links)
    atomic_write(paths[0], (hostname + "\n").encode())
    atomic_write(paths[1], hosts.encode())
    atomic_write(paths[2], resolv_conf(host_resolv, dns, dns_search, dns_options, own_netns, embedded_dns).encode())
    return paths[0], paths[1], paths[2]
