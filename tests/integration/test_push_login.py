"""Push and login end to end: a berthd with its own roots and a docker-registry on
127.0.0.1 — an image pulled, tagged into another repository and pushed (its layers
mounted across repositories), removed and pulled back with the same digests; the docker
CLI pushing through berthd; ``berth login``/``logout`` against a registry with htpasswd
basic auth, and a push without credentials refused."""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys

import pytest

from berth.testing.berthd import Berthd
from berth.testing.registry import (
    REGISTRY,
    PushedImage,
    Registry,
    push_test_image,
    registry_process,
)

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(REGISTRY is None, reason="docker-registry is not installed"),
]

DOCKER = shutil.which("docker")


@pytest.fixture
def pushed(registry: Registry, tmp_path) -> tuple[str, PushedImage]:
    ref = f"{registry.host}/test/app:1"
    return ref, push_test_image(ref, str(tmp_path / "src"))


@pytest.fixture
def home(tmp_path) -> str:
    h = tmp_path / "home"
    h.mkdir()
    return str(h)


def berth(
    d: Berthd, *args: str, home: str = "", stdin: str | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    env = os.environ | d.env()
    if home:
        env |= {"HOME": home, "DOCKER_CONFIG": os.path.join(home, ".docker")}
    p = subprocess.run(
        [sys.executable, "-m", "berth.cli.main", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if check and p.returncode != 0:
        raise AssertionError(f"berth {' '.join(args)}: {p.returncode}\n{p.stdout}\n{p.stderr}")
    return p


def docker(d: Berthd, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    if DOCKER is None:
        pytest.skip("docker CLI is not installed")
    env = os.environ | {"DOCKER_HOST": d.host, "DOCKER_CONFIG": os.path.join(d.dir, "dockercfg")}
    p = subprocess.run([DOCKER, *args], env=env, capture_output=True, text=True, timeout=60)
    if check and p.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)}: {p.returncode}\n{p.stdout}\n{p.stderr}")
    return p


def test_berth_push_mounts_then_round_trips(daemon, pushed, home):
    ref, img = pushed
    host = ref.split("/", 1)[0]
    berth(daemon, "pull", ref, home=home)
    copy = f"{host}/test/copy:2"
    berth(daemon, "tag", ref, copy, home=home)
    out = berth(daemon, "push", copy, home=home).stdout
    assert f"The push refers to repository [{host}/test/copy]" in out
    for layer in img.layers:
        assert f"{layer.digest.encoded[:12]}: Mounted from test/app" in out
    m = re.search(r"^2: digest: (sha256:[0-9a-f]{64}) size: (\d+)$", out, re.M)
    assert m is not None, out
    assert m.group(1) == img.manifest.digest and int(m.group(2)) == img.manifest.size
    again = berth(daemon, "push", copy, home=home).stdout
    assert again.count("Layer already exists") == len(img.layers)
    berth(daemon, "rmi", ref, copy, home=home)
    assert berth(daemon, "images", "-q", home=home).stdout.strip() == ""
    berth(daemon, "pull", copy, home=home)
    info = json.loads(berth(daemon, "image", "inspect", copy, home=home).stdout)[0]
    assert info["Id"] == img.config.digest
    assert info["RepoDigests"] == [f"{host}/test/copy@{img.manifest.digest}"]
    assert berth(daemon, "push", "-q", copy, home=home).stdout.strip() == copy


def test_docker_cli_push_through_berthd(daemon, pushed):
    ref, img = pushed
    host = ref.split("/", 1)[0]
    docker(daemon, "pull", ref)
    other = f"{host}/test/other:3"
    docker(daemon, "tag", ref, other)
    out = docker(daemon, "push", other).stdout
    assert "Mounted from test/app" in out
    assert f"3: digest: {img.manifest.digest} size: {img.manifest.size}" in out
    docker_mod = pytest.importorskip("docker")
    client = docker_mod.DockerClient(base_url=daemon.host)
    try:
        assert client.images.get(ref).tag(f"{host}/test/py", "4")
        msgs = list(client.images.push(f"{host}/test/py", tag="4", stream=True, decode=True))
        assert msgs[-1]["aux"] == {"Tag": "4", "Digest": str(img.manifest.digest), "Size": img.manifest.size}
        assert not any("error" in m for m in msgs)
    finally:
        client.close()
    p = docker(daemon, "push", f"{host}/test/nosuch:1", check=False)
    assert p.returncode == 1
    assert f"An image does not exist locally with the tag: {host}/test/nosuch" in p.stderr
    status, headers, body = daemon.request("POST", f"/v1.41/images/{host}/test/nosuch/push?tag=1")
    assert status == 404 and headers["Content-Type"] == "application/json"
    assert json.loads(body) == {
        "message": f"An image does not exist locally with the tag: {host}/test/nosuch"
    }


def test_login_logout_and_push_with_basic_auth(daemon, tmp_path, home):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt  # bcrypt for htpasswd, from libxcrypt (no bcrypt package here)

    d = tmp_path / "authreg"
    d.mkdir()
    with open(d / "htpasswd", "w") as f:
        f.write(f"apic:{crypt.crypt('secret', crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16))}\n")
    auth = f"auth: {{htpasswd: {{realm: basic-realm, path: {d / 'htpasswd'}}}}}"
    with registry_process(str(d), auth=auth) as reg:
        from berth.registry import Credentials

        ref = f"{reg.host}/private/app:1"
        img = push_test_image(ref, str(tmp_path / "src"), credentials=Credentials("apic", "secret"))
        cfg = os.path.join(home, ".berth", "config.json")

        p = berth(daemon, "login", "-u", "apic", "--password-stdin", reg.host, home=home, stdin="wrong\n", check=False)
        assert p.returncode == 1, p
        assert f"login attempt to http://{reg.host}/v2/ failed with status: 401 Unauthorized" in p.stderr
        assert not os.path.exists(cfg)
        status, _, body = daemon.request(
            "POST",
            "/v1.41/auth",
            json.dumps({"username": "apic", "password": "wrong", "serveraddress": reg.host}).encode(),
            {"Content-Type": "application/json"},
        )
        assert status == 401 and "401 Unauthorized" in json.loads(body)["message"]

        # no credentials: the pull and the push are refused with the registry's words
        p = berth(daemon, "pull", ref, home=home, check=False)
        assert p.returncode == 1 and re.search(r"authentication required|unauthorized", p.stderr, re.I), p

        out = berth(daemon, "login", "-u", "apic", "--password-stdin", reg.host, home=home, stdin="secret\n").stdout
        assert out.strip() == "Login Succeeded"
        assert stat.S_IMODE(os.stat(cfg).st_mode) == 0o600
        with open(cfg) as f:
            assert reg.host in json.load(f)["auths"]

        berth(daemon, "pull", ref, home=home)
        copy = f"{reg.host}/private/copy:1"
        berth(daemon, "tag", ref, copy, home=home)
        out = berth(daemon, "push", copy, home=home).stdout
        assert "Mounted from private/app" in out and f"1: digest: {img.manifest.digest}" in out

        assert berth(daemon, "logout", reg.host, home=home).stdout.strip() == (
            f"Removing login credentials for {reg.host}"
        )
        assert berth(daemon, "logout", reg.host, home=home).stdout.strip() == f"Not logged in to {reg.host}"
        berth(daemon, "tag", ref, f"{reg.host}/private/third:1", home=home)
        p = berth(daemon, "push", f"{reg.host}/private/third:1", home=home, check=False)
        assert p.returncode != 0
        assert re.search(r"authentication required|unauthorized", p.stderr, re.I), p

        if DOCKER is not None:
            out = docker(daemon, "login", "-u", "apic", "-p", "secret", reg.host).stdout
            assert "Login Succeeded" in out
            p = docker(daemon, "login", "-u", "apic", "-p", "wrong", reg.host, check=False)
            assert p.returncode == 1 and "401 Unauthorized" in p.stderr
        berth(daemon, "rmi", ref, copy, f"{reg.host}/private/third:1", home=home)


def test_push_to_another_registry_uploads_every_blob(daemon, pushed, tmp_path, home):
    ref, img = pushed
    with registry_process(str(tmp_path / "second")) as reg2:
        there = f"{reg2.host}/moved/app:7"
        berth(daemon, "pull", ref, home=home)
        berth(daemon, "tag", ref, there, home=home)
        status, _, body = daemon.request(
            "POST", f"/v1.41/images/{reg2.host}/moved/app/push?tag=7", headers={"X-Registry-Auth": "e30="}
        )
        assert status == 200
        msgs = [json.loads(line) for line in body.decode().splitlines() if line.strip()]
        assert msgs[0] == {"status": f"The push refers to repository [{reg2.host}/moved/app]"}
        for layer in img.layers:
            lid = layer.digest.encoded[:12]
            mine = [m for m in msgs if m.get("id") == lid]
            assert mine[0] == {"status": "Preparing", "progressDetail": {}, "id": lid}
            assert any(m["status"] == "Pushing" and m["progressDetail"]["total"] == layer.size for m in mine)
            assert mine[-1] == {"status": "Pushed", "progressDetail": {}, "id": lid}
        assert msgs[-1] == {
            "progressDetail": {},
            "aux": {"Tag": "7", "Digest": str(img.manifest.digest), "Size": img.manifest.size},
        }
        berth(daemon, "rmi", ref, there, home=home)
        berth(daemon, "pull", there, home=home)
        info = json.loads(berth(daemon, "image", "inspect", there, home=home).stdout)[0]
        assert info["Id"] == img.config.digest
        berth(daemon, "rmi", there, home=home)
