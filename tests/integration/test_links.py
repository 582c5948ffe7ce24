"""berth.network.links and tc on the real kernel: two namespaces this test makes, on a
bridge of its own with a test-unique name and subnet, reach each other (ping, TCP) until
one is disconnected; an 8 mbit limit holds within 10% in both directions; nothing is left.
Packets only travel between the test's own namespaces."""

from __future__ import annotations

import ipaddress
import os
import statistics
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from berth import errdefs
from berth.network import links, netns, tc
from berth.testing.netns import tcp_payload_rate

pytestmark = pytest.mark.root

RATE = 8_000_000  # bit/s
TRANSFER = 2_000_000  # bytes: 2 s at the rate

SERVER = r"""
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 5001)); s.listen(1); s.settimeout(20)
print("ready", flush=True)
c, _ = s.accept(); c.settimeout(30)
n, first = 0, None
while True:
    b = c.recv(65536)
    if not b:
        break
    if first is None:
        first = time.monotonic()
    n += len(b)
print(n, time.monotonic() - (first or time.monotonic()), flush=True)
"""

CLIENT = r"""
import socket, sys
c = socket.create_connection((sys.argv[1], 5001), timeout=10)
c.sendall(b"x" * int(sys.argv[2])); c.close()
"""


def _in(path: str, *cmd: str, **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["nsenter", f"--net={path}", *cmd], capture_output=True, text=True, timeout=60, **kw)  # type: ignore[call-overload, no-any-return]


def _subnet() -> ipaddress.IPv4Network:
    routes = subprocess.run(["ip", "-4", "route", "show", "table", "all"], capture_output=True, text=True, check=True).stdout
    taken = []
    for line in routes.splitlines():
        word = line.split()[1] if line.startswith(("local", "broadcast")) else line.split()[0]
        try:
            taken.append(ipaddress.ip_network(word, strict=False))
        except ValueError:
            continue  # "default"
    for i in range(200):
        net = ipaddress.IPv4Network(f"10.213.{(os.getpid() + i) % 200 + 20}.0/24")
        if not any(net.overlaps(t) for t in taken):
            return net
    pytest.skip("no free 10.213.x.0/24 on this host")


@dataclass
class Net:
    bridge: str
    subnet: ipaddress.IPv4Network
    a: str
    b: str

    def ip(self, n: int) -> str:
        return str(self.subnet.network_address + n)

    def cidr(self, n: int) -> str:
        return f"{self.ip(n)}/{self.subnet.prefixlen}"


@pytest.fixture
def net(tmp_path) -> Iterator[Net]:  # type: ignore[no-untyped-def]
    bridge = f"bt{os.getpid() % 10000}"
    subnet = _subnet()
    n = Net(bridge, subnet, str(tmp_path / "ns" / "a"), str(tmp_path / "ns" / "b"))
    netns.create(n.a)
    netns.create(n.b)
    try:
        links.ensure_bridge(bridge, n.cidr(1))
        yield n
    finally:
        leftovers = [lk.name for lk in links.list_links() if lk.master is not None and lk.master == _index(bridge)]
        for name in leftovers:
            links.disconnect_by_name(name)
        links.delete_bridge(bridge)
        netns.remove(n.a)
        netns.remove(n.b)
    assert not leftovers, f"endpoints left on the bridge: {leftovers}"
    assert subprocess.run(["ip", "link", "show", bridge], capture_output=True).returncode != 0


def _index(name: str) -> int | None:
    p = subprocess.run(["cat", f"/sys/class/net/{name}/ifindex"], capture_output=True, text=True)
    return int(p.stdout) if p.returncode == 0 else None


def _ping(path: str, ip: str) -> bool:
    return _in(path, "busybox", "ping", "-c", "1", "-W", "2", ip).returncode == 0


