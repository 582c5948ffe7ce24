"""Forgetting connection-tracking entries that would outlive what they point at
(ctnetlink over a raw netlink socket).

**A released address.** When a container leaves a network its address goes back to the
pool, but the host's conntrack table still holds its flows: TCP ones sit in TIME_WAIT
for two minutes, UDP ones live as long as traffic keeps them warm. Two things go wrong:

- a UDP flow to a published port keeps its DNAT to the old address, so a client that
  keeps sending never reaches the container that replaced it (Docker flushes a released
  address's entries for this reason);
- stale TCP entries hold reply tuples (container:port → client:port) that the next
  owner's flows may want. Then conntrack remaps the new flows' source ports, and a
  remapped flow lands on a 4-tuple the container saw from *another* client socket; Linux
  draws TCP timestamp offsets per connection, so the container's TIME_WAIT socket on
  that 4-tuple refuses the SYN (PAWS) and the client waits a second to retry. Measured
  when the host's loopback flows were all SNAT'd to one address
  (:func:`berth.network.nft.loopback_source` now gives each host port its own): a second
  ``bench/port_publish`` run against a container on a reused address fell from 10 000
  to 660 requests/s.

:func:`forget_addresses` deletes every entry whose original source or reply source is
one of the addresses: the flows the container started, and the flows to it (direct or
DNAT'd: the reply comes from the container either way).

**A newly published UDP port.** Datagrams a client sent to a host port before it was
published were delivered locally (or refused), and that flow's entry — NAT is decided on
a flow's first packet only — keeps them away from the container for as long as the
client keeps sending. :func:`forget_ports` deletes the entries to the port.

The kernel filters each dump (``CTA_FILTER``, Linux ≥ 5.8) and every entry is checked
again here, so a kernel that ignored the filter costs time, never a foreign flow; each
match is deleted by its own original tuple, zone and id as the dump gave them, all in
one send. A dump walks the whole conntrack hash table: a few ms each, even when nothing
matches, so callers keep this off their hot paths.
"""

from __future__ import annotations

import errno
import ipaddress
import os
import socket
import struct
from collections.abc import Iterable, Iterator
from typing import NamedTuple

from berth import errdefs

__all__ = ["Entry", "Match", "dump_request", "forget", "forget_addresses", "forget_ports", "parse_entries"]

_NETLINK_NETFILTER = 12
_NFNL_SUBSYS_CTNETLINK = 1
_CT_NEW = _NFNL_SUBSYS_CTNETLINK << 8 | 0  # what a dump's entries come as
_CT_GET = _NFNL_SUBSYS_CTNETLINK << 8 | 1
_CT_DELETE = _NFNL_SUBSYS_CTNETLINK << 8 | 2
_NLM_F_REQUEST = 0x1
_NLM_F_DUMP = 0x300
_NLMSG_ERROR = 2
_NLMSG_DONE = 3
_NLA_F_NESTED = 0x8000
_NLA_TYPE_MASK = 0x3FFF

_CTA_TUPLE_ORIG = 1
_CTA_TUPLE_REPLY = 2
_CTA_ID = 12
_CTA_ZONE = 18
_CTA_FILTER = 25
_CTA_TUPLE_IP = 1
_CTA_TUPLE_PROTO = 2
_CTA_IP_V4_SRC = 1
_CTA_IP_V6_SRC = 3
_CTA_PROTO_NUM = 1
_CTA_PROTO_DST_PORT = 3
_CTA_FILTER_ORIG_FLAGS = 1
_CTA_FILTER_REPLY_FLAGS = 2
_FILTER_IP_SRC = 1 << 0
_FILTER_PROTO_NUM = 1 << 3
_FILTER_DST_PORT = 1 << 5

_HDR = struct.Struct("=IHHII")  # nlmsghdr
_NFGEN = struct.Struct("=BBH")  # nfgenmsg: family, version, res_id (big-endian, 0)
_SEND_CHUNK = 1 << 16
_FAMILIES = (socket.AF_INET, socket.AF_INET6)


class Match(NamedTuple):
    """Entries to forget: those whose original (``reply``: reply) tuple has ``source`` as
    its source address, or ``proto`` and destination port ``port``."""

    family: int
    reply: bool = False
    source: str = ""
    proto: int = 0
    port: int = 0


