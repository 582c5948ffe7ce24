"""Container networking through berthd, driven by the Python docker SDK: the default
bridge, user-defined networks with names (berth's resolver at 127.0.0.11), isolation
between networks, live connect/disconnect, published ports (TCP from 127.0.0.1 and from
the host's address on the bridge, UDP), internal networks, bandwidth limits, a berthd
restart, and bad input.

Traffic stays on this machine: to 127.0.0.1, to the gateway address berth puts on its
bridge, and between containers in namespaces berth made. The test daemon has its own
bridge, nftables table and pool (10.213.0.0/16 cut into /24s, see berth.testing.berthd).
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import docker
import pytest
from docker.errors import APIError, NotFound

from berth.testing.berthd import Berthd
from berth.testing.netns import in_netns, tcp_payload_rate

pytestmark = pytest.mark.root


@pytest.fixture
def client(daemon: Berthd, busybox: str) -> Iterator[docker.DockerClient]:
    c = docker.DockerClient(base_url=daemon.host, version="1.41", timeout=60)
    yield c
    c.close()


def sh(client: docker.DockerClient, cmd: str, **kw: object) -> tuple[int, str]:
    """Run ``sh -c cmd`` in a new container; (exit code, output)."""
    c = client.containers.run("busybox", ["sh", "-c", cmd], detach=True, **kw)
    try:
        code = c.wait(timeout=60)["StatusCode"]
        return code, c.logs().decode()
    finally:
        c.remove(force=True)


def serve_http(client: docker.DockerClient, name: str, body: str = "hello", **kw: object) -> docker.models.containers.Container:
    c = client.containers.run(
        "busybox", ["sh", "-c", f"mkdir /www && echo {body} > /www/index.html && exec httpd -f -p 80 -h /www"],
        detach=True, name=name, **kw,
    )  # fmt: skip
    return c


def http_get(host: str, port: int, timeout: float = 5.0) -> str:
    """GET / over HTTP/1.0 with a bounded number of tries (the server may be starting)."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=2) as s:
                s.sendall(b"GET /index.html HTTP/1.0\r\n\r\n")
                data = b""
                while chunk := s.recv(65536):
                    data += chunk
            return data.decode(errors="replace")
        except OSError as exc:
            last = exc
            time.sleep(0.05)
    raise AssertionError(f"no answer from {host}:{port}: {last}")


def gateway(client: docker.DockerClient, network: str = "bridge") -> str:
    return str(client.networks.get(network).attrs["IPAM"]["Config"][0]["Gateway"])


def ip_of(c: docker.models.containers.Container, network: str) -> str:
    c.reload()
    return str(c.attrs["NetworkSettings"]["Networks"][network]["IPAddress"])


# -- the default bridge ----------------------------------------------------------------------


def test_default_bridge_address_route_and_files(client: docker.DockerClient, daemon: Berthd) -> None:
    net = client.networks.get("bridge")
    assert net.attrs["Driver"] == "bridge"
    assert net.attrs["Options"]["com.docker.network.bridge.name"] == daemon.bridge
    subnet = net.attrs["IPAM"]["Config"][0]["Subnet"]
    assert subnet.startswith("10.213.")
    gw = gateway(client)
    code, out = sh(client, "ip -4 addr show eth0; ip route; cat /etc/hosts /etc/resolv.conf", hostname="h1",
                   extra_hosts={"hostgw": "host-gateway"})  # fmt: skip
    assert code == 0, out
    assert f"default via {gw} dev eth0" in out
    assert "10.213." in out and "\th1\n" in out
    assert f"{gw}\thostgw" in out
    assert "127.0.0.11" not in out  # the default bridge has no resolver, as Docker's


def test_network_ls_inspect_and_builtins(client: docker.DockerClient) -> None:
    names = sorted(n.name for n in client.networks.list())
    assert names == ["bridge", "host", "none"]
    with pytest.raises(APIError) as err:
        client.networks.get("bridge").remove()
    assert err.value.status_code == 403
    assert "pre-defined network" in str(err.value)


# -- user-defined networks: names, isolation, connect/disconnect --------------------------------


