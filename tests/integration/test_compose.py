"""docker-compose (Debian's 1.29, which drives the Engine API through docker-py) against
berthd: a project that builds an image, publishes a port, puts services on two networks
with aliases and a named volume; service names resolve and answer, ``ps``/``logs``/
``exec``/``restart`` work, and ``down -v`` leaves nothing of the project behind.
Traffic stays on 127.0.0.1 and inside the namespaces berth makes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from berth.testing.berthd import Berthd

COMPOSE = shutil.which("docker-compose")

pytestmark = [pytest.mark.root, pytest.mark.skipif(COMPOSE is None, reason="docker-compose is not installed")]

PROJECT = """\
version: "3.8"
services:
  web:
    build: ./web
    ports:
      - "127.0.0.1:18591:80"
    networks: [front, back]
    volumes: [data:/data]
    stop_grace_period: 1s  # httpd as pid 1 ignores SIGTERM
  client:
    image: busybox
    command: ["sleep", "300"]
    init: true  # so that SIGTERM stops it at once
    depends_on: [web]
    networks:
      back:
        aliases: [cli]
networks:
  front: {}
  back: {}
volumes:
  data: {}
"""

DOCKERFILE = """\
FROM busybox
COPY index.html /www/index.html
CMD ["sh", "-c", "echo started > /data/mark; exec httpd -f -v -p 80 -h /www"]
"""


def compose(d: Berthd, cwd: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DOCKER_", "BERTH_", "COMPOSE_"))}
    env["DOCKER_HOST"] = d.host
    p = subprocess.run([COMPOSE or "docker-compose", "-p", "bt", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    if check:
        assert p.returncode == 0, f"docker-compose {' '.join(args)}: {p.stdout}\n{p.stderr}"
    return p


def http_get(port: int, tries: int = 50) -> str:
    out = ""
    for _ in range(tries):
        p = subprocess.run(["curl", "-s", "-m", "2", f"http://127.0.0.1:{port}/index.html"], capture_output=True, text=True)
        out = p.stdout
        if p.returncode == 0:
            return out
        time.sleep(0.1)
    return out


def test_a_compose_project_up_exec_and_down(daemon: Berthd, busybox: str, tmp_path: Path) -> None:
    (tmp_path / "web").mkdir()
    (tmp_path / "web" / "Dockerfile").write_text(DOCKERFILE)
    (tmp_path / "web" / "index.html").write_text("hello from compose\n")
    (tmp_path / "docker-compose.yml").write_text(PROJECT)
    try:
        up = compose(daemon, tmp_path, "up", "-d")
        assert "Creating bt_web_1" in up.stderr and "Creating bt_client_1" in up.stderr
        ps = compose(daemon, tmp_path, "ps").stdout
        assert "bt_web_1" in ps and "127.0.0.1:18591->80/tcp" in ps and ps.count(" Up ") == 2, ps
        assert http_get(18591) == "hello from compose\n"
        # the service name (compose's alias) on the shared network, over TCP
        got = compose(daemon, tmp_path, "exec", "-T", "client", "sh", "-c", "printf 'GET /index.html HTTP/1.0\\r\\n\\r\\n' | nc web 80")
        assert "hello from compose" in got.stdout
        # an alias of the client's, seen from web; the volume holds what web wrote
        look = compose(daemon, tmp_path, "exec", "-T", "web", "sh", "-c", "nslookup cli 127.0.0.11 && cat /data/mark")
        assert "Name:\tcli" in look.stdout and "started" in look.stdout, look.stdout
        logs = compose(daemon, tmp_path, "logs", "--no-color", "web").stdout
        assert "GET /index.html" in logs or "response:200" in logs, logs
        compose(daemon, tmp_path, "restart", "client")
        assert " Up " in compose(daemon, tmp_path, "ps", "client").stdout
    finally:
        down = compose(daemon, tmp_path, "down", "-v", "--rmi", "local", check=False)
    assert down.returncode == 0, down.stderr
    assert "Removing network bt_front" in down.stderr and "Removing network bt_back" in down.stderr
    for path in ("/containers/json?all=1", "/networks", "/volumes", "/images/json"):
        status, _, body = daemon.request("GET", path)
        assert status == 200
        assert "bt_" not in json.dumps(json.loads(body)), f"{path}: {body!r}"
