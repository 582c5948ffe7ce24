"""Healthchecks, ``--init`` and ``GET /events`` through berthd, driven by the Python docker
SDK: a healthcheck going healthy then unhealthy with its log in inspect and its events,
``HealthOnFailure=restart`` (berth's addition), tini as PID 1 forwarding signals, and
image/volume events."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import docker
import pytest

from berth.testing.berthd import Berthd

pytestmark = pytest.mark.root

S = 1_000_000_000


@pytest.fixture
def client(daemon: Berthd, busybox: str) -> Iterator[docker.DockerClient]:
    c = docker.DockerClient(base_url=daemon.host, version="1.41", timeout=60)
    yield c
    for ctr in c.containers.list(all=True):
        ctr.remove(force=True)
    c.close()


def _until(cond: Callable[[], Any], timeout: float = 20.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        got = cond()
        if got:
            return got
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _health(client: docker.DockerClient, cid: str) -> dict[str, Any]:
    st: dict[str, Any] = client.api.inspect_container(cid)["State"]
    return st.get("Health") or {}


def _events(client: docker.DockerClient, since: float, **filters: Any) -> list[dict[str, Any]]:
    return list(
        client.events(decode=True, since=since, until=time.time() + 0.05, filters=filters or None)
    )


def _create(daemon: Berthd, name: str, body: dict[str, Any]) -> str:
    """Create through the raw API: the SDK drops Healthcheck fields it does not know
    (StartInterval) and HostConfig fields that are berth's (HealthOnFailure)."""
    status, _, out = daemon.request(
        "POST",
        f"/containers/create?name={name}",
        json.dumps(body).encode(),
        {"Content-Type": "application/json"},
    )
    assert status == 201, out
    cid: str = json.loads(out)["Id"]
    return cid


def test_healthcheck_turns_healthy_then_unhealthy_with_log_and_events(
    client: docker.DockerClient, daemon: Berthd
) -> None:
    since = time.time() - 1
    script = "sleep 1; touch /tmp/ok; sleep 3; rm /tmp/ok; sleep 300"
    check = {
        "Test": ["CMD-SHELL", "test -f /tmp/ok && echo fine"],
        "Interval": 200_000_000,
        "Timeout": 5 * S,
        "Retries": 2,
        "StartPeriod": 30 * S,
        "StartInterval": 200_000_000,
    }
    cid = _create(
        daemon,
        "hc-basic",
        {
            "Image": "busybox",
            "Cmd": ["sh", "-c", script],
            "StopSignal": "SIGKILL",
            "Healthcheck": check,
        },
    )
    c = client.containers.get(cid)
    c.start()
    assert _health(client, c.id)["Status"] == "starting"
    _until(lambda: _health(client, c.id).get("Status") == "healthy", what="healthy")
    h = _health(client, c.id)
    assert h["FailingStreak"] == 0
    last = h["Log"][-1]
    assert last["ExitCode"] == 0 and last["Output"] == "fine\n"
    assert last["Start"] <= last["End"]
    assert "(healthy)" in client.api.containers(filters={"id": c.id})[0]["Status"]
    _until(lambda: _health(client, c.id).get("Status") == "unhealthy", what="unhealthy")
    h = _health(client, c.id)
    assert h["FailingStreak"] >= 2
    assert 1 <= len(h["Log"]) <= 5
    assert h["Log"][-1]["ExitCode"] == 1
    c.kill()
    c.wait(timeout=30)
    assert _health(client, c.id)["Status"] == "unhealthy"
    actions = [e["Action"] for e in _events(client, since, container="hc-basic")]
    health = [a for a in actions if a.startswith("health_status")]
    assert health == ["health_status: healthy", "health_status: unhealthy"]
    assert actions.index("start") < actions.index("health_status: healthy") < actions.index("die")
    only = _events(client, since, event="health_status")
    assert [e["Action"] for e in only] == health
    assert only[0]["Actor"]["Attributes"]["name"] == "hc-basic"
    assert only[0]["from"] == "busybox"
    c.remove()


def test_probe_timeout_is_a_failure_with_dockers_message(client: docker.DockerClient) -> None:
    c = client.containers.run(
        "busybox",
        ["sleep", "300"],
        detach=True,
        stop_signal="SIGKILL",
        healthcheck={
            "test": ["CMD", "sleep", "5"],
            "interval": 100_000_000,
            "timeout": 300_000_000,
            "retries": 1,
        },
    )
    _until(lambda: _health(client, c.id).get("Status") == "unhealthy", what="unhealthy")
    entry = _health(client, c.id)["Log"][0]
    assert entry["ExitCode"] == -1
    assert entry["Output"] == "Health check exceeded timeout (300ms)"
    c.remove(force=True)


