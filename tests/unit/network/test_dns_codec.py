"""berth.network.dnswire: reading queries (compression pointers, EDNS, malformed bytes)
and building replies (answers, truncation, FORMERR/NOTIMP/SERVFAIL/NXDOMAIN shapes)."""

from __future__ import annotations

import socket
import struct

import pytest

from berth.network import dnswire as w


def _query(
    name: str = "web", qtype: int = w.TYPE_A, *, qid: int = 0x1234, flags: int = 0x0100
) -> bytes:
    return (
        struct.pack("!HHHHHH", qid, flags, 1, 0, 0, 0)
        + w.encode_name(name)
        + struct.pack("!HH", qtype, w.CLASS_IN)
    )


def _header(data: bytes) -> tuple[int, int, int, int, int, int]:
    return struct.unpack_from("!HHHHHH", data)  # type: ignore[return-value]


def test_parse_query_reads_header_and_question() -> None:
    q = w.parse_query(_query("Web.Example.", w.TYPE_AAAA, qid=7))
    assert q.id == 7
    assert q.opcode == 0 and not q.is_response
    assert len(q.questions) == 1
    assert q.questions[0].labels == (b"Web", b"Example")
    assert q.questions[0].name == "web.example"
    assert q.questions[0].qtype == w.TYPE_AAAA
    assert q.udp_size == 512


def test_encode_name_and_read_name_round_trip() -> None:
    data = w.encode_name("a.bb.ccc")
    assert data == b"\x01a\x02bb\x03ccc\x00"
    assert w.read_name(data, 0) == ((b"a", b"bb", b"ccc"), len(data))
    assert w.encode_name("") == b"\x00"
    assert w.encode_name("x.") == b"\x01x\x00"
    assert w.read_name(b"\x00", 0) == ((), 1)


def test_encode_name_refuses_bad_labels() -> None:
    with pytest.raises(ValueError):
        w.encode_name("a..b")
    with pytest.raises(ValueError):
        w.encode_name("x" * 64)
    with pytest.raises(ValueError):
        w.encode_name(".".join(["x" * 63] * 5))


def test_read_name_follows_compression_pointers() -> None:
    # offset 0: "example.com"; offset 13: "www" + pointer to 0; offset 19: pointer to 13
    msg = w.encode_name("example.com") + b"\x03www\xc0\x00" + b"\xc0\x0d"
    assert w.read_name(msg, 13) == ((b"www", b"example", b"com"), 19)
    assert w.read_name(msg, 19) == ((b"www", b"example", b"com"), 21)


def test_question_with_compressed_name_is_parsed() -> None:
    # a question whose name points at itself past the header is a loop; one that points
    # back into an earlier question is fine
    first = w.encode_name("svc.local") + struct.pack("!HH", 1, 1)
    second = b"\x03api\xc0\x0c" + struct.pack("!HH", 28, 1)
    msg = struct.pack("!HHHHHH", 1, 0x0100, 2, 0, 0, 0) + first + second
    q = w.parse_query(msg)
    assert [x.name for x in q.questions] == ["svc.local", "api.svc.local"]
    assert [x.qtype for x in q.questions] == [1, 28]


@pytest.mark.parametrize(
    "raw",
    [
        b"\xc0\x00",  # points at itself
        b"\x01a\xc0\x02",  # points forward (at itself)
        b"\x01a\xc0",  # pointer cut short
        b"\x05ab",  # label runs past the end
        b"\x01a",  # no terminating zero
        b"\x41abc\x00",  # label type 01 (extended labels) is not supported
    ],
)
def test_read_name_refuses_malformed_names(raw: bytes) -> None:
    with pytest.raises(w.MalformedMessage):
        w.read_name(raw, 0)


def test_read_name_refuses_pointer_loops() -> None:
    # offset 0: "a" then pointer to 4; offset 4: pointer to 0 — a loop through two pointers
    with pytest.raises(w.MalformedMessage):
        w.read_name(b"\x01a\xc0\x04\xc0\x00", 4)


def test_read_name_refuses_overlong_names() -> None:
    raw = b"".join(b"\x3f" + b"x" * 63 for _ in range(5)) + b"\x00"
    with pytest.raises(w.MalformedMessage, match="longer than 255"):
        w.read_name(raw, 0)


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\x12\x34\x01\x00\x00\x01",  # short header
        _query()[:-2],  # question cut short
        struct.pack("!HHHHHH", 1, 0x0100, 1, 0, 0, 0),  # qdcount 1, no question
        _query()[:4] + b"\x00\x01\x00\x00\x00\x00\x00\x01" + _query()[12:],  # arcount 1, none
    ],
)
def test_parse_query_refuses_malformed_messages(raw: bytes) -> None:
    with pytest.raises(w.MalformedMessage):
        w.parse_query(raw)


