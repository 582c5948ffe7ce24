"""berth.network.conntrack's ctnetlink messages, without a kernel: the filtered dump
request, the parse of dump replies, and which entries a match names."""

from __future__ import annotations

import socket
import struct

import pytest

from berth.network import conntrack as ct
from berth.network.conntrack import Entry, Match


def attrs(data: bytes) -> dict[int, bytes]:
    """Top-level attributes of a payload: type -> payload (no nesting flag)."""
    out: dict[int, bytes] = {}
    at = 0
    while at + 4 <= len(data):
        length, kind = struct.unpack_from("=HH", data, at)
        out[kind & 0x3FFF] = data[at + 4 : at + length]
        at += length + (-length % 4)
    return out


def message_parts(msg: bytes) -> tuple[int, int, int, dict[int, bytes]]:
    """(type, flags, nfgen family, attributes) of one netlink message."""
    length, kind, flags, _seq, _pid = struct.unpack_from("=IHHII", msg)
    assert length == len(msg)
    return kind, flags, msg[16], attrs(msg[20:])


def tuple_attr(src: str, proto: int, sport: int, dport: int) -> bytes:
    ip = socket.inet_pton(socket.AF_INET6 if ":" in src else socket.AF_INET, src)
    kind = 3 if ":" in src else 1  # CTA_IP_V6_SRC / CTA_IP_V4_SRC
    ip_part = ct._attr(kind, ip) + ct._attr(kind + 1, b"\0" * len(ip))
    proto_part = ct._attr(1, bytes([proto])) + ct._attr(2, struct.pack("!H", sport)) + ct._attr(3, struct.pack("!H", dport))
    return ct._attr(1, ip_part, True) + ct._attr(2, proto_part, True)


def entry_message(family: int, orig: bytes, reply: bytes, zone: int | None, cid: int) -> bytes:
    body = ct._attr(1, orig, True) + ct._attr(2, reply, True) + ct._attr(3, struct.pack("!I", 0x8))  # status
    if zone is not None:
        body += ct._attr(18, struct.pack("!H", zone))
    body += ct._attr(12, struct.pack("!I", cid)) + ct._attr(7, struct.pack("!I", 120))  # id, timeout
    return ct._message(ct._CT_NEW, 2, 7, family, body)


def done() -> bytes:
    return struct.pack("=IHHII", 20, 3, 2, 7, 0) + struct.pack("=i", 0)


def test_dump_request_for_a_reply_source_filters_in_the_kernel() -> None:
    kind, flags, family, top = message_parts(ct.dump_request(Match(socket.AF_INET, reply=True, source="10.1.2.3"), seq=9))
    assert kind == (1 << 8 | 1) and flags == 0x1 | 0x300 and family == socket.AF_INET
    assert 1 not in top  # no original tuple
    ip = attrs(attrs(top[2])[1])
    assert ip == {1: socket.inet_aton("10.1.2.3")}
    filt = attrs(top[25])
    assert struct.unpack("=I", filt[1]) == (0,) and struct.unpack("=I", filt[2]) == (1,)


def test_dump_request_for_a_port_names_protocol_and_destination_port() -> None:
    _, _, family, top = message_parts(ct.dump_request(Match(socket.AF_INET6, proto=17, port=5353)))
    assert family == socket.AF_INET6
    proto = attrs(attrs(top[1])[2])
    assert proto == {1: b"\x11", 3: struct.pack("!H", 5353)}
    filt = attrs(top[25])
    assert struct.unpack("=I", filt[1]) == ((1 << 3) | (1 << 5),) and struct.unpack("=I", filt[2]) == (0,)


def test_dump_request_for_an_ipv6_source() -> None:
    _, _, family, top = message_parts(ct.dump_request(Match(socket.AF_INET6, source="fd00::2")))
    assert family == socket.AF_INET6
    assert attrs(attrs(top[1])[1]) == {3: socket.inet_pton(socket.AF_INET6, "fd00::2")}


def test_parse_entries_reads_tuples_and_keeps_the_delete_key() -> None:
    orig = tuple_attr("127.0.0.1", 6, 40000, 8080)
    reply = tuple_attr("10.213.0.2", 6, 80, 40000)
    data = entry_message(socket.AF_INET, orig, reply, 0, 42) + entry_message(socket.AF_INET6, tuple_attr("fd00::2", 17, 1, 53), tuple_attr("fd00::1", 17, 53, 1), None, 43) + done()
    got, finished = ct.parse_entries(data)
    assert finished
    assert [(e.family, e.orig, e.reply) for e in got] == [
        (socket.AF_INET, ("127.0.0.1", 6, 8080), ("10.213.0.2", 6, 40000)),
        (socket.AF_INET6, ("fd00::2", 17, 53), ("fd00::1", 17, 1)),
    ]
    # the key is the original tuple, zone and id exactly as dumped: no reply, status, timeout
    key = attrs(got[0].key)
    assert set(key) == {1, 18, 12}
    assert key[12] == struct.pack("!I", 42)
    assert set(attrs(got[1].key)) == {1, 12}


def test_parse_entries_without_done_asks_for_more_and_an_error_raises() -> None:
    one = entry_message(socket.AF_INET, tuple_attr("10.0.0.2", 6, 1, 2), tuple_attr("10.0.0.3", 6, 2, 1), 0, 1)
    got, finished = ct.parse_entries(one)
    assert len(got) == 1 and not finished
    err = struct.pack("=IHHII", 36, 2, 0, 1, 0) + struct.pack("=i", -95) + b"\0" * 16
    with pytest.raises(OSError) as exc:
        ct.parse_entries(err)
    assert exc.value.errno == 95


@pytest.mark.parametrize(
    ("m", "expected"),
    [
        (Match(socket.AF_INET, source="10.213.0.2"), False),  # the original source is the client
        (Match(socket.AF_INET, reply=True, source="10.213.0.2"), True),
        (Match(socket.AF_INET6, reply=True, source="10.213.0.2"), False),  # another family
        (Match(socket.AF_INET, proto=6, port=8080), True),
        (Match(socket.AF_INET, proto=17, port=8080), False),
        (Match(socket.AF_INET, proto=6, port=80), False),  # the reply's port does not count
        (Match(socket.AF_INET, source="127.0.0.1"), True),
    ],
)
def test_entry_matches(m: Match, expected: bool) -> None:
    e = Entry(socket.AF_INET, ("127.0.0.1", 6, 8080), ("10.213.0.2", 6, 40000), b"")
    assert e.matches(m) is expected


def test_forget_of_nothing_opens_no_socket(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*a: object) -> None:
        raise AssertionError("no socket wanted")

    monkeypatch.setattr(ct.socket, "socket", boom)
    assert ct.forget_addresses(["", ""]) == 0
    assert ct.forget([]) == 0