def test_probe_command_not_found_is_a_failure_with_the_runtimes_message(
    client: docker.DockerClient,
) -> None:
    c = client.containers.run(
        "busybox",
        ["sleep", "300"],
        detach=True,
        stop_signal="SIGKILL",
        healthcheck={"test": ["CMD", "no-such-probe"], "interval": 100_000_000, "retries": 1},
    )
    _until(lambda: _health(client, c.id).get("Status") == "unhealthy", what="unhealthy")
    entry = _health(client, c.id)["Log"][0]
    assert entry["ExitCode"] == -1
    assert entry["Output"].startswith("OCI runtime exec failed: ")
    assert "no-such-probe" in entry["Output"] and "executable file not found" in entry["Output"]
    c.remove(force=True)


def test_health_on_failure_restart_restarts_the_container(
    client: docker.DockerClient, daemon: Berthd
) -> None:
    since = time.time() - 1
    # unhealthy on the first run; the restarted run (same rw layer) finds /tmp/once
    script = "if [ -f /tmp/once ]; then touch /tmp/ok; fi; touch /tmp/once; sleep 300"
    check = {"Test": ["CMD-SHELL", "test -f /tmp/ok"], "Interval": 200_000_000, "Retries": 1}
    cid = _create(
        daemon,
        "hc-restart",
        {
            "Image": "busybox",
            "Cmd": ["sh", "-c", script],
            "StopSignal": "SIGKILL",
            "Healthcheck": check,
            "HostConfig": {"HealthOnFailure": "restart"},
        },
    )
    client.api.start(cid)
    first = client.api.inspect_container(cid)["State"]["StartedAt"]
    assert client.api.inspect_container(cid)["HostConfig"]["HealthOnFailure"] == "restart"
    _until(
        lambda: _health(client, cid).get("Status") == "healthy",
        timeout=30,
        what="healthy after restart",
    )
    st = client.api.inspect_container(cid)["State"]
    assert st["Running"] and st["StartedAt"] != first
    actions = [e["Action"] for e in _events(client, since, container=cid)]
    assert "health_status: unhealthy" in actions
    assert actions.index("health_status: unhealthy") < actions.index("restart")
    assert actions[-1] == "health_status: healthy"
    client.api.remove_container(cid, force=True)


def test_init_runs_docker_init_as_pid_1(client: docker.DockerClient) -> None:
    out = client.containers.run(
        "busybox", ["ps", "-o", "pid,comm"], init=True, remove=True
    ).decode()
    rows = [line.split() for line in out.strip().splitlines()[1:]]
    procs = {comm: int(pid) for pid, comm in rows}
    assert procs.get("docker-init") == 1, out
    assert procs.get("ps", 1) != 1, out


def test_init_forwards_stop_signal(client: docker.DockerClient) -> None:
    c = client.containers.run("busybox", ["sleep", "300"], init=True, detach=True)
    assert client.api.inspect_container(c.id)["Path"] == "sleep"
    t0 = time.monotonic()
    c.stop(timeout=10)
    assert time.monotonic() - t0 < 5
    assert c.wait(timeout=10)["StatusCode"] == 143
    c.remove()


def test_image_and_volume_events(client: docker.DockerClient) -> None:
    since = time.time() - 1
    image_id = client.images.get("busybox").id
    client.images.get("busybox").tag("busybox", "events")
    client.images.remove("busybox:events")
    client.volumes.create("ev-vol").remove()
    imgs = _events(client, since, type="image")
    assert [(e["Action"], e["id"], e["Actor"]["Attributes"]["name"]) for e in imgs] == [
        ("tag", image_id, "busybox:events"),
        ("untag", image_id, image_id),
    ]
    vols = _events(client, since, type="volume", volume="ev-vol")
    assert [(e["Action"], e["Actor"]["ID"], e["Actor"]["Attributes"]) for e in vols] == [
        ("create", "ev-vol", {"driver": "local"}),
        ("destroy", "ev-vol", {"driver": "local"}),
    ]
    assert "status" not in vols[0]
