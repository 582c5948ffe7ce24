"""berth build through berthd: Dockerfiles that exercise every instruction, the cache,
multi-stage builds, .dockerignore, heredocs, ADD (archives and URLs served on
127.0.0.1), and bad input — checked in the resulting image's config and history and in
its file tree from a container. Driven by the berth CLI, the docker CLI
(``DOCKER_BUILDKIT=0``) and the Python docker SDK."""

from __future__ import annotations

import http.server
import io
import json
import os
import subprocess
import sys
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from berth.testing.berthd import Berthd

pytestmark = pytest.mark.root

BERTH = os.path.join(os.path.dirname(sys.executable), "berth")
DOCKER = next((p for p in ("/usr/local/bin/docker", "/usr/bin/docker") if os.access(p, os.X_OK)), None)


@pytest.fixture
def client(daemon: Berthd, busybox: str) -> Iterator[docker.DockerClient]:
    c = docker.DockerClient(base_url=daemon.host, version="1.41", timeout=120)
    yield c
    c.close()


def berth(d: Berthd, *args: str, cwd: str | None = None, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DOCKER_", "BERTH_"))}
    env["BERTH_HOST"] = d.host
    return subprocess.run([BERTH, *args], env=env, capture_output=True, text=True, timeout=180, cwd=cwd, input=stdin)


def write(ctx: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        p = ctx / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return ctx


def run_in(client: docker.DockerClient, image: str, cmd: str) -> str:
    return client.containers.run(image, ["sh", "-c", cmd], remove=True).decode()


def test_every_metadata_instruction_config_and_history(client: docker.DockerClient, daemon: Berthd, tmp_path: Path) -> None:
    write(tmp_path, {
        "Dockerfile": (
            "# syntax=docker/dockerfile:1\n"
            "ARG BASE=busybox\n"
            "FROM ${BASE}:latest AS base\n"
            "ARG GREETING=hi\n"
            "ENV APP=demo \\\n    LEVEL=${GREETING}-1\n"
            "LABEL org.example.a=\"one two\" b=${APP}\n"
            "COPY hello.txt /app/\n"
            "RUN echo \"$GREETING $APP\" > /app/greeting && cat /app/hello.txt\n"
            "WORKDIR app\n"
            "WORKDIR sub\n"
            "USER 1000:1000\n"
            "EXPOSE 8080 53/udp\n"
            "VOLUME /data\n"
            "STOPSIGNAL SIGUSR1\n"
            "HEALTHCHECK --interval=5s --retries=2 CMD true\n"
            "SHELL [\"/bin/sh\", \"-ec\"]\n"
            "ENTRYPOINT [\"/bin/cat\"]\n"
            "CMD [\"/app/greeting\"]\n"
        ),
        "hello.txt": "hello-build\n",
    })  # fmt: skip
    p = berth(daemon, "build", "-t", "meta:1", "--build-arg", "GREETING=yo", "--label", "L=1", str(tmp_path))
    assert p.returncode == 0, p.stdout + p.stderr
    assert "Step 1/18 : ARG BASE=busybox" in p.stdout and "Step 18/18 : LABEL L=1" in p.stdout
    assert "hello-build" in p.stdout  # RUN's output streamed
    assert "Successfully tagged meta:1" in p.stdout
    img = client.images.get("meta:1")
    cfg = img.attrs["Config"]
    assert "APP=demo" in cfg["Env"] and "LEVEL=yo-1" in cfg["Env"]
    assert not any(e.startswith("GREETING=") for e in cfg["Env"])  # args are not kept
    assert cfg["Labels"] == {"org.example.a": "one two", "b": "demo", "L": "1"}
    assert cfg["WorkingDir"] == "/app/sub"
    assert cfg["User"] == "1000:1000"
    assert set(cfg["ExposedPorts"]) == {"8080/tcp", "53/udp"}
    assert cfg["Volumes"] == {"/data": {}}
    assert cfg["StopSignal"] == "SIGUSR1"
    assert cfg["Healthcheck"]["Test"] == ["CMD-SHELL", "true"] and cfg["Healthcheck"]["Interval"] == 5_000_000_000
    assert cfg["Shell"] == ["/bin/sh", "-ec"]
    assert cfg["Entrypoint"] == ["/bin/cat"] and cfg["Cmd"] == ["/app/greeting"]
    history = img.history()
    created_by = [h["CreatedBy"] for h in reversed(history)]
    assert any("|1 GREETING=yo /bin/sh -c echo" in c for c in created_by), created_by
    # one layer each for COPY, RUN and the WORKDIRs on top of busybox's; the rest are empty layers
    assert len(img.attrs["RootFS"]["Layers"]) == 5  # with the two WORKDIRs, as Docker's classic builder
    out = client.containers.run("meta:1", remove=True, user="0").decode()
    assert out == "yo demo\n"


def test_cache_hits_misses_and_no_cache(daemon: Berthd, busybox: str, tmp_path: Path) -> None:
    write(tmp_path, {
        "Dockerfile": "FROM busybox\nCOPY a.txt /a.txt\nRUN cat /a.txt > /b.txt\nCOPY c.txt /c.txt\nCMD cat /b.txt\n",
        "a.txt": "a1\n", "c.txt": "c1\n",
    })  # fmt: skip
    first = berth(daemon, "build", "-q", str(tmp_path))
    assert first.returncode == 0, first.stderr
    again = berth(daemon, "build", str(tmp_path))
    assert again.stdout.count("Using cache") == 4, again.stdout
    assert first.stdout.strip().removeprefix("sha256:").startswith(again.stdout.split("Successfully built ")[1].split()[0])
    (tmp_path / "c.txt").write_text("c2\n")
    third = berth(daemon, "build", str(tmp_path))
    assert third.stdout.count("Using cache") == 2, third.stdout  # COPY a, RUN
    fourth = berth(daemon, "build", "--no-cache", str(tmp_path))
    assert "Using cache" not in fourth.stdout
    # the cache is visible and prunable
    df = berth(daemon, "system", "df")
    assert "Build Cache" in df.stdout
    prune = berth(daemon, "builder", "prune", "-f")
    assert prune.returncode == 0, prune.stderr
    assert "Using cache" not in berth(daemon, "build", str(tmp_path)).stdout


def test_multi_stage_target_and_copy_from(client: docker.DockerClient, daemon: Berthd, tmp_path: Path) -> None:
    write(tmp_path, {"Dockerfile": (
        "FROM busybox AS builder\n"
        "RUN mkdir /out && echo built > /out/artifact && echo skip > /out/other\n"
        "FROM busybox AS test\n"
        "RUN echo testing > /t\n"
        "FROM scratch AS final\n"
        "COPY --from=builder /out/artifact /artifact\n"
        "COPY --from=0 /bin/busybox /bin/sh\n"
        "CMD [\"/bin/sh\", \"-c\", \"echo hi\"]\n"
    )})  # fmt: skip
    p = berth(daemon, "build", "-t", "ms:final", str(tmp_path))
    assert p.returncode == 0, p.stdout + p.stderr
    img = client.images.get("ms:final")
    assert len(img.attrs["RootFS"]["Layers"]) == 2  # from scratch: just the two COPYs
    p = berth(daemon, "build", "-t", "ms:test", "--target", "test", str(tmp_path))
    assert p.returncode == 0, p.stderr
    assert "COPY --from=builder" not in p.stdout
    assert run_in(client, "ms:test", "cat /t") == "testing\n"
    p = berth(daemon, "build", "--target", "nosuch", str(tmp_path))
    assert p.returncode != 0 and "failed to reach build target nosuch" in p.stderr + p.stdout


def test_dockerignore_heredocs_add_and_onbuild(client: docker.DockerClient, daemon: Berthd, tmp_path: Path) -> None:
    tarball = io.BytesIO()
    with tarfile.open(fileobj=tarball, mode="w:gz") as tf:
        data = b"inside the archive\n"
        ti = tarfile.TarInfo("pkg/readme")
        ti.size = len(data)
        tf.addfile(ti, io.BytesIO(data))
    (tmp_path / "pkg.tar.gz").write_bytes(tarball.getvalue())
    write(tmp_path, {
        ".dockerignore": "# comment\nsecret*\n**/*.log\n!keep.log\n",
        "secret.txt": "no\n", "dir/a.log": "no\n", "keep.log": "yes\n", "dir/b.txt": "b\n",
        "Dockerfile": (
            "FROM busybox\n"
            "COPY . /ctx/\n"
            "ADD pkg.tar.gz /opt/\n"
            "COPY <<EOF /etc/motd\nhello $HOSTNAME_NOT_SET\nEOF\n"
            "RUN <<EOT\nset -e\necho from-heredoc > /hd\nEOT\n"
            "ONBUILD RUN echo triggered > /onbuild\n"
        ),
    })  # fmt: skip
    p = berth(daemon, "build", "-t", "parent:1", str(tmp_path))
    assert p.returncode == 0, p.stdout + p.stderr
    tree = run_in(client, "parent:1", "cd /ctx && find . -type f | sort; cat /opt/pkg/readme /etc/motd /hd")
    assert "./secret.txt" not in tree and "./dir/a.log" not in tree
    assert "./keep.log" in tree and "./dir/b.txt" in tree
    assert "inside the archive" in tree and "from-heredoc" in tree
    assert "hello \n" in tree  # an unset variable expands to nothing in an unquoted heredoc
    child = tmp_path / "child"
    write(child, {"Dockerfile": "FROM parent:1\nRUN cat /onbuild\n"})
    p = berth(daemon, "build", "-t", "child:1", str(child))
    assert p.returncode == 0, p.stdout + p.stderr
    assert "Executing 1 build trigger" in p.stdout
    assert run_in(client, "child:1", "cat /onbuild") == "triggered\n"


def test_add_from_a_url_served_on_loopback(client: docker.DockerClient, daemon: Berthd, tmp_path: Path) -> None:
    served = tmp_path / "www"
    served.mkdir()
    (served / "file.txt").write_text("downloaded\n")

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a: object, **kw: object) -> None:
            super().__init__(*a, directory=str(served), **kw)  # type: ignore[arg-type]

        def log_message(self, *args: object) -> None:
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        port = srv.server_address[1]
        ctx = tmp_path / "ctx"
        write(ctx, {"Dockerfile": f"FROM busybox\nADD http://127.0.0.1:{port}/file.txt /dl/\n"})
        p = berth(daemon, "build", "-t", "dl:1", str(ctx))
        assert p.returncode == 0, p.stdout + p.stderr
        assert run_in(client, "dl:1", "cat /dl/file.txt; stat -c %a /dl/file.txt") == "downloaded\n600\n"
        write(ctx, {"Dockerfile": f"FROM busybox\nADD http://127.0.0.1:{port}/missing.txt /dl/\n"})
        p = berth(daemon, "build", str(ctx))
        assert p.returncode != 0 and "404" in p.stdout + p.stderr
    finally:
        srv.shutdown()
        srv.server_close()


def test_bad_input(client: docker.DockerClient, daemon: Berthd, tmp_path: Path) -> None:
    before = {i.id for i in client.images.list(all=True)}
    write(tmp_path, {"Dockerfile": "FROM busybox\nRUN true\nFOOBAR baz\n"})
    p = berth(daemon, "build", str(tmp_path))
    assert p.returncode != 0 and "line 3" in p.stderr and "unknown instruction" in p.stderr.lower(), p.stderr
    write(tmp_path, {"Dockerfile": "FROM busybox\nCOPY missing.txt /x\n"})
    p = berth(daemon, "build", str(tmp_path))
    assert p.returncode != 0 and "missing.txt" in p.stdout + p.stderr
    write(tmp_path, {"Dockerfile": "FROM busybox\nRUN echo failing && exit 3\n"})
    p = berth(daemon, "build", str(tmp_path))
    assert p.returncode == 3  # the step's exit code, as the docker CLI exits
    assert "failing" in p.stdout
    assert "The command '/bin/sh -c echo failing && exit 3' returned a non-zero code: 3" in p.stdout + p.stderr
    write(tmp_path, {"Dockerfile": "FROM busybox\nCOPY --from=nosuchstage /x /x\n"})
    p = berth(daemon, "build", str(tmp_path))
    assert p.returncode != 0 and "nosuchstage" in p.stdout + p.stderr
    os.symlink("/etc/passwd", tmp_path / "escape")
    write(tmp_path, {"Dockerfile": "FROM busybox\nCOPY escape /x\n"})
    p = berth(daemon, "build", str(tmp_path))
    assert p.returncode != 0 and "outside" in (p.stdout + p.stderr), p.stdout + p.stderr
    # no container left, no new image shown
    assert client.containers.list(all=True) == []
    assert {i.id for i in client.images.list()} <= before | {i.id for i in client.images.list()}
    assert [i for i in client.images.list() if i.id not in before] == []


def test_docker_cli_and_sdk_build(client: docker.DockerClient, daemon: Berthd, tmp_path: Path) -> None:
    write(tmp_path, {"Dockerfile": "FROM busybox\nRUN echo sdk > /sdk\nCMD [\"cat\", \"/sdk\"]\n"})
    image, logs = client.images.build(path=str(tmp_path), tag="sdk:1", rm=True)
    assert "sdk:1" in image.tags
    assert any("Successfully built" in str(x.get("stream", "")) for x in logs)
    assert client.containers.run("sdk:1", remove=True) == b"sdk\n"
    if DOCKER is None:
        return
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DOCKER_", "BERTH_"))}
    env.update(DOCKER_HOST=daemon.host, DOCKER_BUILDKIT="0", DOCKER_CONFIG=os.path.join(daemon.dir, "dc"))
    p = subprocess.run([DOCKER, "build", "-t", "cli:1", str(tmp_path)], env=env, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "Successfully tagged cli:1" in p.stdout
    inspect = json.loads(subprocess.run([DOCKER, "image", "inspect", "cli:1"], env=env, capture_output=True, text=True).stdout)
    assert inspect[0]["Config"]["Cmd"] == ["cat", "/sdk"]


def test_cache_from_a_local_image(client: docker.DockerClient, daemon: Berthd, tmp_path: Path) -> None:
    write(tmp_path, {"Dockerfile": "FROM busybox\nCOPY f /f\nRUN head -c 8 /dev/urandom | od -An -tx1 > /rand\nENV X=1\n",
                     "f": "f\n"})  # fmt: skip
    assert berth(daemon, "build", "-t", "app:1", str(tmp_path)).returncode == 0
    first = run_in(client, "app:1", "cat /rand")
    assert berth(daemon, "builder", "prune", "-f").returncode == 0  # only app:1 is left to reuse
    p = berth(daemon, "build", "-t", "app:2", "--cache-from", "app:1", str(tmp_path))
    assert p.returncode == 0, p.stderr
    assert p.stdout.count("Using cache") == 2, p.stdout  # COPY and RUN come from app:1's layers
    assert run_in(client, "app:2", "cat /rand") == first
    assert client.images.get("app:2").attrs["RootFS"]["Layers"] == client.images.get("app:1").attrs["RootFS"]["Layers"]
    assert berth(daemon, "builder", "prune", "-f").returncode == 0
    p = berth(daemon, "build", "-t", "app:3", str(tmp_path))  # no --cache-from: built again
    assert "Using cache" not in p.stdout
    assert run_in(client, "app:3", "cat /rand") != first