def test_user_network_names_ping_tcp_and_isolation(client: docker.DockerClient) -> None:
    a = client.networks.create("neta", driver="bridge")
    b = client.networks.create("netb")
    web = serve_http(client, "web", network="neta")
    other = serve_http(client, "other", network="netb", body="other")
    try:
        # by name, by alias, by name.network; ping and TCP
        code, out = sh(client, "ping -c1 -W2 web && nc web 80 </dev/null >/dev/null; "
                       "printf 'GET /index.html HTTP/1.0\\r\\n\\r\\n' | nc web.neta 80", network="neta")  # fmt: skip
        assert code == 0, out
        assert "1 packets received" in out and "hello" in out
        # a container of another network: no name, no route through the host
        code, out = sh(client, f"nslookup web 127.0.0.11; ping -c1 -W1 {ip_of(web, 'neta')}", network="netb")
        assert code != 0 and "1 packets received" not in out, out
        code, out = sh(client, "nslookup other 127.0.0.11", network="netb")
        assert code == 0 and ip_of(other, "netb") in out, out
        # network inspect lists the running endpoints
        a.reload()
        assert list(a.attrs["Containers"]) == [web.id]
        assert a.attrs["Containers"][web.id]["IPv4Address"] == ip_of(web, "neta") + "/24"
    finally:
        web.remove(force=True)
        other.remove(force=True)
        a.remove()
        b.remove()


def test_connect_and_disconnect_live(client: docker.DockerClient) -> None:
    a = client.networks.create("live-a")
    b = client.networks.create("live-b")
    web = serve_http(client, "lweb", network="live-a")
    probe = client.containers.run("busybox", ["sleep", "300"], detach=True, name="probe", network="live-b")
    try:
        def reach() -> int:
            return int(probe.exec_run(["sh", "-c", "ping -c1 -W1 lweb >/dev/null 2>&1 && nc lweb 80 </dev/null"])[0])

        assert reach() != 0
        a.connect(probe, aliases=["prober"])
        probe.reload()
        assert set(probe.attrs["NetworkSettings"]["Networks"]) == {"live-a", "live-b"}
        assert reach() == 0
        code, out = web.exec_run(["nslookup", "prober", "127.0.0.11"])
        assert code == 0 and ip_of(probe, "live-a") in out.decode()
        a.disconnect(probe)
        assert reach() != 0
        probe.reload()
        assert set(probe.attrs["NetworkSettings"]["Networks"]) == {"live-b"}
        with pytest.raises(APIError):
            a.disconnect(probe)
    finally:
        web.remove(force=True)
        probe.remove(force=True)
        a.remove()
        b.remove()


def test_ip_and_internal_network(client: docker.DockerClient) -> None:
    net = client.networks.create(
        "inner", internal=True, ipam=docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet="10.213.200.0/24")])
    )
    try:
        code, out = sh(client, "ip route; ip -4 addr show eth0", network="inner",
                       networking_config={"inner": client.api.create_endpoint_config(ipv4_address="10.213.200.77")})  # fmt: skip
        assert code == 0, out
        assert "10.213.200.77/24" in out
        assert "default" not in out  # no egress route
        # and nothing leaves even through the bridge's own gateway to another network
        gw = gateway(client)
        code, out = sh(client, f"ping -c1 -W1 {gw}", network="inner")
        assert code != 0
    finally:
        net.remove()


# -- published ports ----------------------------------------------------------------------------


def test_publish_tcp_loopback_host_address_and_port(client: docker.DockerClient, daemon: Berthd) -> None:
    web = serve_http(client, "pweb", ports={"80/tcp": 18481})
    anyport = serve_http(client, "pany", ports={"80/tcp": None}, body="any")
    try:
        assert "hello" in http_get("127.0.0.1", 18481)
        assert "hello" in http_get(gateway(client), 18481)  # the host's address on the bridge
        anyport.reload()
        hp = int(anyport.attrs["NetworkSettings"]["Ports"]["80/tcp"][0]["HostPort"])
        assert hp > 1024 and "any" in http_get("127.0.0.1", hp)
        # hairpin: a container reaching a published port through the host's address
        code, out = sh(client, f"printf 'GET /index.html HTTP/1.0\\r\\n\\r\\n' | nc {gateway(client)} 18481")
        assert code == 0 and "hello" in out, out
        assert client.api.port(web.id, 80) == [{"HostIp": "0.0.0.0", "HostPort": "18481"}]
        # a port already allocated: a clear error, the container not started, nothing held
        with pytest.raises(APIError) as err:
            serve_http(client, "clash", ports={"80/tcp": 18481})
        assert "port is already allocated" in str(err.value)
        clash = client.containers.get("clash")
        assert clash.status == "created"
        assert clash.attrs["NetworkSettings"]["Networks"]["bridge"]["IPAddress"] == ""
        clash.remove()
    finally:
        web.remove(force=True)
        anyport.remove(force=True)
    # gone with the container: the port is free again
    with socket.socket() as s:
        s.bind(("0.0.0.0", 18481))


