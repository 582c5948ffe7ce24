"""``docker commit``: a new image = a parent image + one layer (a container's changes).

What dockerd's ``CreateImageFromContainer`` and ``image.NewChildImage`` record, in the
content store: the layer tar as a blob (uncompressed, as locally stored layers are), a
config that is the parent's with ``config`` replaced, ``container``/``container_config``
naming where it came from, the layer's diff_id appended to ``rootfs.diff_ids`` and a
history entry appended (``created_by``: the container's command), and a manifest of the
parent's layers plus the new one. The new layer is unpacked into a committed snapshot
at once (:func:`berth.images.pull.unpack`), so the image runs without a further step.
"""

from __future__ import annotations

import datetime
import hashlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, BinaryIO

from berth.content import write_blob
from berth.errdefs import AlreadyExists, InvalidArgument
from berth.images.pull import SIZE_LABEL, is_committed, unpack
from berth.oci import mediatypes as mt
from berth.oci.digest import Digest, sha256_of
from berth.oci.image import Descriptor, Manifest, canonical_json, chain_ids
from berth.oci.platform import Platform
from berth.oci.reference import parse_normalized_named

if TYPE_CHECKING:
    from berth.images.service import ImageService

__all__ = ["ChildConfig", "commit_image", "commit_name"]

_CHUNK = 1 << 20


@dataclass
class ChildConfig:
    """moby's ``image.ChildConfig``: what the child image says beyond its layer.
    ``config`` and ``container_config`` are Docker's Config objects (``Cmd``, ``Env``…)."""

    config: dict[str, Any]
    container_id: str = ""
    container_config: dict[str, Any] = field(default_factory=dict)
    author: str = ""
    comment: str = ""
    created_by: str = ""


def commit_name(repo: str, tag: str) -> str:
    """The normalised name ``repo:tag`` gives (``latest`` when no tag); "" for no repo."""
    if not repo:
        if tag:
            raise InvalidArgument("tag is specified without a repository")
        return ""
    try:
        ref = parse_normalized_named(repo)
    except InvalidArgument as exc:
        raise InvalidArgument(f"Error parsing reference: {repo!r} is not a valid repository/tag: {exc.message}") from exc
    if ref.digest is not None:
        raise InvalidArgument("cannot commit to digest reference")
    if tag:
        ref = ref.with_tag(tag)
    return str(ref.tag_name_only())


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _scratch(platform: Platform) -> dict[str, Any]:
    raw: dict[str, Any] = {"architecture": platform.architecture, "os": platform.os}
    if platform.variant:
        raw["variant"] = platform.variant
    raw.update({"config": {}, "rootfs": {"type": "layers", "diff_ids": []}, "history": []})
    return raw


def commit_image(
    svc: ImageService,
    parent: str | None,
    layer: BinaryIO | None,
    child: ChildConfig,
    name: str = "",
    *,
    reuse: tuple[Descriptor, Digest] | None = None,
    snapshot_key: str = "",
) -> Digest:
    """Record the image ``parent`` + the uncompressed layer tar ``layer`` (read from its
    start) described by ``child``, named ``name`` (normalised, see :func:`commit_name`;
    "" leaves it dangling); returns the new image id. Nothing is kept on an error.

    ``parent`` None starts from nothing (``FROM scratch``); ``layer`` None adds no layer,
    only a history entry marked ``empty_layer`` (a builder's metadata step). ``reuse``
    (a layer's descriptor in some image's manifest, and its diff_id) adds a layer the
    store already has instead (a builder's ``--cache-from``). ``snapshot_key`` names an
    active snapshot over the parent's whose upper directory *is* ``layer`` (the builder's
    COPY wrote it, the layer was diffed from it): it is committed as the new layer's
    snapshot rather than the layer extracted again, and is gone afterwards."""
    if parent is not None:
        group, _ = svc._find(parent)
        base_raw = dict(group.loaded.raw_config)
        base_layers: tuple[Descriptor, ...] = tuple(group.loaded.manifest.layers)
    else:
        base_raw = _scratch(svc.platform)
        base_layers = ()
    try:
        with svc._lease() as held:
            diff_id: Digest | None = None
            size = 0
            layer_desc: Descriptor | None = None
            if reuse is not None:
                layer_desc, diff_id = reuse
                held.add(str(layer_desc.digest))
            elif layer is not None:
                h = hashlib.sha256()
                while chunk := layer.read(_CHUNK):
                    h.update(chunk)
                    size += len(chunk)
                diff_id = Digest(f"sha256:{h.hexdigest()}")
                layer.seek(0)
                write_blob(svc.store, f"commit-{diff_id}", layer, size=size, expected=diff_id)
                held.add(str(diff_id))
            created = _now()
            raw = base_raw
            raw["config"] = child.config
            raw["container"] = child.container_id
            raw["container_config"] = child.container_config
            raw["created"] = created
            raw.pop("comment", None)
            raw.pop("author", None)
            if child.author:
                raw["author"] = child.author
            if child.comment:
                raw["comment"] = child.comment
            entry: dict[str, Any] = {"created": created}
            if child.author:
                entry["author"] = child.author
            if child.created_by:
                entry["created_by"] = child.created_by
            if child.comment:
                entry["comment"] = child.comment
            if diff_id is None:
                entry["empty_layer"] = True
            raw["history"] = [*list(raw.get("history") or []), entry]
            rootfs = dict(raw.get("rootfs") or {})
            diff_ids = [*list(rootfs.get("diff_ids") or [])]
            if diff_id is not None:
                diff_ids.append(str(diff_id))
            raw["rootfs"] = {"type": "layers", "diff_ids": diff_ids}
            cfg_raw = canonical_json(raw)
            cfg = sha256_of(cfg_raw)
            write_blob(svc.store, f"commit-{cfg}", cfg_raw, size=len(cfg_raw), expected=cfg)
            held.add(str(cfg))
            if diff_id is not None and layer_desc is None:
                layer_desc = Descriptor(mt.OCI_LAYER, diff_id, size)
            layers = base_layers if layer_desc is None else (*base_layers, layer_desc)
            man = Manifest(mt.OCI_MANIFEST, Descriptor(mt.OCI_CONFIG, cfg, len(cfg_raw)), layers)
            man_raw = canonical_json(man.to_dict())
            man_digest = sha256_of(man_raw)
            write_blob(svc.store, f"commit-{man_digest}", man_raw, size=len(man_raw), expected=man_digest)
            held.add(str(man_digest))
            held.update(str(d.digest) for d in base_layers)
            held.update(str(c) for c in chain_ids([Digest(d) for d in diff_ids]))
            if snapshot_key and diff_id is not None:
                chain = str(chain_ids([Digest(d) for d in diff_ids])[-1])
                try:
                    if is_committed(svc.sn, Digest(chain)):
                        svc.sn.remove(snapshot_key)
                    else:
                        svc.sn.commit(chain, snapshot_key, {SIZE_LABEL: str(svc.sn.usage(snapshot_key).size)})
                except AlreadyExists:
                    svc.sn.remove(snapshot_key)  # the same layer committed meanwhile
            unpack(svc.store, svc.sn, man, lambda ev: None, announced=False)
            with svc._lock:
                svc._record(name or str(cfg), Descriptor(mt.OCI_MANIFEST, man_digest, len(man_raw)))
    except BaseException:
        svc.gc()
        raise
    return cfg
