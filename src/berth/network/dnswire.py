"""The DNS wire format, as much as berth's embedded resolver needs (RFC 1035 section 4).

A message is a 12-byte header (id, flags, four section counts), then questions (name,
type, class), then answer, authority and additional resource records (name, type, class,
TTL, data). Names are length-prefixed labels ending in a zero byte; to save space a name
may end in a two-byte pointer (top bits ``11``) to an earlier name in the message
(compression, 4.1.4) — a reader must follow pointers and refuse loops, a writer may use
them. The flags hold QR (reply), the opcode, AA, TC (truncated: retry over TCP), RD, RA,
CD and the response code (rcode). An OPT pseudo-record in the additional section (EDNS,
RFC 6891) carries, in its class field, the UDP payload size the client accepts.

Queries are parsed (:func:`parse_query`); replies are built (:func:`build_reply`,
:func:`header_reply`) with answers owned by the question's name through a pointer.
Forwarded messages are never re-encoded: berth relays upstream bytes as they are.
"""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "CLASS_ANY",
    "CLASS_IN",
    "FORMERR",
    "NOERROR",
    "NOTIMP",
    "NXDOMAIN",
    "REFUSED",
    "SERVFAIL",
    "TTL",
    "TYPE_A",
    "TYPE_AAAA",
    "TYPE_OPT",
    "TYPE_PTR",
    "MalformedMessage",
    "Query",
    "Question",
    "Record",
    "build_reply",
    "encode_name",
    "header_reply",
    "parse_query",
    "read_name",
    "reverse_address",
    "with_id",
]

TTL = 600  # Docker's respTTL

NOERROR, FORMERR, SERVFAIL, NXDOMAIN, NOTIMP, REFUSED = 0, 1, 2, 3, 4, 5
TYPE_A, TYPE_PTR, TYPE_AAAA, TYPE_OPT = 1, 12, 28, 41
CLASS_IN, CLASS_ANY = 1, 255

QR, AA, TC, RD, RA, CD = 0x8000, 0x0400, 0x0200, 0x0100, 0x0080, 0x0010
HEADER = struct.Struct("!HHHHHH")
UDP_MIN = 512
_MAX_NAME = 255


class MalformedMessage(ValueError):
    """The bytes are not a DNS message berth can read."""


@dataclass(frozen=True)
class Question:
    """One question: the name's labels as received (case kept), its type and class."""

    labels: tuple[bytes, ...]
    qtype: int
    qclass: int = CLASS_IN

    @property
    def name(self) -> str:
        """The name lowercased, without the trailing dot (``""`` for the root)."""
        return ".".join(label.decode("latin-1") for label in self.labels).lower()


@dataclass(frozen=True)
class Query:
    """A parsed query: the header fields, the questions and the EDNS payload size."""

    id: int
    flags: int
    questions: tuple[Question, ...]
    udp_size: int = UDP_MIN

    @property
    def opcode(self) -> int:
        return (self.flags >> 11) & 0xF

    @property
    def is_response(self) -> bool:
        return bool(self.flags & QR)


@dataclass(frozen=True)
class Record:
    """An answer record; its owner is the question's name (a compression pointer)."""

    rtype: int
    rdata: bytes
    ttl: int = TTL


def read_name(data: bytes, offset: int) -> tuple[tuple[bytes, ...], int]:
    """The labels of the name at ``offset`` and the offset just after it in the message,
    following compression pointers (RFC 1035 4.1.4), which must point backwards."""
    labels: list[bytes] = []
    total = 1
    end = -1
    pos = offset
    limit = offset  # a pointer must point before the previous one: no loops
    while True:
        if pos >= len(data):
            raise MalformedMessage(f"name at offset {offset} runs past the end of the message")
        length = data[pos]
        if length & 0xC0 == 0xC0:
            if pos + 1 >= len(data):
                raise MalformedMessage(f"compression pointer at offset {pos} is cut short")
            target = ((length & 0x3F) << 8) | data[pos + 1]
            if end < 0:
                end = pos + 2
            if target >= limit:
                raise MalformedMessage(
                    f"compression pointer at offset {pos} does not point backwards"
                )
            limit = pos = target
            continue
        if length & 0xC0:
            raise MalformedMessage(f"unknown label type {length >> 6} at offset {pos}")
        if length == 0:
            return tuple(labels), (end if end >= 0 else pos + 1)
        label = data[pos + 1 : pos + 1 + length]
        if len(label) != length:
            raise MalformedMessage(f"label at offset {pos} runs past the end of the message")
        total += length + 1
        if total > _MAX_NAME:
            raise MalformedMessage(f"name at offset {offset} is longer than {_MAX_NAME} bytes")
        labels.append(label)
        pos += 1 + length