def test_publish_port_taken_by_host_program(client: docker.DockerClient) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 18482))
        s.listen()
        with pytest.raises(APIError) as err:
            client.containers.run("busybox", ["true"], ports={"80/tcp": ("127.0.0.1", 18482)}, name="taken", detach=True)
        assert "127.0.0.1:18482" in str(err.value)
    client.containers.get("taken").remove()


def test_publish_udp(client: docker.DockerClient) -> None:
    c = client.containers.run("busybox", ["sleep", "300"], detach=True, ports={"5353/udp": 18483})
    try:
        c.reload()
        sandbox = c.attrs["NetworkSettings"]["SandboxKey"]

        def listener() -> socket.socket:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("0.0.0.0", 5353))
            s.settimeout(5)
            return s

        srv = in_netns(sandbox, listener)  # a UDP server in the container's namespace
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as cl:
                cl.sendto(b"ping-udp", ("127.0.0.1", 18483))
                data, _ = srv.recvfrom(100)
            assert data == b"ping-udp"
        finally:
            srv.close()
    finally:
        c.remove(force=True)


def conntrack_lines(needle: str) -> list[str]:
    with open("/proc/net/nf_conntrack") as f:
        return [line for line in f if needle in line]


def test_a_udp_client_that_keeps_sending_reaches_the_replacement_container(client: docker.DockerClient) -> None:
    """Docker's old trap (moby#8795): a flow's NAT is decided on its first packet, so a UDP
    client sending without pause keeps reaching the removed container's address (or the
    host itself) and never the container that replaced it. berth forgets the conntrack
    entries of a released address, and those of a port when it is published."""

    def listener() -> socket.socket:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("0.0.0.0", 5353))
        s.settimeout(5)
        return s

    def serve(name: str) -> tuple[docker.models.containers.Container, socket.socket]:
        c = client.containers.run("busybox", ["sleep", "300"], detach=True, name=name, ports={"5353/udp": ("127.0.0.1", 18485)})
        c.reload()
        return c, in_netns(c.attrs["NetworkSettings"]["SandboxKey"], listener)

    stop = threading.Event()
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sender.bind(("127.0.0.1", 0))  # one source port: one flow all along

    def send() -> None:
        for i in range(1500):  # 30 s at most
            if stop.wait(0.02):
                return
            with contextlib.suppress(OSError):
                sender.sendto(f"n{i}".encode(), ("127.0.0.1", 18485))

    made: list[docker.models.containers.Container] = []
    socks: list[socket.socket] = [sender]
    thread = threading.Thread(target=send)
    try:
        first, srv1 = serve("udp-first")
        made.append(first)
        socks.append(srv1)
        thread.start()
        assert srv1.recvfrom(100)[0].startswith(b"n")
        ip1 = ip_of(first, "bridge")
        first.remove(force=True)
        made.remove(first)
        deadline = time.monotonic() + 5
        while conntrack_lines(f"src={ip1} ") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert conntrack_lines(f"src={ip1} ") == []  # forgotten, though the client goes on
        filler = client.containers.run("busybox", ["sleep", "300"], detach=True, name="udp-filler")
        made.append(filler)
        assert ip_of(filler, "bridge") == ip1  # so the replacement gets another address
        second, srv2 = serve("udp-second")
        made.append(second)
        socks.append(srv2)
        assert ip_of(second, "bridge") != ip1
        data, peer = srv2.recvfrom(100)  # the same client flow, now at the new container
        assert data.startswith(b"n") and peer[1] == sender.getsockname()[1]
    finally:
        stop.set()
        if thread.is_alive():
            thread.join()
        for s in socks:
            s.close()
        for c in made:
            c.remove(force=True)


def test_a_reused_address_meets_no_stale_loopback_flows(client: docker.DockerClient) -> None:
    """Flows through a port published on 127.0.0.1 are SNAT'd to one source address;
    the TIME_WAIT entries of a removed container would make the next owner of its address
    remap source ports and stall on PAWS (see berth.network.conntrack). Its entries go
    with it."""
    web = serve_http(client, "reuse-web", ports={"80/tcp": ("127.0.0.1", 18486)})
    try:
        for _ in range(20):
            assert "hello" in http_get("127.0.0.1", 18486)
        ip = ip_of(web, "bridge")
        assert len(conntrack_lines(f"src={ip} ")) >= 20
    finally:
        web.remove(force=True)
    deadline = time.monotonic() + 5
    while conntrack_lines(f"src={ip} ") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert conntrack_lines(f"src={ip} ") == []


