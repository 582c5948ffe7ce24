"""berth.network.conntrack against the kernel, in a network namespace of the test's own
(unshared by a throwaway thread; its children inherit it): flows on its loopback are
tracked, and forgetting removes exactly the ones named."""

from __future__ import annotations

import socket
import subprocess

import pytest

from berth.network import conntrack
from berth.testing.netns import in_new_netns

pytestmark = pytest.mark.root

RULES = b"table ip t {\n chain o {\n  type filter hook output priority 0; policy accept;\n  ct state new counter\n }\n}\n"


def table() -> list[str]:
    with open("/proc/thread-self/net/nf_conntrack") as f:
        return [line for line in f if line.strip()]


def scenario() -> dict[str, object]:
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    subprocess.run(["ip", "addr", "add", "127.0.0.2/8", "dev", "lo"], check=True)
    subprocess.run(["nft", "-f", "-"], input=RULES, check=True)  # makes the namespace track flows
    socks: list[socket.socket] = []
    srv = socket.socket()
    srv.bind(("127.0.0.1", 9000))
    srv.listen(8)
    socks.append(srv)
    for src in ("127.0.0.1", "127.0.0.2", "127.0.0.2"):
        c = socket.socket()
        c.bind((src, 0))
        c.connect(("127.0.0.1", 9000))
        socks += [c, srv.accept()[0]]
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    socks.append(u)
    for port in (5353, 5354):
        u.sendto(b"x", ("127.0.0.1", port))
    try:
        before = table()
        by_address = conntrack.forget_addresses(["127.0.0.2", "10.9.9.9"])
        after_addresses = table()
        by_port = conntrack.forget_ports(socket.IPPROTO_UDP, [5353])
        after_ports = table()
        nothing = conntrack.forget_addresses(["127.0.0.2"])
        return {"before": before, "by_address": by_address, "after_addresses": after_addresses,
                "by_port": by_port, "after_ports": after_ports, "nothing": nothing}  # fmt: skip
    finally:
        for s in socks:
            s.close()


def test_forget_addresses_and_ports_delete_exactly_their_flows() -> None:
    r = in_new_netns(scenario)
    before = r["before"]
    assert isinstance(before, list)
    assert sum("src=127.0.0.2" in line for line in before) == 2, before
    assert sum("dport=5353 " in line for line in before) == 1, before  # (not an ephemeral 5353x)
    assert len(before) == 5, before
    assert r["by_address"] == 2
    after_addresses = r["after_addresses"]
    assert isinstance(after_addresses, list)
    assert len(after_addresses) == 3 and not any("127.0.0.2" in line for line in after_addresses), after_addresses
    assert r["by_port"] == 1
    after_ports = r["after_ports"]
    assert isinstance(after_ports, list)
    assert len(after_ports) == 2 and not any("dport=5353 " in line for line in after_ports), after_ports
    assert any("dport=5354 " in line for line in after_ports)  # another port's flow stays
    assert r["nothing"] == 0