def encode_name(name: str | Sequence[bytes]) -> bytes:
    """A name in wire format, uncompressed: ``"web.example"`` or labels."""
    if isinstance(name, str):
        text = name.rstrip(".")
        labels = [part.encode("ascii") for part in text.split(".")] if text else []
    else:
        labels = list(name)
    out = bytearray()
    for label in labels:
        if not 0 < len(label) < 64:
            raise ValueError(f"dns label {label!r} must be 1 to 63 bytes")
        out += bytes([len(label)]) + label
    out += b"\0"
    if len(out) > _MAX_NAME:
        raise ValueError(f"dns name {name!r} is longer than {_MAX_NAME} bytes")
    return bytes(out)


def _skip_record(data: bytes, offset: int) -> tuple[int, int, int]:
    """(type, class, offset after) of the resource record at ``offset``."""
    _, pos = read_name(data, offset)
    if pos + 10 > len(data):
        raise MalformedMessage(f"resource record at offset {offset} is cut short")
    rtype, rclass, _, rdlength = struct.unpack_from("!HHIH", data, pos)
    pos += 10 + rdlength
    if pos > len(data):
        raise MalformedMessage(
            f"resource record data at offset {offset} runs past the end of the message"
        )
    return rtype, rclass, pos


def parse_query(data: bytes) -> Query:
    """Header, questions and the EDNS payload size (from an OPT record) of a message."""
    if len(data) < HEADER.size:
        raise MalformedMessage(f"message of {len(data)} bytes is shorter than a header")
    qid, flags, qdcount, ancount, nscount, arcount = HEADER.unpack_from(data)
    pos = HEADER.size
    questions = []
    for _ in range(qdcount):
        labels, pos = read_name(data, pos)
        if pos + 4 > len(data):
            raise MalformedMessage("question is cut short")
        qtype, qclass = struct.unpack_from("!HH", data, pos)
        pos += 4
        questions.append(Question(labels, qtype, qclass))
    udp_size = UDP_MIN
    for i in range(ancount + nscount + arcount):
        rtype, rclass, pos = _skip_record(data, pos)
        if rtype == TYPE_OPT and i >= ancount + nscount:
            udp_size = max(UDP_MIN, rclass)
    return Query(qid, flags, tuple(questions), udp_size)


def _reply_flags(query_flags: int, rcode: int) -> int:
    return QR | (query_flags & (0xF << 11)) | (query_flags & (RD | CD)) | RA | (rcode & 0xF)


def header_reply(data: bytes, rcode: int) -> bytes:
    """A reply of only a header (no question), for a message read no further than its
    header: FORMERR, NOTIMP."""
    if len(data) < 4:
        raise MalformedMessage("message is shorter than an id and flags")
    qid, flags = struct.unpack_from("!HH", data)
    return HEADER.pack(qid, _reply_flags(flags, rcode), 0, 0, 0, 0)


def build_reply(
    query: Query, rcode: int = NOERROR, answers: Sequence[Record] = (), *, max_size: int = 0
) -> bytes:
    """A reply echoing the query's one question, with ``answers`` owned by its name.
    Past ``max_size`` bytes (0: no limit) the answers are left out and TC set."""
    q = query.questions[0]
    question = encode_name(q.labels) + struct.pack("!HH", q.qtype, q.qclass)
    body = bytearray()
    for rr in answers:
        # 0xC00C: a pointer to the question's name, right after the 12-byte header
        body += struct.pack("!HHHIH", 0xC00C, rr.rtype, CLASS_IN, rr.ttl, len(rr.rdata)) + rr.rdata
    flags = _reply_flags(query.flags, rcode)
    count = len(answers)
    if max_size and HEADER.size + len(question) + len(body) > max_size:
        flags |= TC
        body, count = bytearray(), 0
    return HEADER.pack(query.id, flags, 1, count, 0, 0) + question + bytes(body)


def reverse_address(name: str) -> str | None:
    """The address a PTR name stands for, or None when the name is not a whole address."""
    labels = name.split(".")
    if name.endswith(".in-addr.arpa") and len(labels) == 6:
        octets = labels[3::-1]
        if all(o.isdigit() and len(o) <= 3 and int(o) < 256 for o in octets):
            return ".".join(str(int(o)) for o in octets)
    if name.endswith(".ip6.arpa") and len(labels) == 34:
        nibbles = labels[31::-1]
        if all(len(n) == 1 and n in "0123456789abcdef" for n in nibbles):
            hexed = "".join(nibbles)
            return str(ipaddress.IPv6Address(int(hexed, 16)))
    return None


def with_id(message: bytes, qid: int) -> bytes:
    return struct.pack("!H", qid) + message[2:]
