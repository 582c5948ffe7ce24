"""berth.network.dns: the resolver on 127.0.0.11:53 inside real network namespaces.

Queries are sent from a thread that joins the test's namespace (or by busybox nslookup
run there); upstream servers are fakes on 127.0.0.1 in the host's namespace. No traffic
leaves 127.0.0.0/8 or the namespaces the tests make."""

from __future__ import annotations

import contextlib
import random
import socket
import struct
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from berth import errdefs
from berth.network import dnswire as w
from berth.network import netns
from berth.network.dns import Resolver
from berth.testing.netns import in_netns

pytestmark = pytest.mark.root


HOSTS = {
    ("k", "web"): {w.TYPE_A: ["10.1.0.2", "10.1.0.3"], w.TYPE_AAAA: ["fd00::2"]},
    ("k", "db"): {w.TYPE_A: ["10.1.0.4"], w.TYPE_AAAA: []},
    ("k2", "web"): {w.TYPE_A: ["10.2.0.9"], w.TYPE_AAAA: []},
}
PTRS = {("k", "10.1.0.2"): "web.net1", ("k", "fd00::2"): "web.net1"}


def lookup(key: str, name: str, qtype: int) -> list[str] | None:
    entry = HOSTS.get((key, name))
    return None if entry is None else list(entry[qtype])


def reverse(key: str, address: str) -> str | None:
    return PTRS.get((key, address))


def query(name: str, qtype: int = w.TYPE_A, *, qid: int | None = None, count: int = 1) -> bytes:
    qid = random.getrandbits(16) if qid is None else qid
    question = w.encode_name(name) + struct.pack("!HH", qtype, w.CLASS_IN)
    return struct.pack("!HHHHHH", qid, 0x0100, count, 0, 0, 0) + question * count


def udp(path: str, message: bytes, timeout: float = 3.0) -> bytes:
    def work() -> bytes:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(timeout)
            s.connect(("127.0.0.11", 53))
            s.send(message)
            return s.recv(65535)

    return in_netns(path, work)