class Entry(NamedTuple):
    family: int
    orig: tuple[str, int, int]  # the original tuple's (source address, protocol, destination port)
    reply: tuple[str, int, int]
    key: bytes  # what names it for a delete: the original tuple, zone and id, as dumped

    def matches(self, m: Match) -> bool:
        src, proto, port = self.reply if m.reply else self.orig
        if self.family != m.family:
            return False
        if m.source and (not src or ipaddress.ip_address(src) != ipaddress.ip_address(m.source)):
            return False
        return not m.proto or (proto == m.proto and port == m.port)


def _attr(kind: int, payload: bytes, nested: bool = False) -> bytes:
    head = struct.pack("=HH", 4 + len(payload), kind | (_NLA_F_NESTED if nested else 0))
    return head + payload + b"\0" * (-len(payload) % 4)


def _message(kind: int, flags: int, seq: int, family: int, attrs: bytes) -> bytes:
    body = _NFGEN.pack(family, 0, 0) + attrs
    return _HDR.pack(_HDR.size + len(body), kind, flags, seq, 0) + body


def dump_request(m: Match, seq: int = 1) -> bytes:
    """A dump of the entries ``m`` names, filtered by the kernel."""
    parts, flags = b"", 0
    if m.source:
        ip = ipaddress.ip_address(m.source)
        src = _CTA_IP_V4_SRC if ip.version == 4 else _CTA_IP_V6_SRC
        parts += _attr(_CTA_TUPLE_IP, _attr(src, ip.packed), True)
        flags |= _FILTER_IP_SRC
    if m.proto:
        proto = _attr(_CTA_PROTO_NUM, bytes([m.proto])) + _attr(_CTA_PROTO_DST_PORT, struct.pack("!H", m.port))
        parts += _attr(_CTA_TUPLE_PROTO, proto, True)
        flags |= _FILTER_PROTO_NUM | _FILTER_DST_PORT
    tuple_attr = _attr(_CTA_TUPLE_REPLY if m.reply else _CTA_TUPLE_ORIG, parts, True)
    on, off = struct.pack("=I", flags), struct.pack("=I", 0)
    filt = _attr(
        _CTA_FILTER,
        _attr(_CTA_FILTER_ORIG_FLAGS, off if m.reply else on) + _attr(_CTA_FILTER_REPLY_FLAGS, on if m.reply else off),
        True,
    )
    return _message(_CT_GET, _NLM_F_REQUEST | _NLM_F_DUMP, seq, m.family, tuple_attr + filt)


def _attrs(data: bytes, start: int, end: int) -> Iterator[tuple[int, int, int]]:
    """(type, start, end) of each attribute in data[start:end]; start and end span the
    whole attribute, header and padding included."""
    while start + 4 <= end:
        length, kind = struct.unpack_from("=HH", data, start)
        if length < 4:
            return
        stop = min(end, start + length + (-length % 4))
        yield kind & _NLA_TYPE_MASK, start, stop
        start = stop


def _tuple(data: bytes, start: int, end: int) -> tuple[str, int, int]:
    """(source address, protocol, destination port) of a tuple attribute data[start:end]."""
    src, proto, port = "", 0, 0
    for t, s, e in _attrs(data, start + 4, end):
        if t == _CTA_TUPLE_IP:
            for a, s2, _ in _attrs(data, s + 4, e):
                if a == _CTA_IP_V4_SRC:
                    src = str(ipaddress.IPv4Address(data[s2 + 4 : s2 + 8]))
                elif a == _CTA_IP_V6_SRC:
                    src = str(ipaddress.IPv6Address(data[s2 + 4 : s2 + 20]))
        elif t == _CTA_TUPLE_PROTO:
            for a, s2, _ in _attrs(data, s + 4, e):
                if a == _CTA_PROTO_NUM:
                    proto = data[s2 + 4]
                elif a == _CTA_PROTO_DST_PORT:
                    (port,) = struct.unpack_from("!H", data, s2 + 4)
    return src, proto, port