def test_parse_query_reads_edns_payload_size() -> None:
    base = bytearray(_query())
    struct.pack_into("!H", base, 10, 1)  # arcount 1
    opt = b"\x00" + struct.pack("!HHIH", w.TYPE_OPT, 1232, 0, 0)
    q = w.parse_query(bytes(base) + opt)
    assert q.udp_size == 1232
    small = b"\x00" + struct.pack("!HHIH", w.TYPE_OPT, 100, 0, 0)
    assert w.parse_query(bytes(base) + small).udp_size == 512


def test_build_reply_with_answers() -> None:
    q = w.parse_query(_query("Web", qid=0xBEEF, flags=0x0110))  # RD and CD
    addrs = [socket.inet_aton("10.0.0.2"), socket.inet_aton("10.0.0.3")]
    reply = w.build_reply(q, w.NOERROR, [w.Record(w.TYPE_A, a) for a in addrs])
    qid, flags, qd, an, ns, ar = _header(reply)
    assert (qid, qd, an, ns, ar) == (0xBEEF, 1, 2, 0, 0)
    assert flags & 0x8000  # QR
    assert flags & 0x0100 and flags & 0x0010  # RD, CD copied
    assert flags & 0x0080  # RA
    assert not flags & 0x0400  # not authoritative, as Docker
    assert flags & 0xF == w.NOERROR
    labels, pos = w.read_name(reply, 12)
    assert labels == (b"Web",)  # the question echoed as asked
    assert struct.unpack_from("!HH", reply, pos) == (w.TYPE_A, w.CLASS_IN)
    pos += 4
    got = []
    for _ in range(an):
        owner, pos = w.read_name(reply, pos)
        assert owner == (b"Web",)
        rtype, rclass, ttl, rdlen = struct.unpack_from("!HHIH", reply, pos)
        assert (rtype, rclass, ttl, rdlen) == (w.TYPE_A, 1, 600, 4)
        got.append(reply[pos + 10 : pos + 14])
        pos += 14
    assert got == addrs and pos == len(reply)


def test_build_reply_truncates_past_max_size() -> None:
    q = w.parse_query(_query("many"))
    records = [w.Record(w.TYPE_A, bytes([10, 0, i // 256, i % 256])) for i in range(40)]
    full = w.build_reply(q, w.NOERROR, records)
    assert len(full) > 512 and _header(full)[3] == 40
    cut = w.build_reply(q, w.NOERROR, records, max_size=512)
    _, flags, qd, an, _, _ = _header(cut)
    assert flags & 0x0200  # TC: retry over TCP
    assert (qd, an) == (1, 0)
    assert not _header(w.build_reply(q, w.NOERROR, records[:2], max_size=512))[1] & 0x0200


@pytest.mark.parametrize("rcode", [w.SERVFAIL, w.NXDOMAIN, w.REFUSED])
def test_error_replies_echo_the_question(rcode: int) -> None:
    q = w.parse_query(_query("nope.example", w.TYPE_AAAA, qid=99))
    reply = w.build_reply(q, rcode)
    qid, flags, qd, an, ns, ar = _header(reply)
    assert (qid, qd, an, ns, ar) == (99, 1, 0, 0, 0)
    assert flags & 0x8000 and flags & 0xF == rcode
    assert w.parse_query(reply).questions == q.questions


def test_header_reply_formerr_and_notimp_have_no_question() -> None:
    two = struct.pack("!HHHHHH", 5, 0x0100, 2, 0, 0, 0)
    reply = w.header_reply(two, w.FORMERR)
    assert reply == struct.pack("!HHHHHH", 5, 0x8000 | 0x0100 | 0x0080 | w.FORMERR, 0, 0, 0, 0)
    notify = _query(flags=(4 << 11))  # opcode NOTIFY
    reply = w.header_reply(notify, w.NOTIMP)
    _, flags, qd, *_ = _header(reply)
    assert (flags >> 11) & 0xF == 4 and flags & 0xF == w.NOTIMP and qd == 0
    with pytest.raises(w.MalformedMessage):
        w.header_reply(b"\x00", w.FORMERR)


def test_reverse_address() -> None:
    assert w.reverse_address("2.0.18.172.in-addr.arpa") == "172.18.0.2"
    assert w.reverse_address("0.18.172.in-addr.arpa") is None  # a network, not an address
    assert w.reverse_address("300.0.18.172.in-addr.arpa") is None
    assert w.reverse_address("x.0.18.172.in-addr.arpa") is None
    v6 = "1.0.0.0." + "0." * 20 + "8.b.d.0.1.0.0.2.ip6.arpa"
    assert w.reverse_address(v6) == "2001:db8::1"
    assert w.reverse_address("1.ip6.arpa") is None
    assert w.reverse_address("web") is None


def test_with_id_replaces_only_the_id() -> None:
    data = _query(qid=1)
    assert w.with_id(data, 0xABCD) == b"\xab\xcd" + data[2:]
