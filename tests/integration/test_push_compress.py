"""An image whose layer is stored uncompressed (here: imported; loaded and built ones
too) is pushed with a gzip layer, compressed once and reused on the next push."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile

import pytest

from berth.oci import mediatypes as mt
from berth.oci.image import parse_manifest
from berth.oci.reference import parse_docker_ref
from berth.registry import Client, CredentialStore, RegistryHosts
from berth.testing.berthd import Berthd
from berth.testing.registry import REGISTRY, Registry

pytestmark = [pytest.mark.root, pytest.mark.skipif(REGISTRY is None, reason="docker-registry is not installed")]


def berth(d: Berthd, *args: str, stdin: bytes | None = None) -> str:
    p = subprocess.run(
        [sys.executable, "-m", "berth.cli.main", *args],
        env=os.environ | d.env(), capture_output=True, timeout=60, input=stdin, check=False,
    )  # fmt: skip
    assert p.returncode == 0, (args, p.stdout, p.stderr)
    return p.stdout.decode()


def rootfs_tar() -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        data = b"compress me " * 20000
        ti = tarfile.TarInfo("etc/big.txt")
        ti.size = len(data)
        tf.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def test_imported_image_is_pushed_with_a_gzip_layer_and_pulled_back(daemon: Berthd, registry: Registry, tmp_path) -> None:
    ref = f"{registry.host}/compress/app:1"
    tar = tmp_path / "rootfs.tar"
    tar.write_bytes(rootfs_tar())
    image_id = berth(daemon, "import", str(tar), ref).strip()
    out = berth(daemon, "push", ref)
    assert "Pushed" in out, out
    creds = str(tmp_path / "creds.json")
    client = Client(hosts=RegistryHosts(certs_dir="/nonexistent"), credentials=CredentialStore(creds, [creds]))
    resolved = client.resolve(parse_docker_ref(ref))
    manifest = parse_manifest(resolved.data, resolved.descriptor.media_type)
    assert [layer.media_type for layer in manifest.layers] == [mt.OCI_LAYER_GZIP]
    assert manifest.layers[0].size < len(rootfs_tar()) // 10  # really compressed
    # The second push reuses the compressed blob: nothing to upload.
    again = berth(daemon, "push", ref)
    assert "Layer already exists" in again, again
    berth(daemon, "rmi", ref)
    berth(daemon, "pull", ref)
    inspect = json.loads(berth(daemon, "image", "inspect", ref))
    assert inspect[0]["Id"] == image_id
