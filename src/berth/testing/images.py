"""Test images made on the machine: a rootfs directory as a layer tar, and a one-layer
OCI image archive (what ``docker load``, ``berth load`` and ``ctr images import`` read)."""

from __future__ import annotations

import hashlib
import io
import json
import os
import platform
import tarfile
from typing import Any

__all__ = ["layer_tar", "oci_archive"]


def layer_tar(rootfs: str) -> bytes:
    buf = io.BytesIO()

    def owned_by_root(ti: tarfile.TarInfo) -> tarfile.TarInfo | None:
        if ti.name.endswith(".berth-template"):
            return None
        ti.uid = ti.gid = 0
        ti.uname = ti.gname = "root"
        return ti

    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for entry in sorted(os.listdir(rootfs)):
            tar.add(os.path.join(rootfs, entry), arcname=entry, filter=owned_by_root)
    return buf.getvalue()


def oci_archive(layer: bytes, name: str, config: dict[str, Any] | None = None) -> bytes:
    """An OCI image layout as a tar (``ctr images import`` reads it), one layer, named by
    the ``io.containerd.image.name`` annotation."""
    blobs: dict[str, bytes] = {}

    def blob(data: bytes, media_type: str) -> dict[str, Any]:
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        blobs[digest] = data
        return {"mediaType": media_type, "digest": digest, "size": len(data)}

    arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())
    layer_desc = blob(layer, "application/vnd.oci.image.layer.v1.tar")
    config = {
        "architecture": arch,
        "os": "linux",
        "config": config
        or {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], "Cmd": ["sh"]},
        "rootfs": {"type": "layers", "diff_ids": [layer_desc["digest"]]},
    }
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": blob(json.dumps(config).encode(), "application/vnd.oci.image.config.v1+json"),
        "layers": [layer_desc],
    }
    m_desc = blob(json.dumps(manifest).encode(), "application/vnd.oci.image.manifest.v1+json")
    m_desc["annotations"] = {"io.containerd.image.name": name, "org.opencontainers.image.ref.name": name.rsplit(":", 1)[1]}
    m_desc["platform"] = {"architecture": arch, "os": "linux"}
    index = {"schemaVersion": 2, "manifests": [m_desc]}
    files = {"oci-layout": b'{"imageLayoutVersion": "1.0.0"}', "index.json": json.dumps(index).encode()}
    files.update({f"blobs/sha256/{d.split(':', 1)[1]}": data for d, data in blobs.items()})
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for d in ("blobs", "blobs/sha256"):
            ti = tarfile.TarInfo(d)
            ti.type, ti.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(ti)
        for path, data in files.items():
            ti = tarfile.TarInfo(path)
            ti.size, ti.mode = len(data), 0o644
            tar.addfile(ti, io.BytesIO(data))
    return buf.getvalue()