def parse_entries(data: bytes) -> tuple[list[Entry], bool]:
    """The entries in a buffer of dump replies, and whether the dump ended. A netlink
    error raises ``OSError``."""
    out: list[Entry] = []
    at = 0
    while at + _HDR.size <= len(data):
        length, kind, _flags, _seq, _pid = _HDR.unpack_from(data, at)
        if length < _HDR.size:
            break
        end = min(len(data), at + length)
        if kind == _NLMSG_DONE:
            return out, True
        if kind == _NLMSG_ERROR:
            (code,) = struct.unpack_from("=i", data, at + _HDR.size)
            if code:
                raise OSError(-code, os.strerror(-code))
        elif kind in (_CT_NEW, _CT_GET):
            key, orig, reply = b"", ("", 0, 0), ("", 0, 0)
            for t, s, e in _attrs(data, at + _HDR.size + _NFGEN.size, end):
                if t in (_CTA_TUPLE_ORIG, _CTA_ZONE, _CTA_ID):
                    key += data[s:e]
                if t == _CTA_TUPLE_ORIG:
                    orig = _tuple(data, s, e)
                elif t == _CTA_TUPLE_REPLY:
                    reply = _tuple(data, s, e)
            out.append(Entry(data[at + _HDR.size], orig, reply, key))
        at += length + (-length % 4)
    return out, False


def _dump(sock: socket.socket, request: bytes) -> list[Entry]:
    sock.send(request)
    found: list[Entry] = []
    while True:
        entries, done = parse_entries(sock.recv(1 << 17))
        found += entries
        if done:
            return found


def forget(matches: Iterable[Match]) -> int:
    """Delete the entries any of ``matches`` names, in the calling thread's network
    namespace; how many. An entry that ends by itself meanwhile is no error, nor is a
    kernel without ctnetlink (it has nothing to forget); a refused request is."""
    wanted = list(matches)
    if not wanted:
        return 0
    try:
        sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, _NETLINK_NETFILTER)
    except OSError as exc:
        if exc.errno in (errno.EPROTONOSUPPORT, errno.EAFNOSUPPORT):
            return 0
        raise errdefs.from_oserror("open the conntrack netlink socket", exc) from exc
    try:
        sock.bind((0, 0))
        doomed: dict[bytes, int] = {}  # key -> family
        seq = 1
        for m in wanted:
            try:
                found = _dump(sock, dump_request(m, seq))
            except OSError as exc:
                if exc.errno == errno.ENOENT:  # nf_conntrack_netlink missing: nothing tracked
                    return 0
                raise errdefs.from_oserror(f"list conntrack entries ({_describe(m)})", exc) from exc
            seq += 1
            doomed.update((e.key, e.family) for e in found if e.matches(m))
        batch = b""
        for key, family in doomed.items():
            batch += _message(_CT_DELETE, _NLM_F_REQUEST, seq, family, key)
            seq += 1
            if len(batch) >= _SEND_CHUNK:
                sock.send(batch)  # the kernel handles every message before send returns
                batch = b""
        if batch:
            sock.send(batch)
        return len(doomed)  # (errors, e.g. an entry gone already, are left unread)
    except OSError as exc:
        raise errdefs.from_oserror("delete conntrack entries", exc) from exc
    finally:
        sock.close()


def _describe(m: Match) -> str:
    where = "reply" if m.reply else "original"
    what = [f"source {m.source}"] if m.source else []
    if m.proto:
        what.append(f"protocol {m.proto} port {m.port}")
    return f"{where} {' '.join(what)}"


def forget_addresses(addresses: Iterable[str]) -> int:
    """Forget the flows from and to each of ``addresses``."""
    out: list[Match] = []
    for a in addresses:
        if a:
            family = socket.AF_INET if ipaddress.ip_address(a).version == 4 else socket.AF_INET6
            out += [Match(family, reply=False, source=a), Match(family, reply=True, source=a)]
    return forget(out)


def forget_ports(proto: int, ports: Iterable[int]) -> int:
    """Forget the flows whose original destination is ``ports`` (``proto``: an IP
    protocol number, e.g. ``socket.IPPROTO_UDP``), on any address."""
    return forget(Match(f, proto=proto, port=p) for p in sorted(set(ports)) for f in _FAMILIES)
