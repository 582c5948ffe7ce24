"""berthd driven by the Python docker SDK the way docker-py's own integration suites
(api_container_test, models_containers_test, api_exec_test, api_volume_test) drive
dockerd 20.10: create with many options, inspect fields, list filters, logs, attach,
wait conditions, archives, stats/top/diff/export/commit, rename/update/pause/kill, exec,
volumes, events, df and the error types and status codes of bad calls."""

from __future__ import annotations

import io
import socket
import tarfile
import threading
import time
from collections.abc import Iterator

import docker
import pytest
from docker.errors import APIError, NotFound
from docker.types import LogConfig, Mount, Ulimit

from berth.testing.berthd import Berthd

pytestmark = pytest.mark.root


@pytest.fixture
def client(daemon: Berthd, busybox: str) -> Iterator[docker.DockerClient]:
    c = docker.DockerClient(base_url=daemon.host, version="1.41", timeout=60)
    yield c
    c.close()


def _read_all(sock: socket.socket) -> bytes:
    sock.settimeout(10)
    data = b""
    while chunk := sock.recv(4096):
        data += chunk
    return data


def test_create_with_many_options(client: docker.DockerClient, tmp_path) -> None:  # type: ignore[no-untyped-def]
    api = client.api
    (tmp_path / "f").write_text("bound\n")
    hc = api.create_host_config(
        binds={str(tmp_path): {"bind": "/mnt", "mode": "ro"}}, mem_limit="64m", cpu_shares=512,
        cpuset_cpus="0", pids_limit=100, ulimits=[Ulimit(name="nofile", soft=1024, hard=2048)],
        cap_add=["NET_ADMIN"], cap_drop=["MKNOD"], read_only=True, tmpfs={"/run": "size=10m"},
        sysctls={"net.ipv4.ip_forward": "1"}, security_opt=["no-new-privileges"], init=True,
        restart_policy={"Name": "on-failure", "MaximumRetryCount": 2},
        log_config=LogConfig(type="json-file", config={"max-size": "1m"}), shm_size="32m",
        oom_kill_disable=True, group_add=["tty", "1234"], dns=["8.8.8.8"], extra_hosts={"foo": "1.2.3.4"},
        network_mode="none", devices=["/dev/null:/dev/xnull:rwm"],
    )  # fmt: skip
    c = api.create_container(
        "busybox", "sh -c 'echo \"hi there\"; sleep 100'", hostname="myhost", domainname="example.com",
        user="1000:1000", working_dir="/tmp", environment={"A": "1", "B": "x y"}, labels={"l1": "v1"},
        stop_signal="SIGUSR1", volumes=["/vol"], host_config=hc,
        healthcheck={"test": ["CMD", "true"], "interval": 1_000_000_000},
    )  # fmt: skip
    assert c["Warnings"] == [] or c["Warnings"] is None
    i = api.inspect_container(c["Id"])
    assert i["Path"] == "sh" and i["Args"] == ["-c", 'echo "hi there"; sleep 100']
    cfg, h = i["Config"], i["HostConfig"]
    assert (cfg["Hostname"], cfg["Domainname"], cfg["User"], cfg["WorkingDir"]) == (
        "myhost",
        "example.com",
        "1000:1000",
        "/tmp",
    )
    assert {"A=1", "B=x y"} <= set(cfg["Env"])
    assert cfg["Labels"] == {"l1": "v1"} and cfg["StopSignal"] == "SIGUSR1"
    assert cfg["Volumes"] == {"/vol": {}}
    # dockerd omits the zero fields of a HealthConfig
    assert cfg["Healthcheck"] == {"Test": ["CMD", "true"], "Interval": 1_000_000_000}
    assert h["Binds"] == [f"{tmp_path}:/mnt:ro"]
    assert (h["Memory"], h["MemorySwap"], h["CpuShares"], h["CpusetCpus"], h["PidsLimit"]) == (
        64 << 20, 128 << 20, 512, "0", 100)  # fmt: skip
    assert h["Ulimits"] == [{"Name": "nofile", "Soft": 1024, "Hard": 2048}]
    assert (h["CapAdd"], h["CapDrop"], h["ReadonlyRootfs"], h["Init"]) == (
        ["NET_ADMIN"],
        ["MKNOD"],
        True,
        True,
    )
    assert h["Tmpfs"] == {"/run": "size=10m"} and h["ShmSize"] == 32 << 20
    assert h["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 2}
    assert h["LogConfig"]["Type"] == "json-file" and h["LogConfig"]["Config"]["max-size"] == "1m"
    assert (h["OomKillDisable"], h["GroupAdd"], h["Dns"], h["ExtraHosts"]) == (
        True,
        ["tty", "1234"],
        ["8.8.8.8"],
        ["foo:1.2.3.4"],
    )
    assert h["NetworkMode"] == "none" and h["Sysctls"] == {"net.ipv4.ip_forward": "1"}
    assert h["Devices"] == [
        {"PathOnHost": "/dev/null", "PathInContainer": "/dev/xnull", "CgroupPermissions": "rwm"}
    ]
    mounts = {m["Destination"]: m for m in i["Mounts"]}
    # a HostConfig.Tmpfs entry is not one of dockerd's MountPoints
    assert set(mounts) == {"/mnt", "/vol"}
    assert mounts["/mnt"] == {"Type": "bind", "Source": str(tmp_path), "Destination": "/mnt", "Mode": "ro",
                              "RW": False, "Propagation": "rprivate"}  # fmt: skip
    assert (
        mounts["/vol"]["Type"] == "volume"
        and mounts["/vol"]["Driver"] == "local"
        and mounts["/vol"]["RW"]
    )
    assert i["State"]["Status"] == "created" and i["State"]["StartedAt"] == "0001-01-01T00:00:00Z"

    api.start(c["Id"])
    st = api.inspect_container(c["Id"])["State"]
    assert st["Running"] and st["Pid"] > 0 and st["Health"]["Status"] in ("starting", "healthy")
    script = (
        "id -u; id -G; hostname; pwd; echo $B; ulimit -n; cat /proc/sys/net/ipv4/ip_forward; "
        "grep foo /etc/hosts; cat /etc/resolv.conf; ls /dev/xnull; touch /x 2>/dev/null || echo ro; ps -o comm"
    )
    out = api.exec_start(api.exec_create(c["Id"], ["sh", "-c", script])["Id"]).decode()
    lines = out.splitlines()
    assert lines[0] == "1000" and set(lines[1].split()) >= {"5", "1234"}
    assert lines[2:7] == ["myhost", "/tmp", "x y", "1024", "1"]
    assert api.exec_start(api.exec_create(c["Id"], "cat /mnt/f", user="root")["Id"]) == b"bound\n"
    assert (
        "1.2.3.4\tfoo" in out
        and "nameserver 8.8.8.8" in out
        and "/dev/xnull" in out
        and "\nro\n" in out
    )
    assert "docker-init" in out or "init" in lines[-3:][0] or "init" in out
    api.kill(c["Id"], 9)
    assert api.wait(c["Id"])["StatusCode"] == 137
    api.remove_container(c["Id"], v=True)
    assert client.volumes.list() == []
    # docker-py's test_create_with_cpu_rt_options / test_create_with_isolation: the SDK
    # sends CPURealtimePeriod, which Go's case-insensitive JSON decoding accepts
    hc = api.create_host_config(cpu_rt_period=1000, cpu_rt_runtime=500, isolation="default")
    h = api.inspect_container(api.create_container("busybox", "true", host_config=hc))["HostConfig"]
    assert (h["CpuRealtimePeriod"], h["CpuRealtimeRuntime"], h["Isolation"]) == (
        1000,
        500,
        "default",
    )
    with pytest.raises(APIError) as err:
        api.create_container(
            "busybox", "true", host_config=api.create_host_config(isolation="hyperv")
        )
    assert err.value.status_code == 400 and "Invalid isolation" in str(err.value)
    client.containers.prune()


def test_list_filters(client: docker.DockerClient) -> None:
    c1 = client.containers.run("busybox", "true", detach=True, name="c1", labels=["foo", "bar=baz"])
    c1.wait(timeout=30)
    c2 = client.containers.create("busybox", "sleep 100", name="c2", labels={"x": "y"})
    c3 = client.containers.run("busybox", "sleep 100", detach=True, name="c3")

    def names(**kw: object) -> list[str]:
        return [c.name for c in client.containers.list(**kw)]  # type: ignore[arg-type]

    assert names() == ["c3"]
    assert names(all=True) == ["c3", "c2", "c1"]
    assert names(all=True, filters={"status": "exited"}) == ["c1"]
    assert names(all=True, filters={"status": "created"}) == ["c2"]
    assert names(filters={"status": ["running", "created"]}) == ["c3", "c2"]
    assert names(all=True, filters={"label": "foo"}) == ["c1"]
    assert c1.attrs["Config"]["Labels"] == {"foo": "", "bar=baz": ""}  # list labels are keys
    assert names(all=True, filters={"label": "bar=baz"}) == []
    assert names(all=True, filters={"label": "x=y"}) == ["c2"]
    assert names(all=True, filters={"label": ["foo", "x"]}) == []
    assert names(all=True, filters={"name": "c1"}) == ["c1"]
    assert names(all=True, filters={"name": "^/c[12]$"}) == ["c2", "c1"]  # regular expressions
    assert names(all=True, filters={"name": "^c3"}) == ["c3"]
    assert names(all=True, filters={"id": c2.id[:12]}) == ["c2"]
    assert names(all=True, filters={"ancestor": "busybox"}) == ["c3", "c2", "c1"]
    assert names(all=True, filters={"ancestor": "busybox:latest"}) == ["c3", "c2", "c1"]
    image_id = client.images.get("busybox").id
    assert names(all=True, filters={"ancestor": image_id}) == ["c3", "c2", "c1"]
    assert names(all=True, filters={"ancestor": "nosuchimage"}) == []
    assert names(all=True, filters={"exited": 0}) == ["c1"]
    assert names(all=True, filters={"since": "c1"}) == ["c3", "c2"]
    assert names(all=True, filters={"before": "c3"}) == ["c2", "c1"]
    assert names(all=True, limit=1) == ["c3"]
    assert (
        names(all=True, filters={"publish": "80"}) == []
        and names(all=True, filters={"expose": "80-90/tcp"}) == []
    )
    assert names(all=True, filters={"is-task": "false"}) == ["c3", "c2", "c1"]
    assert names(all=True, filters={"health": "none"}) == ["c3", "c2", "c1"]
    ids = client.api.containers(all=True, quiet=True)
    assert ids == [{"Id": c.id} for c in (c3, c2, c1)]
    summary = client.api.containers(filters={"name": "c3"})[0]
    assert (
        summary["Names"] == ["/c3"]
        and summary["Image"] == "busybox"
        and summary["State"] == "running"
    )
    assert summary["Command"] == "sleep 100" and summary["Status"].startswith("Up")
    for bad, text in [({"status": "bogus"}, "status=bogus"), ({"bogus": "x"}, "bogus"), ({"health": "x"}, "health=x"),
                      ({"exited": "x"}, "exited=x")]:  # fmt: skip
        with pytest.raises(APIError) as err:
            client.containers.list(all=True, filters=bad)
        assert err.value.status_code == 400 and f"nvalid filter '{text}'" in str(err.value)
    with pytest.raises(NotFound):
        client.containers.list(all=True, filters={"since": "nosuch"})
    assert client.containers.prune(filters={"label": "nosuch"}) == {
        "ContainersDeleted": None,
        "SpaceReclaimed": 0,
    }
    with pytest.raises(APIError) as err:
        client.containers.prune(filters={"bogus": "1"})
    assert err.value.status_code == 400 and "nvalid filter 'bogus'" in str(err.value)
    assert client.containers.prune(filters={"until": "1h"})["ContainersDeleted"] is None
    c3.kill()
    c3.wait(timeout=30)
    deleted = client.containers.prune()["ContainersDeleted"]
    assert sorted(deleted) == sorted([c1.id, c2.id, c3.id])
    assert client.containers.list(all=True) == []


def test_logs_attach_and_wait(client: docker.DockerClient) -> None:
    api = client.api
    c = client.containers.run("busybox", "sh -c 'for i in 1 2 3; do echo line$i; sleep 0.1; done; echo err >&2'",
                              detach=True, name="logger")  # fmt: skip
    assert c.wait(timeout=30)["StatusCode"] == 0
    assert c.logs() == b"line1\nline2\nline3\nerr\n"
    assert c.logs(stderr=False) == b"line1\nline2\nline3\n"
    ts = c.logs(timestamps=True).splitlines()
    assert len(ts) == 4 and ts[0].endswith(b"Z line1") and ts[0][:4].isdigit()
    assert c.logs(tail=1) == b"err\n" and c.logs(tail=0) == b""
    assert c.logs(since=int(time.time()) + 100) == b""
    assert c.logs(until=1) == b""
    assert list(c.logs(stream=True)) == [b"line1\n", b"line2\n", b"line3\n", b"err\n"]
    assert b"".join(c.logs(stream=True, follow=True)) == b"line1\nline2\nline3\nerr\n"
    # attach to a stopped container: the logs are replayed (docker-py test_attach_no_stream)
    assert c.attach(logs=True, stream=False) == b"line1\nline2\nline3\nerr\n"

    # attach before start, as `docker start -a`
    a = client.containers.create(
        "busybox", "sh -c 'sleep 0.3; echo hello; echo err >&2'", name="att"
    )
    sock = api.attach_socket(a.id, params={"stdout": 1, "stderr": 1, "stream": 1})
    a.start()
    assert (
        _read_all(sock._sock)
        == b"\x01\x00\x00\x00\x00\x00\x00\x06hello\n\x02\x00\x00\x00\x00\x00\x00\x04err\n"
    )
    sock.close()
    # and to an exited one, which streams from its next start
    sock = api.attach_socket(a.id, params={"stdout": 1, "stream": 1})
    a.start()
    assert _read_all(sock._sock) == b"\x01\x00\x00\x00\x00\x00\x00\x06hello\n"
    sock.close()

    b = client.containers.create(
        "busybox", "sh -c 'sleep 0.2; echo one; sleep 0.2; echo two'", name="att2"
    )
    gen = b.attach(stream=True, logs=True)
    b.start()
    assert b"".join(gen) == b"one\ntwo\n"

    i = client.containers.create("busybox", "cat", stdin_open=True, name="stdin")
    sock = api.attach_socket(i.id, params={"stdin": 1, "stdout": 1, "stream": 1})
    i.start()
    sock._sock.sendall(b"ping\n")
    time.sleep(0.3)
    sock._sock.shutdown(socket.SHUT_WR)
    assert _read_all(sock._sock) == b"\x01\x00\x00\x00\x00\x00\x00\x05ping\n"
    sock.close()

    t = client.containers.run("busybox", "echo tty", tty=True, detach=True, name="tty")
    assert t.wait(timeout=30)["StatusCode"] == 0
    assert t.logs() == b"tty\r\n"

    w = client.containers.create("busybox", "sh -c 'exit 4'", name="ww")
    assert w.wait(condition="not-running", timeout=5)["StatusCode"] == 0
    res: dict[str, object] = {}
    th = threading.Thread(target=lambda: res.update(r=w.wait(condition="next-exit", timeout=30)))
    th.start()
    time.sleep(0.3)
    w.start()
    th.join()
    assert res["r"] == {"Error": None, "StatusCode": 4}
    th = threading.Thread(target=lambda: res.update(r=w.wait(condition="removed", timeout=30)))
    th.start()
    time.sleep(0.3)
    w.remove()
    th.join()
    assert res["r"]["StatusCode"] == 4  # type: ignore[index]
    with pytest.raises(APIError) as err:
        api.wait(c.id, condition="bogus")
    assert err.value.status_code == 400
    with pytest.raises(NotFound):
        api.wait("nosuch")
    for x in client.containers.list(all=True):
        x.remove(force=True)


def test_archive_stats_top_diff_export_commit(client: docker.DockerClient) -> None:
    c = client.containers.run("busybox", "sleep 100", detach=True, name="busy")
    top = c.top()
    assert top["Titles"][:3] == ["UID", "PID", "PPID"] and top["Processes"][0][-1] == "sleep 100"
    assert c.top(ps_args="aux")["Titles"][0] == "USER"
    s = c.stats(stream=False)
    for key in (
        "read",
        "preread",
        "pids_stats",
        "blkio_stats",
        "cpu_stats",
        "precpu_stats",
        "memory_stats",
        "name",
        "id",
    ):
        assert key in s, key
    assert s["name"] == "/busy" and s["id"] == c.id and s["pids_stats"]["current"] == 1
    gen = c.stats(decode=True)
    first, second = next(gen), next(gen)
    assert first["preread"] == "0001-01-01T00:00:00Z" and second["preread"] == first["read"]
    gen.close()
    c.kill()
    c.wait(timeout=30)
    with pytest.raises(APIError) as err:
        c.top()
    assert err.value.status_code == 409 and "is not running" in str(err.value)

    client.containers.run(
        "busybox",
        "sh -c 'mkdir /newdir; echo x > /newdir/f; rm /etc/group; echo y >> /etc/passwd'",
        name="chg",
    )
    d = client.containers.get("chg")
    assert d.diff() == [{"Path": "/etc", "Kind": 0}, {"Path": "/etc/group", "Kind": 2}, {"Path": "/etc/passwd", "Kind": 0},
                        {"Path": "/newdir", "Kind": 1}, {"Path": "/newdir/f", "Kind": 1}]  # fmt: skip
    names = tarfile.open(fileobj=io.BytesIO(b"".join(d.export()))).getnames()
    assert "newdir/f" in names and "bin/busybox" in names and "etc/group" not in names
    chunks, stat = d.get_archive("/newdir")
    assert stat["name"] == "newdir" and stat["mode"] & 0x80000000
    assert tarfile.open(fileobj=io.BytesIO(b"".join(chunks))).getnames() == ["newdir", "newdir/f"]
    with pytest.raises(NotFound, match="Could not find the file /nope in container"):
        d.get_archive("/nope")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        ti = tarfile.TarInfo("hello.txt")
        ti.size = 5
        t.addfile(ti, io.BytesIO(b"hello"))
    assert d.put_archive("/newdir", buf.getvalue()) is True
    with pytest.raises(NotFound):
        d.put_archive("/nope", buf.getvalue())
    assert client.api.get_archive(d.id, "/newdir/hello.txt")[1]["size"] == 5
    img = d.commit(repository="myimg", tag="v1", message="msg", author="me", changes=["ENV X=1", 'CMD ["sh"]'],
                   conf={"Labels": {"a": "b"}})  # fmt: skip
    attrs = client.images.get("myimg:v1").attrs
    assert img.id == attrs["Id"] and attrs["Comment"] == "msg" and attrs["Author"] == "me"
    assert (
        "X=1" in attrs["Config"]["Env"]
        and attrs["Config"]["Cmd"] == ["sh"]
        and attrs["Config"]["Labels"] == {"a": "b"}
    )
    out = client.containers.run("myimg:v1", "cat /newdir/hello.txt", remove=True)
    assert out == b"hello\n"  # json-file ends the last partial line
    for x in client.containers.list(all=True):
        x.remove(force=True)
    client.images.remove("myimg:v1")


def test_rename_update_pause_restart_kill(client: docker.DockerClient) -> None:
    api = client.api
    c = client.containers.run("busybox", "sleep 100", detach=True, name="one")
    other = client.containers.create("busybox", "true", name="two")
    c.rename("uno")
    assert client.containers.get("uno").id == c.id
    with pytest.raises(NotFound):
        client.containers.get("one")
    with pytest.raises(APIError) as err:
        other.rename("uno")
    assert err.value.status_code == 409 and 'name "/uno" is already in use' in str(err.value)
    c.update(
        mem_limit="128m", memswap_limit="256m", cpu_shares=100, restart_policy={"Name": "always"}
    )
    h = api.inspect_container(c.id)["HostConfig"]
    assert (h["Memory"], h["MemorySwap"], h["CpuShares"], h["RestartPolicy"]["Name"]) == (
        128 << 20,
        256 << 20,
        100,
        "always",
    )
    with pytest.raises(APIError, match="Minimum memory limit allowed is 6MB"):
        c.update(mem_limit="1k")
    c.update(restart_policy={"Name": "no"})
    c.pause()
    assert api.inspect_container(c.id)["State"]["Status"] == "paused"
    with pytest.raises(APIError) as err:
        c.pause()
    assert err.value.status_code == 409 and "is already paused" in str(err.value)
    with pytest.raises(APIError) as err:
        c.exec_run("true")
    assert err.value.status_code == 409
    with pytest.raises(APIError) as err:
        c.attach(stream=True)
    assert err.value.status_code == 409 and "is paused, unpause the container before attach" in str(
        err.value
    )
    c.unpause()
    with pytest.raises(APIError) as err:
        c.unpause()
    assert err.value.status_code == 409 and "is not paused" in str(err.value)
    pid = api.inspect_container(c.id)["State"]["Pid"]
    c.restart(timeout=1)
    st = api.inspect_container(c.id)["State"]
    assert st["Running"] and st["Pid"] != pid
    with pytest.raises(APIError) as err:
        c.kill(signal="SIGBOGUS")
    assert err.value.status_code == 400 and "Invalid signal: SIGBOGUS" in str(err.value)
    c.kill(signal="SIGUSR1")  # sleep as PID 1 has no handler: ignored
    c.kill(signal=10)
    time.sleep(0.3)
    assert api.inspect_container(c.id)["State"]["Running"]
    c.kill(signal="KILL")
    assert c.wait(timeout=30)["StatusCode"] == 137
    with pytest.raises(APIError) as err:
        c.kill()
    assert err.value.status_code == 409 and "is not running" in str(err.value)
    c.start()
    c.kill(signal=9)
    assert c.wait(timeout=30)["StatusCode"] == 137
    api.stop(c.id)  # 304 for a stopped container: no error
    for x in (c, other):
        x.remove()


def test_exec(client: docker.DockerClient) -> None:
    api = client.api
    c = client.containers.run("busybox", "sleep 100", detach=True, name="ex")
    e = api.exec_create(c.id, ["sh", "-c", "echo out; echo err >&2; exit 7"])
    before = api.exec_inspect(e["Id"])
    assert (
        before["Running"] is False and before["ExitCode"] is None and before["ContainerID"] == c.id
    )
    assert (
        before["ProcessConfig"]["entrypoint"] == "sh"
        and before["OpenStdout"]
        and not before["OpenStdin"]
    )
    assert list(api.exec_start(e["Id"], stream=True, demux=True)) == [
        (b"out\n", None),
        (None, b"err\n"),
    ]
    assert api.exec_inspect(e["Id"])["ExitCode"] == 7
    with pytest.raises(APIError) as err:
        api.exec_start(e["Id"])
    assert err.value.status_code == 409
    assert c.exec_run(["sh", "-c", "echo out; echo err >&2; exit 2"], demux=True) == (
        2,
        (b"out\n", b"err\n"),
    )
    r = c.exec_run(
        "sh -c 'echo $FOO; pwd; id -u'", environment={"FOO": "bar"}, workdir="/tmp", user="1000"
    )
    assert r == (0, b"bar\n/tmp\n1000\n")
    assert c.exec_run("sh -c 'tty; echo hi'", tty=True).output == b"/dev/pts/0\r\nhi\r\n"
    assert b"".join(c.exec_run("sh -c 'echo a; echo b'", stream=True).output) == b"a\nb\n"
    assert c.exec_run("sleep 5", detach=True).exit_code is None
    assert len(api.inspect_container(c.id)["ExecIDs"]) == 1
    nosuch = c.exec_run("/nosuch")
    assert nosuch.exit_code in (126, 127) and b"no such file" in nosuch.output
    et = api.exec_create(c.id, "sleep 1", tty=True)
    t = threading.Thread(target=api.exec_start, args=(et["Id"],), kwargs={"tty": True})
    t.start()
    time.sleep(0.3)
    api.exec_resize(et["Id"], height=20, width=40)
    t.join()
    es = api.exec_create(c.id, "cat", stdin=True)
    sock = api.exec_start(es["Id"], socket=True)
    sock._sock.sendall(b"hello\n")
    sock._sock.shutdown(socket.SHUT_WR)
    assert _read_all(sock._sock) == b"\x01\x00\x00\x00\x00\x00\x00\x06hello\n"
    sock.close()
    for call in (lambda: api.exec_inspect("deadbeef"), lambda: api.exec_start("deadbeef"),
                 lambda: api.exec_resize("deadbeef", height=1, width=1), lambda: api.exec_create("nosuch", "true")):  # fmt: skip
        with pytest.raises(NotFound):
            call()
    c.kill()
    c.wait(timeout=30)
    with pytest.raises(APIError) as err:
        api.exec_create(c.id, "true")
    assert err.value.status_code == 409 and "is not running" in str(err.value)
    c.remove()


def test_volumes(client: docker.DockerClient, daemon: Berthd, tmp_path) -> None:  # type: ignore[no-untyped-def]
    api = client.api
    v = client.volumes.create("myvol", labels={"a": "b"})
    assert list(v.attrs) == [
        "CreatedAt",
        "Driver",
        "Labels",
        "Mountpoint",
        "Name",
        "Options",
        "Scope",
    ]
    assert (v.attrs["Driver"], v.attrs["Labels"], v.attrs["Scope"]) == (
        "local",
        {"a": "b"},
        "local",
    )
    assert api.create_volume("myvol")["Labels"] == {"a": "b"}  # an existing volume is answered
    anon = api.create_volume()["Name"]
    with pytest.raises(APIError) as err:
        api.create_volume("a")
    assert (
        err.value.status_code == 400
        and "includes invalid characters for a local volume name" in str(err.value)
    )
    assert sorted(x.name for x in client.volumes.list()) == sorted([anon, "myvol"])
    assert [x.name for x in client.volumes.list(filters={"label": "a=b"})] == ["myvol"]
    assert [x.name for x in client.volumes.list(filters={"name": "myv"})] == ["myvol"]
    with pytest.raises(NotFound, match="no such volume"):
        client.volumes.get("nosuch")
    c = client.containers.run("busybox", "sh -c 'echo data > /data/f'", volumes={"myvol": {"bind": "/data", "mode": "rw"}},
                              detach=True, name="vc")  # fmt: skip
    c.wait(timeout=30)
    assert [(m["Type"], m["Name"], m["Destination"], m["Mode"], m["RW"]) for m in c.attrs["Mounts"]] == [
        ("volume", "myvol", "/data", "rw", True)]  # fmt: skip
    with pytest.raises(APIError) as err:
        v.remove()
    assert err.value.status_code == 409 and "volume is in use" in str(err.value)
    assert [x.name for x in client.volumes.list(filters={"dangling": False})] == ["myvol"]
    c.remove()
    v.remove()
    with pytest.raises(NotFound):
        api.remove_volume("myvol")
    # moby's PurgeOnError: a forced remove of no volume succeeds (the SDK's remove_volume
    # never sends its force parameter, hence the raw request)
    assert daemon.request("DELETE", "/v1.41/volumes/myvol?force=1")[0] == 204
    assert client.volumes.prune()["VolumesDeleted"] == [anon]

    (tmp_path / "seen").write_text("")
    m = client.containers.run("busybox", "sh -c 'ls /b; mount | grep -c \" /tm \"'", detach=True, name="mc", mounts=[
        Mount("/m", "mvol", type="volume"), Mount("/tm", None, type="tmpfs", tmpfs_size="1m"),
        Mount("/b", str(tmp_path), type="bind", read_only=True)])  # fmt: skip
    m.wait(timeout=30)
    assert m.logs() == b"seen\n1\n"
    assert [(x["Type"], x["Destination"], x["RW"]) for x in m.attrs["Mounts"]] == [
        ("volume", "/m", True), ("tmpfs", "/tm", True), ("bind", "/b", False)]  # fmt: skip
    m.remove(v=True)
    assert [x.name for x in client.volumes.list()] == ["mvol"]  # named volumes outlive rm -v
    b = client.containers.create(
        "busybox", "true", volumes=[f"{tmp_path}:/x:ro", "named2:/y", "/anon"], name="bc"
    )
    assert b.attrs["HostConfig"]["Binds"] == [f"{tmp_path}:/x:ro", "named2:/y", "/anon"]
    b.remove(v=True)
    assert sorted(x.name for x in client.volumes.list()) == ["mvol", "named2"]
    for name in ("mvol", "named2"):
        api.remove_volume(name)


def test_events_df_and_errors(client: docker.DockerClient) -> None:
    api = client.api
    since = int(time.time())
    gen = client.events(decode=True, filters={"type": "container"})
    c = client.containers.run("busybox", "true", detach=True, name="evt")
    c.wait(timeout=30)
    c.remove()
    seen = []
    for e in gen:
        seen.append((e["Type"], e["Action"], e["Actor"]["Attributes"]["name"]))
        assert e["status"] == e["Action"] and e["id"] == c.id and e["from"] == "busybox"
        if e["Action"] == "destroy":
            break
    gen.close()
    assert [s[1] for s in seen] == ["create", "start", "die", "destroy"]
    client.volumes.create("evol").remove()
    until = int(time.time()) + 1
    vol = [
        (e["Action"], e["Actor"]["ID"])
        for e in client.events(decode=True, since=since, until=until, filters={"type": "volume"})
    ]
    assert vol == [("create", "evol"), ("destroy", "evol")]
    byname = [
        e["Action"]
        for e in client.events(decode=True, since=since, until=until, filters={"container": "evt"})
    ]
    assert byname == ["create", "start", "die", "destroy"]
    df = client.df()
    assert set(df) >= {"LayersSize", "Images", "Containers", "Volumes"}
    assert df["Images"][0]["RepoTags"] == ["busybox:latest"]

    for call in (lambda: client.containers.get("nosuch"), lambda: api.start("nosuch"),
                 lambda: api.remove_container("nosuch"), lambda: api.remove_container("nosuch", force=True),
                 lambda: api.stop("nosuch"), lambda: api.kill("nosuch"), lambda: api.logs("nosuch")):  # fmt: skip
        with pytest.raises(NotFound, match="No such container: nosuch"):
            call()
    bad = [
        ({"restart_policy": {"Name": "bogus"}}, "invalid restart policy"),
        (
            {"auto_remove": True, "restart_policy": {"Name": "always"}},
            "can't create 'AutoRemove' container with restart policy",
        ),
        ({"binds": ["/x:/y:zz"]}, "invalid mode: zz"),
        ({"mem_limit": "1k"}, "Minimum memory limit allowed is 6MB"),
    ]
    for kw, text in bad:
        with pytest.raises(APIError) as err:
            api.create_container("busybox", "true", host_config=api.create_host_config(**kw))
        assert err.value.status_code == 400 and text in str(err.value)
    api.create_container("busybox", "true", name="dup")
    with pytest.raises(APIError) as err:
        api.create_container("busybox", "true", name="dup")
    assert err.value.status_code == 409 and 'The container name "/dup" is already in use' in str(
        err.value
    )
    with pytest.raises(APIError) as err:
        api.create_container("busybox", "true", name="x")
    assert err.value.status_code == 400 and "Invalid container name (x)" in str(err.value)
    with pytest.raises(APIError) as err:
        client.containers.run("busybox", "/nosuch", name="nocmd")
    assert err.value.status_code == 400 and "no such file or directory" in str(err.value)
    assert api.inspect_container("nocmd")["State"]["ExitCode"] == 127
    assert client.containers.run("busybox", "echo bye", remove=True) == b"bye\n"
    assert list(
        client.containers.run(
            "busybox", "sh -c 'echo a; sleep 0.2; echo b'", stream=True, remove=True
        )
    ) == [b"a\n", b"b\n"]
    with pytest.raises(docker.errors.ContainerError) as cerr:
        client.containers.run("busybox", "sh -c 'echo x >&2; exit 3'", remove=True)
    assert cerr.value.exit_status == 3 and cerr.value.stderr == b"x\n"
    assert sorted(x.name for x in client.containers.list(all=True)) == ["dup", "nocmd"]
    client.containers.prune()


def test_kill_is_a_manual_stop_and_auto_remove(client: docker.DockerClient) -> None:
    # moby's ExitOnNext: `docker kill` (SIGKILL, or the stop signal) is not restarted by a policy
    c = client.containers.run(
        "busybox", "sleep 100", detach=True, restart_policy={"Name": "always"}
    )
    c.kill()
    assert c.wait(timeout=30)["StatusCode"] == 137
    time.sleep(1.5)
    c.reload()
    assert c.status == "exited" and c.attrs["RestartCount"] == 0
    c.remove(force=True)
    # docker-py's test_run_with_auto_remove(_error)
    assert (
        client.containers.run("busybox", 'sh -c "echo hello && sleep 1"', auto_remove=True)
        == b"hello\n"
    )
    with pytest.raises(docker.errors.ContainerError) as err:
        client.containers.run(
            "busybox", 'sh -c ">&2 echo error && sleep 1 && exit 1"', auto_remove=True
        )
    assert err.value.exit_status == 1 and err.value.stderr is None
    b = client.containers.create("busybox", "sh -c 'sleep 0.2; echo o; echo e >&2'", name="dm")
    gen = client.api.attach(b.id, stream=True, demux=True)
    b.start()
    assert list(gen) == [(b"o\n", None), (None, b"e\n")]
    assert b.wait(timeout=30)["StatusCode"] == 0
    assert [x.id for x in client.containers.list(all=True)] == [b.id]
    b.remove()
