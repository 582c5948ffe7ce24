"""Containers through berthd, driven by the Python docker SDK from PyPI (what users point
at berth): run, logs, wait, exit codes, stop/kill/rm, errors, restart policies, volumes,
binds, and live restore across a berthd kill -9."""

from __future__ import annotations

import os
import signal
import time

import docker
import pytest
from docker.errors import APIError, ImageNotFound, NotFound

from berth.testing.berthd import Berthd

pytestmark = pytest.mark.root


@pytest.fixture
def client(daemon: Berthd, busybox: str) -> docker.DockerClient:
    c = docker.DockerClient(base_url=daemon.host, version="1.41", timeout=60)
    yield c
    c.close()


def test_run_prints_output_and_removes(client: docker.DockerClient) -> None:
    out = client.containers.run("busybox", ["sh", "-c", "echo hello; echo oops >&2"], remove=True, stderr=True)
    assert b"hello\n" in out
    assert client.containers.list(all=True) == []


def test_exit_codes_and_logs(client: docker.DockerClient) -> None:
    c = client.containers.run("busybox", ["sh", "-c", "echo out; echo err >&2; exit 3"], detach=True)
    assert c.wait(timeout=30)["StatusCode"] == 3
    assert c.logs(stdout=True, stderr=False) == b"out\n"
    assert c.logs(stdout=False, stderr=True) == b"err\n"
    c.reload()
    assert c.attrs["State"]["Status"] == "exited"
    assert c.attrs["State"]["ExitCode"] == 3
    assert c.attrs["Name"] == "/" + c.name
    c.remove()
    with pytest.raises(NotFound):
        client.containers.get(c.id)


def test_detached_stop_kill_and_remove(client: docker.DockerClient, daemon: Berthd) -> None:
    c = client.containers.run("busybox", ["sleep", "300"], detach=True, name="sleeper")
    c.reload()
    assert c.status == "running"
    pid = c.attrs["State"]["Pid"]
    assert pid > 0 and os.path.exists(f"/proc/{pid}")
    assert [x.name for x in client.containers.list()] == ["sleeper"]
    with pytest.raises(APIError) as err:
        c.remove()
    assert err.value.status_code == 409
    assert "container is running" in str(err.value)
    t0 = time.monotonic()
    c.stop(timeout=1)  # sleep as PID 1 ignores SIGTERM: killed after the timeout
    assert time.monotonic() - t0 < 10
    c.reload()
    assert c.attrs["State"]["ExitCode"] == 137
    assert not os.path.exists(f"/proc/{pid}")
    c.start()
    c.reload()
    assert c.status == "running"
    c.kill()
    assert c.wait(timeout=30)["StatusCode"] == 137
    c.remove()
    # nothing of it is left: no bundle, no shim state, no rootfs mount
    assert os.listdir(os.path.join(daemon.root, "containers")) == []
    with open("/proc/self/mountinfo") as f:
        assert daemon.dir not in f.read()


def test_bad_input_is_refused_cleanly(client: docker.DockerClient, daemon: Berthd) -> None:
    with pytest.raises(ImageNotFound, match="No such image: nosuchimage"):
        client.containers.create("nosuchimage:latest", ["true"])
    with pytest.raises(APIError, match="Minimum memory limit allowed is 6MB"):
        client.containers.create("busybox", ["true"], mem_limit="1k")
    with pytest.raises(APIError, match="bind source path does not exist"):
        client.containers.create(
            "busybox", ["true"], mounts=[docker.types.Mount("/x", "/nonexistent-berth-src", type="bind")]
        )
    client.containers.create("busybox", ["true"], name="taken")
    with pytest.raises(APIError, match='The container name "/taken" is already in use') as err:
        client.containers.create("busybox", ["true"], name="taken")
    assert err.value.status_code == 409
    assert [c.name for c in client.containers.list(all=True)] == ["taken"]
    # a command that is not there: create works, start fails, exit code 127
    c = client.containers.create("busybox", ["nosuchcommand"])
    with pytest.raises(APIError) as err:
        c.start()
    assert err.value.status_code == 400
    assert "executable file not found" in str(err.value) or "no such file" in str(err.value)
    c.reload()
    assert c.attrs["State"]["ExitCode"] == 127
    assert c.attrs["State"]["Running"] is False
    c.remove()
    with open("/proc/self/mountinfo") as f:
        assert f"{daemon.root}/containers" not in f.read()


