"""Images end to end: a berthd with its own roots, a docker-registry on 127.0.0.1, an
image pushed there by the registry client, then pulled, listed, inspected, tagged and
removed through the berth CLI, the real docker CLI and docker-py."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from berth.testing.berthd import Berthd
from berth.testing.registry import (
    REGISTRY,
    PushedImage,
    Registry,
    free_port,
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
    return ref, push_test_image(ref, str(tmp_path / "src"), labels={"purpose": "test"})


def berth(d: Berthd, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = os.environ | d.env()
    p = subprocess.run(
        [sys.executable, "-m", "berth.cli.main", *args], env=env, capture_output=True, text=True, timeout=60
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


def api(d: Berthd, method: str, path: str) -> tuple[int, object]:
    status, _, body = d.request(method, path)
    return status, json.loads(body) if body else None


def snapshot_dirs(d: Berthd) -> list[str]:
    base = os.path.join(d.root, "snapshots")
    return sorted(n for n in os.listdir(base) if not n.startswith("rm-")) if os.path.isdir(base) else []


def blobs(d: Berthd) -> list[str]:
    base = os.path.join(d.root, "content", "blobs", "sha256")
    return sorted(os.listdir(base)) if os.path.isdir(base) else []


def test_docker_cli_pulls_lists_inspects_tags_and_removes(daemon, pushed):
    ref, img = pushed
    out = docker(daemon, "pull", ref).stdout
    assert "Pull complete" in out and f"Digest: {img.manifest.digest}" in out
    assert f"Status: Downloaded newer image for {ref}" in out
    assert "Image is up to date" in docker(daemon, "pull", ref).stdout
    table = docker(daemon, "images").stdout.splitlines()
    assert table[0].split() == ["REPOSITORY", "TAG", "IMAGE", "ID", "CREATED", "SIZE"]
    assert table[1].split()[:3] == [ref.rsplit(":", 1)[0], "1", img.config.digest.encoded[:12]]
    info = json.loads(docker(daemon, "image", "inspect", ref).stdout)[0]
    assert info["Id"] == img.config.digest
    assert info["RepoDigests"] == [f"{ref.rsplit(':', 1)[0]}@{img.manifest.digest}"]
    assert info["Config"]["Labels"] == {"purpose": "test"}
    assert len(info["RootFS"]["Layers"]) == 2
    docker(daemon, "tag", ref, "example.com/other:2")
    assert docker(daemon, "rmi", "example.com/other:2").stdout.strip() == "Untagged: example.com/other:2"
    assert len(snapshot_dirs(daemon)) == 2 and blobs(daemon)
    out = docker(daemon, "rmi", ref).stdout
    assert f"Untagged: {ref}" in out and f"Deleted: {img.config.digest}" in out
    assert snapshot_dirs(daemon) == [] and blobs(daemon) == []


def test_unknown_image_and_unknown_manifest_in_dockers_words(daemon, registry):
    p = docker(daemon, "image", "inspect", "apic-nosuch", check=False)
    assert p.returncode == 1 and "No such image: apic-nosuch" in p.stderr
    p = docker(daemon, "rmi", "apic/nosuch:zz", check=False)
    assert "Error response from daemon: No such image: apic/nosuch:zz" in p.stderr
    p = docker(daemon, "pull", f"{registry.host}/library/nosuch", check=False)
    assert p.returncode == 1
    assert (
        f"manifest for {registry.host}/library/nosuch:latest not found: manifest unknown: manifest unknown"
        in p.stderr
    )
    status, body = api(daemon, "GET", "/images/nosuch/json")
    assert status == 404 and body == {"message": "no such image: nosuch: No such image: nosuch:latest"}


def test_registry_down_is_a_clear_error(daemon):
    down = f"127.0.0.1:{free_port()}/x/y:1"
    p = docker(daemon, "pull", down, check=False)
    assert p.returncode == 1 and "127.0.0.1" in p.stderr and "refused" in p.stderr.lower()


def test_docker_py_pull_list_and_remove(daemon, pushed):
    docker_mod = pytest.importorskip("docker")
    ref, img = pushed
    client = docker_mod.DockerClient(base_url=daemon.host)
    try:
        image = client.images.pull(ref)
        assert image.id == img.config.digest
        assert ref in image.tags
        assert [i.id for i in client.images.list()] == [img.config.digest]
        with pytest.raises(docker_mod.errors.ImageNotFound):
            client.images.get("nosuch:1")
        client.images.remove(ref)
        assert client.images.list() == []
    finally:
        client.close()
    assert snapshot_dirs(daemon) == []


def test_berth_cli_pull_images_inspect_tag_rmi(daemon, pushed):
    ref, img = pushed
    out = berth(daemon, "pull", ref).stdout.splitlines()
    assert out[0] == "1: Pulling from test/app"
    assert f"Digest: {img.manifest.digest}" in out and out[-1] == ref
    assert berth(daemon, "pull", "-q", ref).stdout == ref + "\n"
    table = berth(daemon, "images").stdout.splitlines()
    assert table[0].split() == ["REPOSITORY", "TAG", "IMAGE", "ID", "CREATED", "SIZE"]
    assert table[1].split()[:3] == [ref.rsplit(":", 1)[0], "1", img.config.digest.encoded[:12]]
    assert berth(daemon, "images", "-q").stdout == img.config.digest.encoded[:12] + "\n"
    assert img.manifest.digest in berth(daemon, "images", "--digests").stdout
    assert berth(daemon, "images", "--format", "{{.Repository}}:{{.Tag}}").stdout == ref + "\n"
    assert berth(daemon, "images", "--filter", "reference=nomatch*", "-q").stdout == ""
    info = json.loads(berth(daemon, "image", "inspect", ref).stdout)
    assert info[0]["Id"] == img.config.digest
    assert berth(daemon, "image", "inspect", "-f", "{{.Os}}", ref).stdout == "linux\n"
    history = berth(daemon, "history", ref).stdout.splitlines()
    assert history[0].split()[:2] == ["IMAGE", "CREATED"]
    assert history[1].startswith(img.config.digest.encoded[:12]) and "push_test_image" in history[1]
    berth(daemon, "tag", ref, "other:2")
    assert berth(daemon, "rmi", "other:2").stdout == "Untagged: other:2\n"
    p = berth(daemon, "rmi", "nosuch:1", check=False)
    assert p.returncode == 1 and p.stderr == "Error response from daemon: No such image: nosuch:1\n"
    out = berth(daemon, "rmi", ref).stdout
    assert f"Deleted: {img.config.digest}" in out
    assert snapshot_dirs(daemon) == [] and blobs(daemon) == []
    assert berth(daemon, "images", "-q").stdout == ""


def test_berth_pull_of_unknown_manifest_fails_before_streaming(daemon, registry):
    p = berth(daemon, "pull", f"{registry.host}/library/nosuch", check=False)
    assert p.returncode == 1
    assert p.stderr == (
        f"Error response from daemon: manifest for {registry.host}/library/nosuch:latest "
        "not found: manifest unknown: manifest unknown\n"
    )
    status, _, _ = daemon.request("POST", f"/images/create?fromImage={registry.host}/library/nosuch&tag=latest")
    assert status == 404


def test_image_prune_removes_a_dangling_image(daemon, registry, tmp_path):
    ref = f"{registry.host}/test/moving:1"
    first = push_test_image(ref, str(tmp_path / "a"), layers=[{"v": b"1"}])
    berth(daemon, "pull", "-q", ref)
    push_test_image(ref, str(tmp_path / "b"), layers=[{"v": b"2"}])
    berth(daemon, "pull", "-q", ref)
    assert len(berth(daemon, "images", "-q").stdout.split()) == 2
    assert berth(daemon, "images", "-q", "--filter", "dangling=true").stdout.split() == [
        first.config.digest.encoded[:12]
    ]
    out = berth(daemon, "image", "prune", "-f").stdout
    assert f"deleted: {first.config.digest}" in out and "Total reclaimed space:" in out
    assert len(berth(daemon, "images", "-q").stdout.split()) == 1
    assert len(snapshot_dirs(daemon)) == 1


def test_x_registry_auth_reaches_a_registry_with_basic_auth(daemon, tmp_path):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt  # bcrypt for htpasswd, from libxcrypt (no bcrypt package here)

    docker_mod = pytest.importorskip("docker")
    d = tmp_path / "authreg"
    d.mkdir()
    with open(d / "htpasswd", "w") as f:
        f.write(f"apic:{crypt.crypt('secret', crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16))}\n")
    auth = f"auth: {{htpasswd: {{realm: basic-realm, path: {d / 'htpasswd'}}}}}"
    with registry_process(str(d), auth=auth) as reg:
        from berth.registry import Credentials

        ref = f"{reg.host}/private/app:1"
        img = push_test_image(ref, str(tmp_path / "src"), credentials=Credentials("apic", "secret"))
        client = docker_mod.DockerClient(base_url=daemon.host)
        try:
            with pytest.raises(docker_mod.errors.APIError, match=r"authentication required|unauthorized"):
                client.images.pull(ref)
            with pytest.raises(docker_mod.errors.APIError):
                client.images.pull(ref, auth_config={"username": "apic", "password": "wrong"})
            pulled = client.images.pull(ref, auth_config={"username": "apic", "password": "secret"})
            assert pulled.id == img.config.digest
            client.images.remove(ref)
        finally:
            client.close()