# -- bandwidth ----------------------------------------------------------------------------------


def test_bandwidth_limit_holds(client: docker.DockerClient, daemon: Berthd) -> None:
    rate_bits = 8_000_000
    size = 4 * 1024 * 1024
    gw = gateway(client)
    srv = socket.socket()
    srv.bind((gw, 0))
    srv.listen(1)
    srv.settimeout(60)
    port = srv.getsockname()[1]
    got: dict[str, float] = {}

    def receive() -> None:
        conn, _ = srv.accept()
        with conn:
            n = 0
            first = 0.0
            while chunk := conn.recv(65536):
                if not first:
                    first = time.monotonic()
                n += len(chunk)
            got["bytes"] = n
            got["seconds"] = time.monotonic() - first

    t = threading.Thread(target=receive)
    t.start()
    try:
        # berth's own client flag: HostConfig.NetworkBandwidth
        p = subprocess.run(
            [os.path.join(os.path.dirname(sys.executable), "berth"), "run", "--rm",
             "--network-bandwidth", "8mbit", "busybox", "sh", "-c", f"dd if=/dev/zero bs=65536 count={size // 65536} 2>/dev/null | nc {gw} {port}"],
            env=daemon.env(), capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert p.returncode == 0, p.stderr
        t.join(60)
    finally:
        srv.close()
    assert got["bytes"] == size
    measured = got["bytes"] * 8 / got["seconds"]
    want = tcp_payload_rate(rate_bits)  # the limit counts whole frames
    assert abs(measured - want) / want < 0.10, f"{measured / 1e6:.2f} Mbit/s of payload, want {want / 1e6:.2f}"


# -- restart and bad input ----------------------------------------------------------------------


def test_restart_keeps_networks_addresses_and_ports(client: docker.DockerClient, daemon: Berthd) -> None:
    net = client.networks.create("keep")
    web = serve_http(client, "kweb", network="keep", ports={"80/tcp": 18484})
    before = ip_of(web, "keep")
    assert "hello" in http_get("127.0.0.1", 18484)
    client.close()
    daemon.stop()
    assert "hello" in http_get("127.0.0.1", 18484)  # the data path needs no daemon
    daemon.launch()
    c2 = docker.DockerClient(base_url=daemon.host, version="1.41", timeout=60)
    try:
        web2 = c2.containers.get("kweb")
        assert ip_of(web2, "keep") == before
        assert "hello" in http_get("127.0.0.1", 18484)
        code, out = sh(c2, "nslookup kweb 127.0.0.11", network="keep")
        assert code == 0 and before in out, out
        # the port is held again: another container cannot take it
        with pytest.raises(APIError):
            serve_http(c2, "thief", ports={"80/tcp": 18484})
        c2.containers.get("thief").remove()
        web2.remove(force=True)
        c2.networks.get(net.id).remove()
    finally:
        c2.close()


def test_bad_input(client: docker.DockerClient) -> None:
    pool = docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet="10.213.210.0/24")])
    net = client.networks.create("first", ipam=pool)
    try:
        with pytest.raises(APIError) as err:
            client.networks.create("second", ipam=pool)
        assert "overlaps" in str(err.value)
        bad_gw = docker.types.IPAMConfig(
            pool_configs=[docker.types.IPAMPool(subnet="10.213.211.0/24", gateway="10.213.99.1")]
        )
        with pytest.raises(APIError) as err:
            client.networks.create("third", ipam=bad_gw)
        assert "gateway" in str(err.value)
        with pytest.raises(APIError) as err:
            client.networks.create("first")
        assert err.value.status_code == 409
        c = client.containers.run("busybox", ["sleep", "300"], detach=True, network="first")
        with pytest.raises(APIError) as err:
            net.remove()
        assert "active endpoints" in str(err.value)
        c.remove(force=True)
        with pytest.raises(APIError) as err:
            client.containers.create("busybox", ["true"], network="nosuchnet")
        assert "network nosuchnet not found" in str(err.value)
        with pytest.raises(NotFound):
            client.networks.get("nosuchnet")
        with pytest.raises(APIError) as err:
            client.containers.create("busybox", ["true"], ports={"80/tcp": 70000})
        assert "invalid" in str(err.value).lower()
        assert [x.name for x in client.containers.list(all=True)] == []
    finally:
        net.remove()