def test_restart_policy_on_failure(client: docker.DockerClient) -> None:
    c = client.containers.run(
        "busybox", ["sh", "-c", "echo run; exit 1"], detach=True, restart_policy={"Name": "on-failure", "MaximumRetryCount": 2}
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        c.reload()
        if c.attrs["RestartCount"] == 2 and c.status == "exited":
            break
        time.sleep(0.1)
    assert c.attrs["RestartCount"] == 2
    assert c.status == "exited"
    assert c.logs() == b"run\nrun\nrun\n"
    c.remove()


def test_volumes_and_binds(client: docker.DockerClient, tmp_path) -> None:  # type: ignore[no-untyped-def]
    host = tmp_path / "src"
    host.mkdir()
    (host / "in.txt").write_text("from host\n")
    out = client.containers.run(
        "busybox",
        ["sh", "-c", "cat /h/in.txt; echo data > /v/f; touch /h/x 2>&1 || echo ro-refused"],
        volumes={str(host): {"bind": "/h", "mode": "ro"}, "berth-test-vol": {"bind": "/v", "mode": "rw"}},
        remove=True,
    )
    assert out == b"from host\nro-refused\n" or out.startswith(b"from host\ntouch:")
    out = client.containers.run("busybox", ["cat", "/v/f"], volumes={"berth-test-vol": {"bind": "/v"}}, remove=True)
    assert out == b"data\n"
    # an image directory is copied into a new named volume on first use (Docker's rule)
    out = client.containers.run("busybox", ["ls", "/etc/passwd"], volumes={"berth-test-etc": {"bind": "/etc"}}, remove=True)
    assert out == b"/etc/passwd\n"
    client.volumes.get("berth-test-vol").remove()
    client.volumes.get("berth-test-etc").remove()


def test_live_restore_after_kill_9(client: docker.DockerClient, daemon: Berthd) -> None:
    c = client.containers.run("busybox", ["sh", "-c", "i=0; while [ $i -lt 600 ]; do echo $i; i=$((i+1)); sleep 0.05; done"], detach=True)
    done = client.containers.run("busybox", ["sh", "-c", "sleep 0.5; exit 7"], detach=True)
    c.reload()
    pid = c.attrs["State"]["Pid"]
    assert daemon.proc is not None
    daemon.proc.send_signal(signal.SIGKILL)
    daemon.proc.wait()
    time.sleep(1.0)  # `done` exits while berthd is down
    again = Berthd(daemon.dir, base=daemon.dir)
    again.launch()
    daemon.proc = again.proc
    client2 = docker.DockerClient(base_url=daemon.host, version="1.41", timeout=60)
    try:
        c2 = client2.containers.get(c.id)
        assert c2.status == "running"
        assert c2.attrs["State"]["Pid"] == pid
        d2 = client2.containers.get(done.id)
        assert d2.status == "exited"
        assert d2.attrs["State"]["ExitCode"] == 7
        c2.stop(timeout=1)
        lines = c2.logs().decode().split()
        assert lines == [str(i) for i in range(len(lines))]  # no gap across the restart
        assert len(lines) > 20
        c2.remove()
        d2.remove()
    finally:
        client2.close()


def test_kill_9_with_20_running_and_5_starting(client: docker.DockerClient, daemon: Berthd) -> None:
    import threading

    loop = "i=0; while [ $i -lt 2000 ]; do echo $i; i=$((i+1)); sleep 0.02; done"
    running = [client.containers.run("busybox", ["sh", "-c", loop], detach=True) for _ in range(20)]
    pids = {c.id: client.api.inspect_container(c.id)["State"]["Pid"] for c in running}
    starting = [client.containers.create("busybox", ["sleep", "300"]) for _ in range(5)]
    threads = [threading.Thread(target=lambda c=c: _quiet(c.start)) for c in starting]
    for t in threads:
        t.start()
    time.sleep(0.05)
    assert daemon.proc is not None
    daemon.proc.send_signal(signal.SIGKILL)
    daemon.proc.wait()
    for t in threads:
        t.join(30)
    again = Berthd(daemon.dir, base=daemon.dir)
    again.launch()
    daemon.proc = again.proc
    client2 = docker.DockerClient(base_url=daemon.host, version="1.41", timeout=60)
    try:
        every = {c.id: c for c in client2.containers.list(all=True)}
        assert set(every) == set(pids) | {c.id for c in starting}
        for cid, pid in pids.items():
            st = client2.api.inspect_container(cid)["State"]
            assert st["Running"] and st["Pid"] == pid, st  # never stopped
        for c in starting:
            st = client2.api.inspect_container(c.id)["State"]
            assert st["Status"] in ("running", "created", "exited"), st
            if st["Running"]:
                assert os.path.exists(f"/proc/{st['Pid']}")
        time.sleep(0.3)
        for c in running:
            lines = client2.containers.get(c.id).logs().decode().split()
            assert lines == [str(i) for i in range(len(lines))]  # no gap
        for c in every.values():
            c.remove(force=True)
        assert client2.containers.list(all=True) == []
        with open("/proc/self/mountinfo") as f:
            assert daemon.dir not in f.read()
        assert os.listdir(os.path.join(daemon.exec_root, "s")) == []
    finally:
        client2.close()


def _quiet(fn) -> None:  # type: ignore[no-untyped-def]
    try:
        fn()
    except Exception:  # the daemon is killed under it on purpose
        pass


def test_volumes_from_sizes_df_and_rmi_in_use(client: docker.DockerClient) -> None:
    src = client.containers.create("busybox", ["true"], volumes={"berth-test-vf": {"bind": "/shared"}}, name="src")
    out = client.containers.run("busybox", ["sh", "-c", "echo x > /shared/f; cat /shared/f"], volumes_from=["src"], remove=True)
    assert out == b"x\n"
    with pytest.raises(docker.errors.ContainerError, match="Read-only file system"):
        client.containers.run("busybox", ["sh", "-c", "echo y > /shared/f"], volumes_from=["src:ro"], remove=True)
    with pytest.raises(NotFound, match="No such container: nosuch"):
        client.containers.create("busybox", ["true"], volumes_from=["nosuch"])
    # sizes: the container's own layer
    c = client.containers.run("busybox", ["sh", "-c", "head -c 100000 /dev/zero > /big"], detach=True)
    c.wait(timeout=30)
    info = client.api._result(client.api._get(client.api._url("/containers/{0}/json", c.id), params={"size": 1}), True)
    assert info["SizeRw"] >= 100000
    assert info["SizeRootFs"] > info["SizeRw"]
    df = client.df()
    assert {x["Id"] for x in df["Containers"]} >= {c.id, src.id}
    vol = [v for v in df["Volumes"] if v["Name"] == "berth-test-vf"]
    assert vol and vol[0]["UsageData"]["RefCount"] == 1 and vol[0]["UsageData"]["Size"] > 0
    # an image in use is not removed
    with pytest.raises(APIError) as err:
        client.images.remove("busybox")
    assert err.value.status_code == 409
    assert "is using its referenced image" in str(err.value)
    c.remove()
    src.remove(v=True)
    client.volumes.get("berth-test-vf").remove()


def test_restart_always_backs_off_and_stop_ends_it(client: docker.DockerClient) -> None:
    c = client.containers.run("busybox", ["sh", "-c", "echo up; exit 0"], detach=True, restart_policy={"Name": "always"})
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        c.reload()
        if c.attrs["RestartCount"] >= 3:
            break
        time.sleep(0.05)
    assert c.attrs["RestartCount"] >= 3  # exit 0 is restarted too, with growing delays
    c.stop(timeout=1)
    c.reload()
    count = c.attrs["RestartCount"]
    time.sleep(1.0)
    c.reload()
    assert c.status == "exited" and c.attrs["RestartCount"] == count  # stop ends the policy
    c.remove()


def test_unless_stopped_survives_a_daemon_restart_only_when_running(client: docker.DockerClient, daemon: Berthd) -> None:
    up = client.containers.run("busybox", ["sleep", "300"], detach=True, restart_policy={"Name": "unless-stopped"})
    down = client.containers.run("busybox", ["sleep", "300"], detach=True, restart_policy={"Name": "unless-stopped"})
    down.stop(timeout=1)
    daemon.stop()
    again = Berthd(daemon.dir, base=daemon.dir)
    again.launch()
    daemon.proc = again.proc
    client2 = docker.DockerClient(base_url=daemon.host, version="1.41", timeout=60)
    try:
        assert client2.containers.get(up.id).status == "running"  # live restore: never stopped
        time.sleep(0.5)
        assert client2.containers.get(down.id).status == "exited"  # stopped by hand stays so
        for c in (up, down):
            client2.containers.get(c.id).remove(force=True)
    finally:
        client2.close()


def test_logs_rotate_by_default_and_as_configured(client: docker.DockerClient) -> None:
    c = client.containers.create("busybox", ["true"])
    assert c.attrs["HostConfig"]["LogConfig"] == {"Type": "json-file", "Config": {"max-size": "10m", "max-file": "3"}}
    c.remove()
    script = "i=0; while [ $i -lt 400 ]; do echo line-$i-xxxxxxxxxxxxxxxxxxxxxxxx; i=$((i+1)); done"
    c = client.containers.run("busybox", ["sh", "-c", script], detach=True,
                              log_config={"Type": "json-file", "Config": {"max-size": "4k", "max-file": "2"}})  # fmt: skip
    c.wait(timeout=30)
    log = c.attrs["LogPath"]
    files = [f for f in os.listdir(os.path.dirname(log)) if f.startswith(os.path.basename(log))]
    assert sorted(files) == sorted([os.path.basename(log), os.path.basename(log) + ".1"])
    assert all(os.path.getsize(os.path.join(os.path.dirname(log), f)) <= 4096 + 200 for f in files)
    lines = c.logs().decode().split()
    assert lines[-1] == "line-399-xxxxxxxxxxxxxxxxxxxxxxxx"
    assert [int(x.split("-")[1]) for x in lines] == list(range(400 - len(lines), 400))  # the newest, in order
    none = client.containers.run("busybox", ["echo", "x"], detach=True, log_config={"Type": "none"})
    none.wait(timeout=30)
    with pytest.raises(APIError, match="does not support reading"):
        none.logs()
    c.remove()
    none.remove()