def _transfer(src: str, dst: str, dst_ip: str, size: int) -> tuple[int, float]:
    server = subprocess.Popen(
        ["nsenter", f"--net={dst}", sys.executable, "-c", SERVER, dst_ip],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert server.stdout is not None
        assert server.stdout.readline().strip() == "ready"
        client = _in(src, sys.executable, "-c", CLIENT, dst_ip, str(size))
        assert client.returncode == 0, client.stderr
        out, err = server.communicate(timeout=60)
        assert server.returncode == 0, err
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    got, secs = out.split()
    return int(got), float(secs)


def test_two_namespaces_reach_each_other_until_disconnected(net: Net) -> None:
    ea = links.connect(net.a, net.bridge, address_cidr=net.cidr(2), gateway=net.ip(1), address6_cidr="fd00:213::2/64")
    eb = links.connect(net.b, net.bridge, address_cidr=net.cidr(3), gateway=net.ip(1), endpoint_id="ab" * 32)
    assert eb.host_veth == "vbababababab"
    assert ea.mac == links.derive_mac(net.cidr(2))
    shown = _in(net.a, "ip", "-o", "addr", "show", "eth0").stdout
    assert net.cidr(2) in shown and "fd00:213::2/64" in shown
    assert ea.mac in _in(net.a, "ip", "link", "show", "eth0").stdout
    assert f"default via {net.ip(1)} dev eth0" in _in(net.a, "ip", "route").stdout
    names = [lk.name for lk in links.list_links()]
    assert ea.host_veth in names and eb.host_veth in names

    assert _ping(net.a, net.ip(3)) and _ping(net.b, net.ip(2))
    assert _transfer(net.a, net.b, net.ip(3), 100_000)[0] == 100_000

    # a second network in the same namespace: its address and subnet route, no default route
    with pytest.raises(errdefs.AlreadyExists, match="file exists"):
        links.connect(net.a, net.bridge, address_cidr=net.cidr(4), gateway=net.ip(1))
    e2 = links.connect(net.a, net.bridge, ifname="eth1", address_cidr=net.cidr(4), gateway=net.ip(1), default_route=False)
    routes = _in(net.a, "ip", "route").stdout
    assert routes.count("default") == 1 and "dev eth1" in routes
    assert links.disconnect(e2)

    assert links.disconnect(eb) is True
    assert links.disconnect(eb) is False
    assert "eth0" not in _in(net.b, "ip", "-o", "link").stdout
    assert not _ping(net.a, net.ip(3))
    assert links.disconnect(ea)


def test_ensure_bridge_is_idempotent_and_refuses_non_bridges(net: Net) -> None:
    idx = links.ensure_bridge(net.bridge, net.cidr(1))
    assert links.ensure_bridge(net.bridge, net.cidr(1)) == idx
    assert _in("/proc/self/ns/net", "ip", "-o", "addr", "show", net.bridge).stdout.count(net.cidr(1)) == 1
    with pytest.raises(errdefs.NotFound, match="bridge 'nosuchbr0' not found"):
        links.connect(net.a, "nosuchbr0", address_cidr=net.cidr(2), gateway=net.ip(1))
    assert links.delete_bridge("nosuchbr0") is False


def test_bandwidth_limit_holds_within_ten_percent(net: Net) -> None:
    ea = links.connect(net.a, net.bridge, address_cidr=net.cidr(2), gateway=net.ip(1))
    eb = links.connect(net.b, net.bridge, address_cidr=net.cidr(3), gateway=net.ip(1))
    try:
        tc.limit(ea.host_veth, egress_bps=RATE, ingress_bps=RATE)
        assert links.ifb_name(ea.host_veth) in [lk.name for lk in links.list_links()]
        # the rate counts whole frames: a TCP receiver sees ~95.6 % of it; the median of
        # three transfers, as one loss burst can cost a single one a retransmit timeout
        want = tcp_payload_rate(RATE)
        for src, dst, ip in ((net.a, net.b, net.ip(3)), (net.b, net.a, net.ip(2))):
            rates = []
            for _ in range(3):
                got, secs = _transfer(src, dst, ip, TRANSFER)
                assert got == TRANSFER
                rates.append(got * 8 / secs)
            bps = statistics.median(rates)
            assert 0.9 * want <= bps <= 1.1 * want, f"{[round(r / 1e6, 2) for r in rates]} mbit/s from {src} to {dst}"
        tc.clear(ea.host_veth)
        assert links.ifb_name(ea.host_veth) not in [lk.name for lk in links.list_links()]
        got, secs = _transfer(net.a, net.b, net.ip(3), TRANSFER)
        assert got * 8 / secs > 3 * RATE  # unlimited again
    finally:
        links.disconnect(ea)
        links.disconnect(eb)
