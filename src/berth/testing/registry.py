"""A real registry for tests: Debian's ``docker-registry`` (distribution 2.8) started on
127.0.0.1 on a free port, plain HTTP, TLS with given files, or with an ``auth:`` block;
and a small image built here and pushed to it.

    with registry_process(str(tmp_path / "registry")) as reg:
        img = push_test_image(reg.host + "/test/app:1", str(tmp_path / "src"))
"""

from __future__ import annotations

import contextlib
import gzip
import io
import os
import shutil
import socket
import subprocess
import tarfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from berth.content import LocalStore, write_blob
from berth.oci import mediatypes as mt
from berth.oci.digest import sha256_of
from berth.oci.image import Descriptor, canonical_json
from berth.registry import Client, Credentials, CredentialStore, RegistryHosts

__all__ = [
    "REGISTRY",
    "PushedImage",
    "Registry",
    "free_port",
    "layer_tar",
    "push_test_image",
    "registry_process",
    "start_registry",
]

REGISTRY = shutil.which("docker-registry")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Registry:
    host: str
    root: str
    scheme: str


def start_registry(
    tmp: str, *, tls: tuple[str, str] | None = None, auth: str = ""
) -> tuple[subprocess.Popen[bytes], Registry]:
    if REGISTRY is None:
        raise RuntimeError("docker-registry is not installed")
    port = free_port()
    data = os.path.join(tmp, "data")
    os.makedirs(data, exist_ok=True)
    cfg = [
        "version: 0.1",
        "log: {level: error, accesslog: {disabled: true}}",
        f"storage: {{filesystem: {{rootdirectory: {data}}}, delete: {{enabled: true}}}}",
        "http:",
        f"  addr: 127.0.0.1:{port}",
    ]
    if tls:
        cfg += [f"  tls: {{certificate: {tls[0]}, key: {tls[1]}}}"]
    cfg.append(auth)
    path = os.path.join(tmp, "config.yml")
    with open(path, "w") as f:
        f.write("\n".join(cfg) + "\n")
    log = open(os.path.join(tmp, "registry.log"), "wb")
    proc = subprocess.Popen([REGISTRY, "serve", path], stdout=log, stderr=subprocess.STDOUT)
    log.close()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            with open(os.path.join(tmp, "registry.log")) as f:
                raise RuntimeError(f.read())
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            break
        time.sleep(0.02)
    return proc, Registry(f"127.0.0.1:{port}", tmp, "https" if tls else "http")


@contextlib.contextmanager
def registry_process(
    tmp: str, *, tls: tuple[str, str] | None = None, auth: str = ""
) -> Iterator[Registry]:
    proc, reg = start_registry(tmp, tls=tls, auth=auth)
    try:
        yield reg
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(os.path.join(tmp, "data"), ignore_errors=True)


def layer_tar(files: Mapping[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for name, data in sorted(files.items()):
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            ti.mtime = 0
            tf.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


@dataclass
class PushedImage:
    manifest: Descriptor
    config: Descriptor
    layers: list[Descriptor]


def push_test_image(
    ref: str,
    work: str,
    layers: list[Mapping[str, bytes]] | None = None,
    labels: Mapping[str, str] | None = None,
    credentials: Credentials | None = None,
) -> PushedImage:
    """Build a small image (two layers by default) in a store under ``work`` and push it
    to ``ref`` (a 127.0.0.1 registry: plain HTTP; ``credentials`` for one with auth)."""
    store = LocalStore(os.path.join(work, "content"))
    layers = layers or [{"etc/hello": b"hello\n"}, {"bin/data": b"data" * 5000}]
    ldescs, diff_ids = [], []
    for files in layers:
        raw = layer_tar(files)
        blob = gzip.compress(raw, mtime=0)
        d = Descriptor(mt.DOCKER_LAYER_GZIP, sha256_of(blob), len(blob))
        write_blob(store, f"t-{d.digest}", blob, size=d.size, expected=d.digest)
        ldescs.append(d)
        diff_ids.append(str(sha256_of(raw)))
    config = canonical_json(
        {
            "architecture": "amd64",
            "os": "linux",
            "created": "2026-01-02T03:04:05Z",
            "config": {"Cmd": ["/bin/sh"], "Labels": dict(labels or {})},
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
            "history": [{"created": "2026-01-02T03:04:05Z", "created_by": "push_test_image"}],
        }
    )
    cdesc = Descriptor(mt.DOCKER_CONFIG, sha256_of(config), len(config))
    write_blob(store, f"t-{cdesc.digest}", config, size=cdesc.size, expected=cdesc.digest)
    manifest = canonical_json(
        {
            "schemaVersion": 2,
            "mediaType": mt.DOCKER_MANIFEST,
            "config": cdesc.to_dict(),
            "layers": [d.to_dict() for d in ldescs],
        }
    )
    mdesc = Descriptor(mt.DOCKER_MANIFEST, sha256_of(manifest), len(manifest))
    write_blob(store, f"t-{mdesc.digest}", manifest, size=mdesc.size, expected=mdesc.digest)
    creds_path = os.path.join(work, "config.json")
    client = Client(
        hosts=RegistryHosts(certs_dir="/nonexistent"),
        credentials=CredentialStore(creds_path, [creds_path]),
    )
    try:
        client.push(ref, store, mdesc, credentials=credentials)
    finally:
        client.close()
    return PushedImage(mdesc, cdesc, ldescs)
