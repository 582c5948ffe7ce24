"""berth.network.nft against the kernel, entirely inside network namespaces the test
makes: a "host" namespace H holding berth's tables and bridges, "containers" C (network
a) and D (network b), and an "outside" O. The real host's firewall is never touched and
no packet leaves these namespaces.

    O (10.98.0.2) ── o-h 10.98.0.1 ┐
                                   H ── br-a 10.99.0.1/24 ── C 10.99.0.2 (serves :80)
                                     └─ br-b 10.97.0.1/24 ── D 10.97.0.2
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from berth.network import netns, nft
from berth.network.nft import Network, Port, State

pytestmark = pytest.mark.root

SERVER = """
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 80)); s.listen(16); print("ready", flush=True)
while True:
    c, peer = s.accept(); c.sendall(b"hello " + peer[0].encode()); c.close()
"""

CLIENT = """
import socket, sys
try:
    c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=1.5)
    print(c.recv(100).decode())
except OSError as exc:
    print("fail", exc)
"""


def sh(ns: str, *args: str, stdin: str | None = None) -> str:
    p = subprocess.run(
        ["nsenter", f"--net={ns}", *args], input=stdin, capture_output=True, text=True, timeout=30
    )
    assert p.returncode == 0, f"{args}: {p.stderr}"
    return p.stdout


@dataclass
class Lab:
    h: str
    c: str
    d: str
    o: str

    def connect(self, ns: str, addr: str, port: int) -> str:
        return sh(ns, sys.executable, "-c", CLIENT, addr, str(port)).strip()


@pytest.fixture
def ns(tmp_path: Path) -> Iterator[str]:
    path = netns.create(str(tmp_path / "ns" / "h"))
    try:
        yield path
    finally:
        netns.remove(path)


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    paths = [netns.create(str(tmp_path / "ns" / n)) for n in "hcdo"]
    lab = Lab(*paths)
    server = None
    try:
        h = lab.h
        sh(h, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        for br, gw, peer, addr in (
            ("br-a", "10.99.0.1", lab.c, "10.99.0.2"),
            ("br-b", "10.97.0.1", lab.d, "10.97.0.2"),
        ):
            sh(h, "ip", "link", "add", br, "type", "bridge")
            sh(h, "ip", "addr", "add", f"{gw}/24", "dev", br)
            sh(h, "ip", "link", "set", br, "up")
            sh(
                h,
                "ip",
                "link",
                "add",
                f"v{br}",
                "type",
                "veth",
                "peer",
                "name",
                "eth0",
                "netns",
                peer,
            )
            sh(h, "ip", "link", "set", f"v{br}", "master", br, "up")
            sh(peer, "ip", "addr", "add", f"{addr}/24", "dev", "eth0")
            sh(peer, "ip", "link", "set", "eth0", "up")
            sh(peer, "ip", "route", "add", "default", "via", gw)
        sh(h, "ip", "link", "add", "o-h", "type", "veth", "peer", "name", "eth0", "netns", lab.o)
        sh(h, "ip", "addr", "add", "10.98.0.1/24", "dev", "o-h")
        sh(h, "ip", "link", "set", "o-h", "up")
        sh(lab.o, "ip", "addr", "add", "10.98.0.2/24", "dev", "eth0")
        sh(lab.o, "ip", "link", "set", "eth0", "up")
        server = subprocess.Popen(
            ["nsenter", f"--net={lab.c}", sys.executable, "-c", SERVER],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert server.stdout is not None and server.stdout.readline().strip() == "ready"
        yield lab
    finally:
        if server is not None:
            server.kill()
            server.wait()
        for p in paths:
            netns.remove(p)  # the links, bridges and tables go with their namespaces


def test_apply_is_idempotent_lists_and_deletes_in_a_namespace(ns: str) -> None:
    state = State((
        Network("br-a", ("10.99.0.0/24", "fd00:99::/64"), ports=(Port("tcp", 8080, "10.99.0.2", 80),)),
        Network("br-x", ("10.96.0.0/24",), icc=False, internal=True),
    ))  # fmt: skip
    nft.apply(nft.render(state), ns)
    nft.apply(nft.render(state), ns)
    tables = nft.current(ns)
    assert set(tables) == {"inet berth", "bridge berth"}
    inet = tables["inet berth"]
    assert inet.count("tcp dport 8080 dnat ip to 10.99.0.2:80") == 1
    assert 'iifname "br-x" oifname != "br-x" drop' in inet
    assert "ip saddr 10.96.0.0/24 ip daddr 10.96.0.0/24 drop" in tables["bridge berth"]

    nft.apply(nft.render(State((state.networks[0],))), ns)  # icc back on: no bridge table
    assert set(nft.current(ns)) == {"inet berth"}

    nft.delete(ns)
    nft.delete(ns)  # nothing left to delete is fine
    assert nft.current(ns) == {}


def test_the_user_chain_survives_a_render_unless_its_rules_are_given(ns: str) -> None:
    state = State((Network("br-a", ("10.99.0.0/24",)),))
    nft.apply(nft.render(state), ns)
    sh(
        ns,
        "nft",
        "add",
        "rule",
        "inet",
        "berth",
        "berth-user",
        "meta",
        "l4proto",
        "tcp",
        "ct",
        "original",
        "proto-dst",
        "5432",
        "drop",
    )
    nft.apply(nft.render(state), ns)
    assert "proto-dst 5432 drop" in nft.current(ns)["inet berth"]
    nft.apply(nft.render(State(state.networks, user_rules=())), ns)
    assert "proto-dst 5432" not in nft.current(ns)["inet berth"]
    nft.delete(ns)


def test_a_bad_script_is_refused_whole(ns: str) -> None:
    nft.apply(nft.render(State((Network("br-a", ("10.99.0.0/24",)),))), ns)
    before = nft.current(ns)
    with pytest.raises(Exception, match="nft -f -"):
        nft.apply(
            nft.render(State((Network("br-b", ("10.98.0.0/24",)),))) + "this is not nft\n", ns
        )
    assert nft.current(ns) == before
    nft.delete(ns)


def test_published_ports_isolation_and_the_user_chain_with_traffic(lab: Lab) -> None:
    a = Network("br-a", ("10.99.0.0/24",), ports=(Port("tcp", 8080, "10.99.0.2", 80), Port("tcp", 8081, "10.99.0.2", 80, "127.0.0.1")))
    b = Network("br-b", ("10.97.0.0/24",))
    state = State((a, b))
    assert lab.connect(lab.d, "10.99.0.2", 80) == "hello 10.97.0.2"  # no rules: routed straight
    assert "timed out" in lab.connect(lab.d, "10.98.0.2", 22)  # O cannot answer 10.97/24
    for key, value in nft.sysctls(state).items():
        sh(lab.h, "sysctl", "-qw", f"{key}={value}")
    nft.apply(nft.render(state), lab.h)

    # the host itself, on loopback (route_localnet + masquerade) and on its own address
    assert lab.connect(lab.h, "127.0.0.1", 8080) == "hello 169.254.31.144"  # nft.loopback_source(8080)
    assert lab.connect(lab.h, "127.0.0.1", 8081) == "hello 169.254.31.145"  # one source per host port
    assert lab.connect(lab.h, "10.98.0.1", 8080) == "hello 10.98.0.1"
    # from outside: DNAT, through published → berth-user → accept; no masquerade needed
    assert lab.connect(lab.o, "10.98.0.1", 8080) == "hello 10.98.0.2"
    # another network reaches the published port through the host, not the container
    assert lab.connect(lab.d, "10.97.0.1", 8080) == "hello 10.99.0.1"
    assert "timed out" in lab.connect(lab.d, "10.99.0.2", 80)  # isolation
    assert "refused" in lab.connect(lab.d, "10.98.0.2", 22)  # masquerade: O answers (RST)

    # the user's rule closes the port to outside; the host keeps it
    nft.apply(
        nft.render(State((a, b), user_rules=("meta l4proto tcp ct original proto-dst 8080 drop",))),
        lab.h,
    )
    assert "timed out" in lab.connect(lab.o, "10.98.0.1", 8080)
    assert lab.connect(lab.h, "127.0.0.1", 8080) == "hello 169.254.31.144"  # nft.loopback_source(8080)

    # a host whose input policy drops: closed until berth-user opens it for a source
    closed = State((a, b), published_policy="drop", user_rules=())
    nft.apply(nft.render(closed), lab.h)
    assert "timed out" in lab.connect(lab.o, "10.98.0.1", 8080)
    opened = State((a, b), published_policy="drop", user_rules=("ip saddr 10.98.0.2 accept",))
    nft.apply(nft.render(opened), lab.h)
    assert lab.connect(lab.o, "10.98.0.1", 8080) == "hello 10.98.0.2"

    # an internal network: no way out, not even to the other bridge
    nft.apply(nft.render(State((a, Network("br-b", ("10.97.0.0/24",), internal=True)))), lab.h)
    assert "timed out" in lab.connect(lab.d, "10.98.0.2", 22)
    nft.delete(lab.h)
    assert nft.current(lab.h) == {}
