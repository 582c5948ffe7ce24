"""pause/unpause, top, update and stats through berthd, driven by the Python docker SDK:
the effect is checked where it lands (the write loop's log, the cgroup files, ps)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import docker
import pytest
from docker.errors import APIError
from docker.models.containers import Container

from berth import cgroups
from berth.testing.berthd import Berthd

pytestmark = pytest.mark.root


@pytest.fixture
def client(daemon: Berthd, busybox: str) -> Iterator[docker.DockerClient]:
    c = docker.DockerClient(base_url=daemon.host, version="1.41", timeout=60)
    yield c
    c.close()


def _cgroup_file(c: Container, controller: str, v1_name: str, v2_name: str) -> str:
    m = cgroups.Manager.load(cgroups.detect(), f"/berth/{c.id}")
    if controller in m.paths and m.setup.mode != "v2":
        path = os.path.join(m.paths[controller], v1_name)
    else:
        path = os.path.join(m.paths["unified"], v2_name)
    with open(path) as f:
        return f.read().strip()


def _update(client: docker.DockerClient, c: Container, **body: object) -> dict[str, object]:
    """POST /containers/{id}/update with a raw body (the SDK's update() has no PidsLimit)."""
    api = client.api
    res = api._post_json(api._url("/containers/{0}/update", c.id), data=body)
    out: dict[str, object] = api._result(res, True)
    return out


def _lines(c: Container) -> int:
    return len(c.logs(stdout=True, stderr=False).splitlines())


def test_pause_stops_progress_until_unpause(client: docker.DockerClient, daemon: Berthd) -> None:
    c = client.containers.run(
        "busybox", ["sh", "-c", "while true; do echo tick; sleep 0.05; done"], detach=True
    )
    time.sleep(0.5)
    assert _lines(c) > 0
    c.pause()
    c.reload()
    assert c.status == "paused"
    assert c.attrs["State"]["Paused"] is True and c.attrs["State"]["Running"] is True
    time.sleep(0.3)  # a line being written at the freeze is flushed by now
    frozen = _lines(c)
    time.sleep(0.7)
    assert _lines(c) == frozen
    with pytest.raises(APIError) as err:
        c.pause()
    assert err.value.status_code == 409
    assert f"Container {c.id} is already paused" in str(err.value)
    c.unpause()
    c.reload()
    assert c.status == "running" and c.attrs["State"]["Paused"] is False
    time.sleep(0.5)
    assert _lines(c) > frozen
    with pytest.raises(APIError) as err:
        c.unpause()
    assert err.value.status_code == 409
    assert f"Container {c.id} is not paused" in str(err.value)
    # a paused container can still be stopped: it is thawed first
    c.pause()
    c.stop(timeout=1)
    c.reload()
    assert c.status == "exited" and c.attrs["State"]["Paused"] is False
    actions = [e for e in _events(daemon, c.id) if e in ("pause", "unpause")]
    assert actions[:3] == ["pause", "unpause", "pause"]
    c.remove()


def _events(daemon: Berthd, cid: str) -> list[str]:
    import json

    now = int(time.time())
    status, _, body = daemon.request("GET", f"/events?since={now - 120}&until={now + 1}")
    assert status == 200, body
    return [
        ev["Action"]
        for ev in (json.loads(line) for line in body.decode().splitlines() if line.strip())
        if ev.get("id") == cid
    ]


def test_stopped_container_refuses_pause_top(client: docker.DockerClient) -> None:
    c = client.containers.create("busybox", ["true"])
    with pytest.raises(APIError) as err:
        c.pause()
    assert err.value.status_code == 409
    assert f"Container {c.id} is not running" in str(err.value)
    with pytest.raises(APIError) as err:
        c.top()
    assert err.value.status_code == 409
    assert f"Container {c.id} is not running" in str(err.value)
    with pytest.raises(APIError) as err:
        c.unpause()
    assert err.value.status_code == 409
    c.remove()


def test_top_lists_the_containers_processes(client: docker.DockerClient) -> None:
    c = client.containers.run("busybox", ["sleep", "300"], detach=True)
    try:
        c.reload()
        pid = str(c.attrs["State"]["Pid"])
        out = c.top()
        assert out["Titles"][:3] == ["UID", "PID", "PPID"] and out["Titles"][-1] == "CMD"
        assert len(out["Processes"]) == 1
        row = out["Processes"][0]
        assert len(row) == len(out["Titles"])
        assert row[1] == pid and row[-1] == "sleep 300"
        custom = c.top(ps_args="-o pid,comm")
        assert custom["Titles"] == ["PID", "COMMAND"]
        assert custom["Processes"] == [[pid, "sleep"]]
    finally:
        c.remove(force=True)


def test_update_changes_the_live_cgroup_and_inspect(client: docker.DockerClient) -> None:
    c = client.containers.run("busybox", ["sleep", "300"], detach=True, mem_limit="64m")
    try:
        assert _cgroup_file(c, "memory", "memory.limit_in_bytes", "memory.max") == str(64 << 20)
        out = _update(client, c, Memory=96 << 20, MemorySwap=192 << 20, CpuShares=512, PidsLimit=50)
        assert out == {"Warnings": []}
        assert _cgroup_file(c, "memory", "memory.limit_in_bytes", "memory.max") == str(96 << 20)
        assert _cgroup_file(c, "pids", "pids.max", "pids.max") == "50"
        if cgroups.detect().mode != "v2":
            assert _cgroup_file(c, "cpu", "cpu.shares", "cpu.weight") == "512"
        c.update(restart_policy={"Name": "on-failure", "MaximumRetryCount": 3})
        c.reload()
        hc = c.attrs["HostConfig"]
        assert hc["Memory"] == 96 << 20 and hc["MemorySwap"] == 192 << 20
        assert hc["CpuShares"] == 512 and hc["PidsLimit"] == 50
        assert hc["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 3}
        # Docker's merge: a memory above the set memory+swap needs the swap too
        with pytest.raises(APIError) as err:
            c.update(mem_limit="512m")
        assert err.value.status_code == 409
        assert "update the memoryswap at the same time" in str(err.value)
        with pytest.raises(APIError) as err:
            c.update(mem_limit="1m")
        assert err.value.status_code == 400
        assert "Minimum memory limit allowed is 6MB" in str(err.value)
        c.reload()
        assert c.attrs["HostConfig"]["Memory"] == 96 << 20
    finally:
        c.remove(force=True)


def test_update_below_usage_is_refused_and_rolled_back(client: docker.DockerClient) -> None:
    # 24 MiB in tmpfs are charged to the container and cannot be reclaimed without swap
    c = client.containers.run(
        "busybox",
        [
            "sh",
            "-c",
            "dd if=/dev/zero of=/dev/shm/fill bs=1M count=24 2>/dev/null; echo filled; sleep 300",
        ],
        detach=True,
        mem_limit="64m",
        memswap_limit="64m",
        shm_size="48m",
    )
    try:
        deadline = time.monotonic() + 10
        while b"filled" not in c.logs() and time.monotonic() < deadline:
            time.sleep(0.1)
        with pytest.raises(APIError) as err:
            c.update(mem_limit="8m", memswap_limit="8m")
        assert err.value.status_code == 500
        assert f"Cannot update container {c.id}" in str(err.value)
        c.reload()
        assert c.attrs["HostConfig"]["Memory"] == 64 << 20
        assert _cgroup_file(c, "memory", "memory.limit_in_bytes", "memory.max") == str(64 << 20)
    finally:
        c.remove(force=True)


def test_update_of_a_stopped_container_applies_at_start(client: docker.DockerClient) -> None:
    c = client.containers.create("busybox", ["sleep", "300"])
    try:
        _update(client, c, PidsLimit=20, RestartPolicy={"Name": "always"})
        c.reload()
        assert c.attrs["HostConfig"]["PidsLimit"] == 20
        assert c.attrs["HostConfig"]["RestartPolicy"]["Name"] == "always"
        c.start()
        assert _cgroup_file(c, "pids", "pids.max", "pids.max") == "20"
    finally:
        c.remove(force=True)


def test_stats_one_shot_and_stream(client: docker.DockerClient) -> None:
    c = client.containers.run(
        "busybox", ["sh", "-c", "while true; do :; done"], detach=True, name="busy"
    )
    try:
        s = c.stats(stream=False, one_shot=True)
        assert s["name"] == "/busy" and s["id"] == c.id
        assert s["memory_stats"]["usage"] > 0 and s["memory_stats"]["limit"] > 0
        assert s["cpu_stats"]["cpu_usage"]["total_usage"] > 0
        assert s["cpu_stats"]["system_cpu_usage"] > 0 and s["cpu_stats"]["online_cpus"] >= 1
        assert s["precpu_stats"]["cpu_usage"]["total_usage"] == 0
        assert s["preread"] == "0001-01-01T00:00:00Z"
        assert s["pids_stats"]["current"] >= 1
        assert set(s["blkio_stats"]) >= {"io_service_bytes_recursive", "io_serviced_recursive"}

        t0 = time.monotonic()
        two = c.stats(stream=False)  # dockerd samples twice, a second apart
        assert time.monotonic() - t0 >= 0.9
        assert two["preread"] != "0001-01-01T00:00:00Z"
        cur, pre = two["cpu_stats"], two["precpu_stats"]
        assert cur["cpu_usage"]["total_usage"] > pre["cpu_usage"]["total_usage"] > 0
        assert cur["system_cpu_usage"] > pre["system_cpu_usage"]

        stream = c.stats(stream=True, decode=True)
        first, second = next(stream), next(stream)
        stream.close()
        assert first["memory_stats"]["usage"] > 0
        assert second["preread"] == first["read"]
        assert second["precpu_stats"] == first["cpu_stats"]
        assert (
            second["cpu_stats"]["cpu_usage"]["total_usage"]
            > first["cpu_stats"]["cpu_usage"]["total_usage"]
        )
    finally:
        c.remove(force=True)


def test_stats_of_a_stopped_container_are_zeros(client: docker.DockerClient) -> None:
    c = client.containers.create("busybox", ["true"], name="idle")
    try:
        s = c.stats(stream=False)
        assert s["read"] == "0001-01-01T00:00:00Z"
        assert s["name"] == "/idle" and s["memory_stats"] == {} and s["pids_stats"] == {}
        assert s["cpu_stats"]["cpu_usage"]["total_usage"] == 0
        assert "networks" not in s
    finally:
        c.remove(force=True)
