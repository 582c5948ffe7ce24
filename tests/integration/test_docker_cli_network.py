"""The docker CLI and the berth CLI against berthd's networks — the same commands, the
same output: network create/ls/inspect/connect/disconnect/rm/prune, run --network with
--ip and --network-alias, -p and port, and the errors users meet."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from berth.testing.berthd import Berthd

DOCKER = next((p for p in ("/usr/local/bin/docker", "/usr/bin/docker") if os.access(p, os.X_OK)), None)
BERTH = os.path.join(os.path.dirname(sys.executable), "berth")

pytestmark = pytest.mark.root


@pytest.fixture(params=["docker", "berth"])
def cli(request: pytest.FixtureRequest) -> str:
    if request.param == "docker" and DOCKER is None:
        pytest.skip("no docker CLI installed")
    return DOCKER if request.param == "docker" else BERTH  # type: ignore[return-value]


def run(cli: str, d: Berthd, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DOCKER_", "BERTH_"))}
    env["DOCKER_HOST"] = env["BERTH_HOST"] = d.host
    env["DOCKER_CONFIG"] = os.path.join(d.dir, "docker-config")
    return subprocess.run([cli, *args], env=env, capture_output=True, text=True, timeout=60)


def ok(cli: str, d: Berthd, *args: str) -> str:
    p = run(cli, d, *args)
    assert p.returncode == 0, f"{' '.join(args)}: {p.stderr}"
    return p.stdout


def test_network_commands(cli: str, daemon: Berthd, busybox: str) -> None:
    nid = ok(cli, daemon, "network", "create", "--subnet", "10.213.150.0/24", "--gateway", "10.213.150.254",
             "--ip-range", "10.213.150.128/25", "--label", "team=a", "front").strip()  # fmt: skip
    assert len(nid) == 64
    ls = ok(cli, daemon, "network", "ls", "--format", "{{.Name}} {{.Driver}} {{.Scope}}")
    assert ls.splitlines() == ["bridge bridge local", "front bridge local", "host host local", "none null local"]
    assert ok(cli, daemon, "network", "ls", "-q", "--filter", "label=team=a").strip() == nid[:12]
    doc = json.loads(ok(cli, daemon, "network", "inspect", "front"))[0]
    assert doc["IPAM"]["Config"] == [{"Subnet": "10.213.150.0/24", "IPRange": "10.213.150.128/25", "Gateway": "10.213.150.254"}]
    assert doc["Labels"] == {"team": "a"} and doc["Containers"] == {}

    ok(cli, daemon, "run", "-d", "--name", "api", "--network", "front", "--ip", "10.213.150.200",
       "--network-alias", "backend", "-p", "127.0.0.1::80", "busybox", "sleep", "300")  # fmt: skip
    assert ok(cli, daemon, "inspect", "-f", "{{.NetworkSettings.Networks.front.IPAddress}}", "api") == "10.213.150.200\n"
    port = ok(cli, daemon, "port", "api", "80").strip()
    assert port.startswith("127.0.0.1:") and int(port.split(":")[1]) > 1024
    # names and aliases from another container; the ip range holds
    out = ok(cli, daemon, "run", "--rm", "--network", "front", "busybox", "sh", "-c",
             "nslookup backend 127.0.0.11 | grep Address; ip -4 -o addr show eth0")  # fmt: skip
    assert "10.213.150.200" in out and "inet 10.213.150.128/24" in out

    doc = json.loads(ok(cli, daemon, "network", "inspect", "front"))[0]
    assert [c["Name"] for c in doc["Containers"].values()] == ["api"]
    p = run(cli, daemon, "network", "rm", "front")
    assert p.returncode == 1
    assert "has active endpoints" in p.stderr

    ok(cli, daemon, "network", "create", "back")
    ok(cli, daemon, "network", "connect", "--alias", "api-b", "back", "api")
    nets = json.loads(ok(cli, daemon, "inspect", "-f", "{{json .NetworkSettings.Networks}}", "api"))
    assert set(nets) == {"front", "back"} and nets["back"]["IPAddress"].startswith("10.213.")
    p = run(cli, daemon, "network", "connect", "back", "api")
    assert p.returncode == 1 and "already exists in network back" in p.stderr
    ok(cli, daemon, "network", "disconnect", "back", "api")
    p = run(cli, daemon, "network", "disconnect", "back", "api")
    assert p.returncode == 1 and "is not connected to network back" in p.stderr

    ok(cli, daemon, "rm", "-f", "api")
    pruned = ok(cli, daemon, "network", "prune", "-f")
    assert pruned.startswith("Deleted Networks:\n") and sorted(pruned.split()[2:]) == ["back", "front"]
    assert ok(cli, daemon, "network", "ls", "-q").count("\n") == 3


def test_network_errors(cli: str, daemon: Berthd, busybox: str) -> None:
    p = run(cli, daemon, "network", "inspect", "nosuch")
    assert p.returncode == 1 and "network nosuch not found" in p.stderr
    p = run(cli, daemon, "network", "rm", "bridge")
    assert p.returncode == 1 and "bridge is a pre-defined network and cannot be removed" in p.stderr
    p = run(cli, daemon, "run", "--rm", "--network", "nosuch", "busybox", "true")
    assert p.returncode == 125 and "network nosuch not found" in p.stderr
    p = run(cli, daemon, "run", "--rm", "--ip", "10.213.0.50", "busybox", "true")
    assert p.returncode == 125 and "user specified IP address is supported on user defined networks only" in p.stderr
    ok(cli, daemon, "network", "create", "--subnet", "10.213.160.0/24", "one")
    try:
        p = run(cli, daemon, "network", "create", "--subnet", "10.213.160.0/25", "two")
        assert p.returncode == 1 and "Pool overlaps with other one on this address space" in p.stderr
        p = run(cli, daemon, "network", "create", "--subnet", "10.213.161.0/24", "--gateway", "10.213.99.1", "three")
        assert p.returncode != 0 and "gateway" in p.stderr
        p = run(cli, daemon, "network", "create", "one")
        assert p.returncode == 1 and "network with name one already exists" in p.stderr
    finally:
        ok(cli, daemon, "network", "rm", "one")
    assert ok(cli, daemon, "network", "ls", "-q").count("\n") == 3