def recv_exact(s: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("closed")
        buf += chunk
    return buf


def tcp(path: str, *messages: bytes) -> list[bytes]:
    """All messages sent at once on one connection (pipelined), then their replies."""

    def work() -> list[bytes]:
        with socket.create_connection(("127.0.0.11", 53), timeout=5) as s:
            s.sendall(b"".join(struct.pack("!H", len(m)) + m for m in messages))
            replies = []
            for _ in messages:
                (n,) = struct.unpack("!H", recv_exact(s, 2))
                replies.append(recv_exact(s, n))
            return replies

    return in_netns(path, work)


@dataclass
class Answer:
    id: int
    flags: int
    rcode: int
    question: w.Question
    records: list[tuple[int, int, bytes, int]]  # type, ttl, rdata, rdata offset


def parse_reply(reply: bytes) -> Answer:
    qid, flags, qd, an, _, _ = struct.unpack_from("!HHHHHH", reply)
    assert qd == 1
    labels, pos = w.read_name(reply, 12)
    qtype, qclass = struct.unpack_from("!HH", reply, pos)
    pos += 4
    records = []
    for _ in range(an):
        _, pos = w.read_name(reply, pos)
        rtype, _, ttl, rdlen = struct.unpack_from("!HHIH", reply, pos)
        records.append((rtype, ttl, reply[pos + 10 : pos + 10 + rdlen], pos + 10))
        pos += 10 + rdlen
    return Answer(qid, flags, flags & 0xF, w.Question(labels, qtype, qclass), records)


@dataclass
class FakeUpstream:
    """A DNS server on 127.0.0.1 (UDP and TCP, same port) answering every A query with
    192.0.2.7, or with ``rcode``; ``truncate`` sets TC on its UDP replies (no answers)."""

    rcode: int = w.NOERROR
    truncate: bool = False
    silent: bool = False
    seen: list[tuple[str, bytes]] = field(default_factory=list)
    sent: list[bytes] = field(default_factory=list)
    port: int = 0

    def __post_init__(self) -> None:
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", 0))
        self.port = self.udp.getsockname()[1]
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.tcp.bind(("127.0.0.1", self.port))
        self.tcp.listen(8)
        self.udp.settimeout(0.2)
        self.tcp.settimeout(0.2)
        self.stop = False
        self.threads = [
            threading.Thread(target=self._serve_udp),
            threading.Thread(target=self._serve_tcp),
        ]
        for t in self.threads:
            t.start()

    @property
    def spec(self) -> str:
        return f"127.0.0.1:{self.port}"

    def reply_to(self, data: bytes, over_tcp: bool) -> bytes:
        q = w.parse_query(data)
        answers = [w.Record(w.TYPE_A, socket.inet_aton("192.0.2.7"), ttl=42)]
        if self.rcode != w.NOERROR:
            reply = w.build_reply(q, self.rcode)
        elif self.truncate and not over_tcp:
            reply = w.build_reply(q, w.NOERROR, answers, max_size=1)
        else:
            reply = w.build_reply(q, w.NOERROR, answers)
        self.sent.append(reply)
        return reply

    def _serve_udp(self) -> None:
        while not self.stop:
            try:
                data, addr = self.udp.recvfrom(65535)
            except TimeoutError:
                continue
            self.seen.append(("udp", data))
            if not self.silent:
                self.udp.sendto(self.reply_to(data, False), addr)

    def _serve_tcp(self) -> None:
        while not self.stop:
            try:
                conn, _ = self.tcp.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(2)
                with contextlib.suppress(OSError):
                    (n,) = struct.unpack("!H", recv_exact(conn, 2))
                    data = recv_exact(conn, n)
                    self.seen.append(("tcp", data))
                    reply = self.reply_to(data, True)
                    conn.sendall(struct.pack("!H", len(reply)) + reply)

    def close(self) -> None:
        self.stop = True
        for t in self.threads:
            t.join()
        self.udp.close()
        self.tcp.close()


@pytest.fixture
def ns(tmp_path: Any) -> Iterator[str]:
    path = str(tmp_path / "netns" / "dns1")
    netns.create(path)
    try:
        yield path
    finally:
        netns.remove(path)


@pytest.fixture
def upstream() -> Iterator[FakeUpstream]:
    fake = FakeUpstream()
    try:
        yield fake
    finally:
        fake.close()


@pytest.fixture
def servers() -> list[str]:
    """The upstreams every key gets; tests fill it."""
    return []


@pytest.fixture
def resolver(ns: str, servers: list[str]) -> Iterator[Resolver]:
    r = Resolver(lookup, reverse, lambda key: list(servers), timeout=0.5)
    try:
        r.add("k", ns)
        yield r
    finally:
        r.close()
    assert not [t for t in threading.enumerate() if t.name.startswith("dns-")]


def test_known_name_over_udp(resolver: Resolver, ns: str) -> None:
    a = parse_reply(udp(ns, query("WeB", qid=0x4242)))
    assert a.id == 0x4242 and a.rcode == w.NOERROR
    assert a.flags & 0x8000 and a.flags & 0x0080 and a.flags & 0x0100  # QR, RA, RD copied
    assert a.question.labels == (b"WeB",)
    assert sorted(socket.inet_ntoa(r[2]) for r in a.records) == ["10.1.0.2", "10.1.0.3"]
    assert {(r[0], r[1]) for r in a.records} == {(w.TYPE_A, 600)}
    six = parse_reply(udp(ns, query("web.", w.TYPE_AAAA)))
    assert [socket.inet_ntop(socket.AF_INET6, r[2]) for r in six.records] == ["fd00::2"]


def test_known_name_over_tcp_pipelined(resolver: Resolver, ns: str) -> None:
    replies = tcp(ns, query("web", qid=1), query("db", qid=2), query("db", w.TYPE_AAAA, qid=3))
    got = [parse_reply(r) for r in replies]
    assert [a.id for a in got] == [1, 2, 3]
    assert len(got[0].records) == 2
    assert [socket.inet_ntoa(r[2]) for r in got[1].records] == ["10.1.0.4"]
    assert got[2].rcode == w.NOERROR and got[2].records == []


def test_known_name_without_address_of_the_type_is_not_forwarded(
    resolver: Resolver, ns: str, upstream: FakeUpstream, servers: list[str]
) -> None:
    servers.append(upstream.spec)
    a = parse_reply(udp(ns, query("db", w.TYPE_AAAA)))
    assert a.rcode == w.NOERROR and a.records == []
    assert upstream.seen == []


def test_ptr_for_a_known_address(resolver: Resolver, ns: str) -> None:
    reply = udp(ns, query("2.0.1.10.in-addr.arpa", w.TYPE_PTR))
    a = parse_reply(reply)
    assert a.rcode == w.NOERROR and len(a.records) == 1
    rtype, ttl, _, offset = a.records[0]
    assert (rtype, ttl) == (w.TYPE_PTR, 600)
    assert w.read_name(reply, offset)[0] == (b"web", b"net1")
    v6 = ".".join(reversed("fd00" + "0" * 27 + "2")) + ".ip6.arpa"
    reply = udp(ns, query(v6, w.TYPE_PTR))
    assert w.read_name(reply, parse_reply(reply).records[0][3])[0] == (b"web", b"net1")


def test_unknown_name_is_forwarded_and_relayed(
    resolver: Resolver, ns: str, upstream: FakeUpstream, servers: list[str]
) -> None:
    servers.append(upstream.spec)
    reply = udp(ns, query("example.test", qid=0x1111))
    assert [proto for proto, _ in upstream.seen] == ["udp"]
    forwarded = upstream.seen[0][1]
    assert forwarded[2:] == query("example.test", qid=0)[2:]  # the bytes as sent, but the id
    assert reply == b"\x11\x11" + upstream.sent[0][2:]  # relayed unchanged but the id
    a = parse_reply(reply)
    assert [(r[1], socket.inet_ntoa(r[2])) for r in a.records] == [(42, "192.0.2.7")]


def test_other_types_are_forwarded(
    resolver: Resolver, ns: str, upstream: FakeUpstream, servers: list[str]
) -> None:
    servers.append(upstream.spec)
    udp(ns, query("web", 16))  # TXT for a known name: not berth's to answer
    udp(ns, query("9.9.9.10.in-addr.arpa", w.TYPE_PTR))  # an address berth does not know
    names = [w.parse_query(d).questions[0] for _, d in upstream.seen]
    assert [(q.name, q.qtype) for q in names] == [("web", 16), ("9.9.9.10.in-addr.arpa", 12)]


def test_truncated_upstream_reply_is_retried_over_tcp(
    resolver: Resolver, ns: str, upstream: FakeUpstream, servers: list[str]
) -> None:
    upstream.truncate = True
    servers.append(upstream.spec)
    a = parse_reply(udp(ns, query("big.test")))
    assert [proto for proto, _ in upstream.seen] == ["udp", "tcp"]
    assert not a.flags & 0x0200
    assert [socket.inet_ntoa(r[2]) for r in a.records] == ["192.0.2.7"]


def test_tcp_query_is_forwarded_over_tcp(
    resolver: Resolver, ns: str, upstream: FakeUpstream, servers: list[str]
) -> None:
    servers.append(upstream.spec)
    (reply,) = tcp(ns, query("example.test", qid=5))
    assert [proto for proto, _ in upstream.seen] == ["tcp"]
    assert parse_reply(reply).id == 5 and len(parse_reply(reply).records) == 1


def test_upstreams_are_tried_in_order(resolver: Resolver, ns: str, servers: list[str]) -> None:
    failing, silent, good = (
        FakeUpstream(rcode=w.SERVFAIL),
        FakeUpstream(silent=True),
        FakeUpstream(),
    )
    try:
        servers.extend([failing.spec, silent.spec, good.spec])
        a = parse_reply(udp(ns, query("example.test")))
        assert a.rcode == w.NOERROR and len(a.records) == 1
        assert len(failing.seen) == len(silent.seen) == len(good.seen) == 1
    finally:
        for f in (failing, silent, good):
            f.close()


def test_upstream_nxdomain_is_relayed(
    resolver: Resolver, ns: str, upstream: FakeUpstream, servers: list[str]
) -> None:
    upstream.rcode = w.NXDOMAIN
    servers.extend([upstream.spec, upstream.spec])
    assert parse_reply(udp(ns, query("nope.test"))).rcode == w.NXDOMAIN
    assert len(upstream.seen) == 1  # NXDOMAIN is an answer: the next one is not asked


def test_servfail_without_upstreams(resolver: Resolver, ns: str) -> None:
    a = parse_reply(udp(ns, query("nope.test")))
    assert a.rcode == w.SERVFAIL and a.question.labels == (b"nope", b"test")


def test_servfail_when_no_upstream_answers(
    resolver: Resolver, ns: str, upstream: FakeUpstream, servers: list[str]
) -> None:
    upstream.silent = True
    servers.append(upstream.spec)
    assert parse_reply(udp(ns, query("nope.test"))).rcode == w.SERVFAIL
    upstream.silent, upstream.rcode = False, w.REFUSED
    assert parse_reply(udp(ns, query("nope.test"))).rcode == w.SERVFAIL


def test_several_questions_get_formerr(resolver: Resolver, ns: str) -> None:
    reply = udp(ns, query("web", qid=77, count=2))
    qid, flags, qd, an, _, _ = struct.unpack_from("!HHHHHH", reply)
    assert (qid, flags & 0xF, qd, an) == (77, w.FORMERR, 0, 0)


def test_malformed_queries_are_dropped_and_serving_goes_on(resolver: Resolver, ns: str) -> None:
    with pytest.raises(TimeoutError):
        udp(ns, b"\x00\x01\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\xc0\x0c", timeout=0.5)

    def garbage_over_tcp() -> bytes:
        with socket.create_connection(("127.0.0.11", 53), timeout=3) as s:
            s.sendall(b"\x00\x03abc")
            return s.recv(10)

    assert in_netns(ns, garbage_over_tcp) == b""  # closed
    assert parse_reply(udp(ns, query("web"))).rcode == w.NOERROR


def test_remove_stops_answering(resolver: Resolver, ns: str) -> None:
    assert resolver.keys() == ["k"]
    resolver.remove("k")
    resolver.remove("k")  # missing: fine
    assert resolver.keys() == []
    with pytest.raises((TimeoutError, ConnectionRefusedError)):
        udp(ns, query("web"), timeout=0.5)
    resolver.add("k", ns)  # the address is free again
    assert parse_reply(udp(ns, query("web"))).rcode == w.NOERROR


def test_readd_replaces_sockets_and_keys_are_separate(
    resolver: Resolver, ns: str, tmp_path: Any
) -> None:
    resolver.add("k", ns)
    assert parse_reply(udp(ns, query("web"))).rcode == w.NOERROR
    other = str(tmp_path / "netns" / "dns2")
    netns.create(other)
    try:
        resolver.add("k2", other)
        assert resolver.keys() == ["k", "k2"]
        a = parse_reply(udp(other, query("web")))
        assert [socket.inet_ntoa(r[2]) for r in a.records] == ["10.2.0.9"]
        assert len(parse_reply(udp(ns, query("web"))).records) == 2
    finally:
        resolver.remove("k2")
        netns.remove(other)


def test_add_errors_name_the_namespace(resolver: Resolver, ns: str, tmp_path: Any) -> None:
    missing = str(tmp_path / "netns" / "missing")
    with pytest.raises(errdefs.NotFound, match="missing"):
        resolver.add("x", missing)
    other = Resolver(lookup, reverse, lambda key: [])
    try:
        with pytest.raises(errdefs.Conflict, match=r"dns1.*address already in use"):
            other.add("k", ns)
    finally:
        other.close()
    assert resolver.keys() == ["k"]


def test_busybox_nslookup_in_the_namespace(resolver: Resolver, ns: str) -> None:
    p = subprocess.run(
        ["nsenter", f"--net={ns}", "/bin/busybox", "nslookup", "web", "127.0.0.11"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert p.returncode == 0, p.stdout + p.stderr
    assert "10.1.0.2" in p.stdout and "10.1.0.3" in p.stdout and "fd00::2" in p.stdout