def test_ipv6_dual_stack(client: docker.DockerClient) -> None:
    net = client.networks.create("six", enable_ipv6=True)
    web = serve_http(client, "web6", network="six")
    try:
        cfg = {c["Subnet"]: c for c in net.attrs["IPAM"]["Config"]}
        v6 = next(s for s in cfg if ":" in s)
        assert v6.startswith("fd") and v6.endswith("/64")
        web.reload()
        ep = web.attrs["NetworkSettings"]["Networks"]["six"]
        assert ep["GlobalIPv6Address"].startswith(v6.split("::")[0]) and ep["GlobalIPv6PrefixLen"] == 64
        assert ep["IPAddress"].startswith("10.213.")
        code, out = sh(client, f"ping6 -c1 -W2 {ep['GlobalIPv6Address']} && nslookup -type=AAAA web6 127.0.0.11 && "
                       "printf 'GET /index.html HTTP/1.0\\r\\n\\r\\n' | nc web6 80", network="six")  # fmt: skip
        assert code == 0, out
        assert ep["GlobalIPv6Address"] in out and "hello" in out
    finally:
        web.remove(force=True)
        net.remove()


def test_legacy_link_on_default_bridge_and_network_events(client: docker.DockerClient) -> None:
    since = int(time.time()) - 1
    web = serve_http(client, "lnkweb")
    try:
        code, out = sh(client, "grep lnkweb /etc/hosts; printf 'GET /index.html HTTP/1.0\\r\\n\\r\\n' | nc db 80",
                       links={"lnkweb": "db"})  # fmt: skip
        assert code == 0, out
        assert f"{ip_of(web, 'bridge')}\tdb {web.id[:12]} lnkweb" in out and "hello" in out
    finally:
        web.remove(force=True)
    net = client.networks.create("evnet")
    c = client.containers.create("busybox", ["true"], name="evc")
    net.connect(c)
    net.disconnect(c)
    c.remove()
    net.remove()
    events = client.events(since=since, until=int(time.time()) + 1, decode=True, filters={"type": "network"})
    seen = [(e["Action"], e["Actor"]["Attributes"].get("name")) for e in events]
    for want in [("create", "evnet"), ("connect", "evnet"), ("disconnect", "evnet"), ("destroy", "evnet")]:
        assert want in seen, seen


def test_nothing_left_after_the_daemon_stops(client: docker.DockerClient, daemon: Berthd) -> None:
    client.networks.create("gone")
    c = serve_http(client, "gweb", network="gone", ports={"80/tcp": 18485})
    assert "hello" in http_get("127.0.0.1", 18485)
    c.remove(force=True)
    client.close()
    daemon.stop()
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    assert daemon.bridge not in links and " br-" not in links and " vb" not in links
    tables = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True).stdout
    assert daemon.nft_table not in tables
    assert os.listdir(os.path.join(daemon.exec_root, "netns")) == []
    # and the next start makes them again, the network still there
    daemon.launch()
    c2 = docker.DockerClient(base_url=daemon.host, version="1.41", timeout=60)
    try:
        assert daemon.bridge in subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
        code, out = sh(c2, "ip route", network="gone")
        assert code == 0 and "default via" in out
        c2.networks.get("gone").remove()
    finally:
        c2.close()


def test_icc_false_and_a_host_port_range(client: docker.DockerClient) -> None:
    net = client.networks.create("noicc", options={"com.docker.network.bridge.enable_icc": "false"})
    a = serve_http(client, "icc-a", network="noicc")
    try:
        code, out = sh(client, f"ping -c1 -W1 {ip_of(a, 'noicc')}", network="noicc")
        assert code != 0 and "1 packets received" not in out  # neighbours cannot talk
        code, out = sh(client, f"ping -c1 -W2 {gateway(client, 'noicc')}", network="noicc")
        assert code == 0, out  # the host (gateway) still answers
    finally:
        a.remove(force=True)
        net.remove()
    # a host range for one container port: the first free port of the range
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 18490))
        r = serve_http(client, "ranged", ports={"80/tcp": "18490-18492"})
        try:
            r.reload()
            assert r.attrs["NetworkSettings"]["Ports"]["80/tcp"][0]["HostPort"] == "18491"
            assert "hello" in http_get("127.0.0.1", 18491)
        finally:
            r.remove(force=True)
