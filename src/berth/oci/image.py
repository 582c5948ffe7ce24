"""Image-spec objects: descriptor, manifest, index (manifest list), image config.

Vocabulary (image-spec, and how berth uses the words):

- **descriptor** — a typed pointer to content: media type, digest, size (descriptor.md).
  Everything in an image is reached through one.
- **manifest** — one image for one platform: a config descriptor and the ordered layer
  descriptors, base layer first (manifest.md).
- **index** — a list of manifests, usually one per platform; Docker calls it a *manifest
  list* (image-index.md). :func:`select_manifest` picks one for a platform.
- **image config** — the JSON the image id is the digest of: platform, default process
  settings (``config``), the ``rootfs.diff_ids`` and ``history`` (config.md).
- **diff_id** — the digest of a layer's *uncompressed* tar; the manifest's layer
  descriptors carry the digests of the (usually compressed) blobs instead.
- **chain_id** — names a stack of layers: ``chain_id([d1]) = d1`` and
  ``chain_id([d1..dn]) = sha256(chain_id([d1..dn-1]) + " " + dn)`` (config.md#layer-chainid).
  Snapshots are keyed by it, so it lives here, below both ``archive`` and ``snapshots``.

Parsing accepts Docker schema2 and OCI media types alike, checks every field it keeps
and fails with :class:`~berth.errdefs.InvalidArgument` naming the field
(``manifest: layers[1].digest: invalid checksum digest format: 'sha256:xyz'``). Docker
schema1 is refused with :class:`~berth.errdefs.NotImplemented`. Fields berth does not
use are dropped from the parsed view; the bytes in the content store stay as they came
(their digest is what counts). :meth:`to_dict` gives the wire shape for objects berth
creates itself (import, commit, build), and :func:`canonical_json` the bytes, written as
Go's ``encoding/json`` writes them so that digests match what other tools compute for the
same object.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from berth import errdefs
from berth.errdefs import InvalidArgument
from berth.oci import mediatypes as mt
from berth.oci._fields import _Obj
from berth.oci.digest import Digest, sha256_of
from berth.oci.platform import Platform, select_best

__all__ = [
    "Descriptor",
    "History",
    "Image",
    "ImageConfig",
    "Index",
    "Manifest",
    "RootFS",
    "canonical_json",
    "chain_id",
    "chain_ids",
    "digest_of",
    "parse_descriptor",
    "parse_image",
    "parse_index",
    "parse_manifest",
    "parse_manifest_or_index",
    "select_manifest",
]

JSON = dict[str, Any]


# -- descriptors ---------------------------------------------------------------------


@dataclass(frozen=True)
class Descriptor:
    media_type: str
    digest: Digest
    size: int
    urls: tuple[str, ...] = ()
    annotations: Mapping[str, str] = field(default_factory=dict)
    platform: Platform | None = None
    artifact_type: str = ""

    def to_dict(self) -> JSON:
        d: JSON = {"mediaType": self.media_type, "digest": str(self.digest), "size": self.size}
        if self.urls:
            d["urls"] = list(self.urls)
        if self.annotations:
            d["annotations"] = dict(sorted(self.annotations.items()))
        if self.platform is not None:
            d["platform"] = _platform_to_dict(self.platform)
        if self.artifact_type:
            d["artifactType"] = self.artifact_type
        return d


def _platform_to_dict(p: Platform) -> JSON:
    d: JSON = {"architecture": p.architecture, "os": p.os}
    if p.os_version:
        d["os.version"] = p.os_version
    if p.os_features:
        d["os.features"] = list(p.os_features)
    if p.variant:
        d["variant"] = p.variant
    return d


def _parse_platform(o: _Obj) -> Platform:
    return Platform(
        os=o.string("os", required=True),
        architecture=o.string("architecture", required=True),
        variant=o.string("variant"),
        os_version=o.string("os.version"),
        os_features=o.str_list("os.features") or (),
    )


def _descriptor(o: _Obj) -> Descriptor:
    size = o.integer("size", required=True)
    if size < 0:
        o.fail(f"must not be negative, got {size}", "size")
    p = o.obj("platform")
    return Descriptor(
        media_type=o.string("mediaType", required=True),
        digest=o.digest("digest"),
        size=size,
        urls=o.str_list("urls") or (),
        annotations=o.str_map("annotations"),
        platform=_parse_platform(p) if p is not None else None,
        artifact_type=o.string("artifactType"),
    )


def parse_descriptor(value: object, where: str = "descriptor") -> Descriptor:
    """A descriptor from parsed JSON (an OCI layout's index entry, an API body)."""
    return _descriptor(_Obj(value, where))


# -- manifests and indexes -----------------------------------------------------------


@dataclass(frozen=True)
class Manifest:
    media_type: str
    config: Descriptor
    layers: tuple[Descriptor, ...]
    annotations: Mapping[str, str] = field(default_factory=dict)
    subject: Descriptor | None = None
    artifact_type: str = ""
    schema_version: int = 2

    def to_dict(self) -> JSON:
        d: JSON = {"schemaVersion": self.schema_version, "mediaType": self.media_type}
        if self.artifact_type:
            d["artifactType"] = self.artifact_type
        d["config"] = self.config.to_dict()
        d["layers"] = [layer.to_dict() for layer in self.layers]
        if self.subject is not None:
            d["subject"] = self.subject.to_dict()
        if self.annotations:
            d["annotations"] = dict(sorted(self.annotations.items()))
        return d


@dataclass(frozen=True)
class Index:
    media_type: str
    manifests: tuple[Descriptor, ...]
    annotations: Mapping[str, str] = field(default_factory=dict)
    subject: Descriptor | None = None
    artifact_type: str = ""
    schema_version: int = 2

    def to_dict(self) -> JSON:
        d: JSON = {"schemaVersion": self.schema_version, "mediaType": self.media_type}
        if self.artifact_type:
            d["artifactType"] = self.artifact_type
        d["manifests"] = [m.to_dict() for m in self.manifests]
        if self.subject is not None:
            d["subject"] = self.subject.to_dict()
        if self.annotations:
            d["annotations"] = dict(sorted(self.annotations.items()))
        return d


def _load(data: bytes | str | Mapping[str, Any], what: str) -> object:
    if isinstance(data, Mapping):
        return data
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidArgument(f"{what}: invalid JSON: {exc}") from None


def _refuse_schema1(media_type: str, what: str) -> None:
    raise errdefs.NotImplemented(
        f"{what}: media type {media_type!r} is Docker Image manifest version 2, schema 1, "
        "which is no longer supported: the image must be republished as OCI or Docker "
        "schema 2"
    )


def _check_media_type(o: _Obj, header: str | None, allowed: tuple[str, ...], what: str) -> str:
    declared = o.string("mediaType")
    if declared and header and declared != header:
        o.fail(f"should be {header!r} not {declared!r}", "mediaType")
    media_type = declared or header or allowed[0]
    if mt.is_schema1(media_type):
        _refuse_schema1(media_type, what)
    if media_type not in allowed:
        o.fail(f"unexpected media type {media_type!r} for {what}", "mediaType")
    version = o.integer("schemaVersion", required=True)
    if version == 1:
        _refuse_schema1(media_type, what)
    if version != 2:
        o.fail(f"must be 2, got {version}", "schemaVersion")
    return media_type


def _manifest(o: _Obj, media_type: str) -> Manifest:
    config = o.obj("config", required=True)
    assert config is not None
    subject = o.obj("subject")
    layers = tuple(_descriptor(x) for x in o.objs("layers", required=True))
    return Manifest(
        media_type=media_type,
        config=_descriptor(config),
        layers=layers,
        annotations=o.str_map("annotations"),
        subject=_descriptor(subject) if subject is not None else None,
        artifact_type=o.string("artifactType"),
    )


def _index(o: _Obj, media_type: str) -> Index:
    subject = o.obj("subject")
    return Index(
        media_type=media_type,
        manifests=tuple(_descriptor(x) for x in o.objs("manifests", required=True)),
        annotations=o.str_map("annotations"),
        subject=_descriptor(subject) if subject is not None else None,
        artifact_type=o.string("artifactType"),
    )


def parse_manifest(data: bytes | str | Mapping[str, Any], media_type: str | None = None) -> Manifest:
    """An image manifest (OCI or Docker schema2). ``media_type`` is what the registry's
    Content-Type or the pointing descriptor said; it must agree with the document."""
    o = _Obj(_load(data, "manifest"), "manifest")
    return _manifest(o, _check_media_type(o, media_type, (mt.OCI_MANIFEST, mt.DOCKER_MANIFEST), "manifest"))


def parse_index(data: bytes | str | Mapping[str, Any], media_type: str | None = None) -> Index:
    """An image index or Docker manifest list."""
    o = _Obj(_load(data, "index"), "index")
    return _index(o, _check_media_type(o, media_type, (mt.OCI_INDEX, mt.DOCKER_MANIFEST_LIST), "index"))


def parse_manifest_or_index(
    data: bytes | str | Mapping[str, Any], media_type: str | None = None
) -> Manifest | Index:
    """Whichever the document is: by ``media_type`` (header or descriptor), else by its
    own ``mediaType``, else by shape (OCI allows both to be absent)."""
    doc = _load(data, "manifest")
    o = _Obj(doc, "manifest")
    declared = media_type or o.string("mediaType")
    if declared and mt.is_schema1(declared):
        _refuse_schema1(declared, "manifest")
    if mt.is_index(declared) or (not declared and o.has("manifests")):
        return parse_index(o.doc, media_type)
    if mt.is_manifest(declared) or (not declared and o.has("config")):
        return parse_manifest(o.doc, media_type)
    if not declared and o.integer("schemaVersion") == 1:
        _refuse_schema1(mt.DOCKER_SCHEMA1_MANIFEST, "manifest")
    o.fail(
        f"unsupported media type {declared!r}" if declared else "neither a manifest nor an index",
        "mediaType" if declared else "",
    )
    raise AssertionError("unreachable")


def select_manifest(index: Index, want: Platform) -> Descriptor:
    """The manifest of ``index`` for a host of platform ``want`` (see
    :mod:`berth.oci.platform`): the exact platform, else the best one it can run."""
    candidates = [m for m in index.manifests if mt.is_manifest(m.media_type) or mt.is_index(m.media_type)]
    return select_best(want, candidates, lambda d: d.platform)


# -- image config --------------------------------------------------------------------


@dataclass(frozen=True)
class ImageConfig:
    """The default process of containers made from the image (config.md ``config``),
    with Docker's additions (Healthcheck, OnBuild, Shell, StopTimeout). ``None`` and
    ``()`` differ for ``entrypoint``/``cmd``: Docker treats an explicit empty list as
    "reset"."""

    user: str = ""
    exposed_ports: tuple[str, ...] = ()
    env: tuple[str, ...] = ()
    entrypoint: tuple[str, ...] | None = None
    cmd: tuple[str, ...] | None = None
    volumes: tuple[str, ...] = ()
    working_dir: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    stop_signal: str = ""
    args_escaped: bool = False
    healthcheck: Mapping[str, Any] | None = None
    on_build: tuple[str, ...] | None = None
    shell: tuple[str, ...] | None = None
    stop_timeout: int | None = None

    def to_dict(self) -> JSON:
        d: JSON = {}
        if self.user:
            d["User"] = self.user
        if self.exposed_ports:
            d["ExposedPorts"] = {p: {} for p in self.exposed_ports}
        if self.env:
            d["Env"] = list(self.env)
        if self.entrypoint is not None:
            d["Entrypoint"] = list(self.entrypoint)
        if self.cmd is not None:
            d["Cmd"] = list(self.cmd)
        if self.volumes:
            d["Volumes"] = {v: {} for v in self.volumes}
        if self.working_dir:
            d["WorkingDir"] = self.working_dir
        if self.labels:
            d["Labels"] = dict(sorted(self.labels.items()))
        if self.stop_signal:
            d["StopSignal"] = self.stop_signal
        if self.args_escaped:
            d["ArgsEscaped"] = True
        if self.healthcheck is not None:
            d["Healthcheck"] = dict(self.healthcheck)
        if self.on_build is not None:
            d["OnBuild"] = list(self.on_build)
        if self.shell is not None:
            d["Shell"] = list(self.shell)
        if self.stop_timeout is not None:
            d["StopTimeout"] = self.stop_timeout
        return d


@dataclass(frozen=True)
class RootFS:
    type: str = "layers"
    diff_ids: tuple[Digest, ...] = ()

    def to_dict(self) -> JSON:
        return {"type": self.type, "diff_ids": [str(d) for d in self.diff_ids]}


@dataclass(frozen=True)
class History:
    created: str = ""
    created_by: str = ""
    author: str = ""
    comment: str = ""
    empty_layer: bool = False

    def to_dict(self) -> JSON:
        d: JSON = {}
        for key in ("created", "created_by", "author", "comment"):
            if getattr(self, key):
                d[key] = getattr(self, key)
        if self.empty_layer:
            d["empty_layer"] = True
        return d


@dataclass(frozen=True)
class Image:
    """The image config blob; the image id is its digest."""

    architecture: str
    os: str
    rootfs: RootFS
    config: ImageConfig = field(default_factory=ImageConfig)
    created: str = ""
    author: str = ""
    variant: str = ""
    os_version: str = ""
    os_features: tuple[str, ...] = ()
    history: tuple[History, ...] = ()

    @property
    def platform(self) -> Platform:
        return Platform(self.os, self.architecture, self.variant, self.os_version, self.os_features)

    def chain_ids(self) -> list[Digest]:
        return chain_ids(self.rootfs.diff_ids)

    def to_dict(self) -> JSON:
        d: JSON = {}
        if self.created:
            d["created"] = self.created
        if self.author:
            d["author"] = self.author
        d["architecture"] = self.architecture
        d["os"] = self.os
        if self.os_version:
            d["os.version"] = self.os_version
        if self.os_features:
            d["os.features"] = list(self.os_features)
        if self.variant:
            d["variant"] = self.variant
        d["config"] = self.config.to_dict()
        d["rootfs"] = self.rootfs.to_dict()
        if self.history:
            d["history"] = [h.to_dict() for h in self.history]
        return d


def _image_config(o: _Obj) -> ImageConfig:
    stop_timeout = o.integer("StopTimeout") if o.has("StopTimeout") else None
    hc = o.obj("Healthcheck")
    return ImageConfig(
        user=o.string("User"),
        exposed_ports=o.set_map("ExposedPorts"),
        env=o.str_list("Env") or (),
        entrypoint=o.str_list("Entrypoint"),
        cmd=o.str_list("Cmd"),
        volumes=o.set_map("Volumes"),
        working_dir=o.string("WorkingDir"),
        labels=o.str_map("Labels"),
        stop_signal=o.string("StopSignal"),
        args_escaped=o.boolean("ArgsEscaped"),
        healthcheck=o.raw("Healthcheck") if hc is not None else None,
        on_build=o.str_list("OnBuild"),
        shell=o.str_list("Shell"),
        stop_timeout=stop_timeout,
    )


def parse_image(data: bytes | str | Mapping[str, Any]) -> Image:
    """An image config blob (OCI ``config.v1`` or Docker ``container.image.v1``)."""
    o = _Obj(_load(data, "image config"), "image config")
    rootfs = o.obj("rootfs", required=True)
    assert rootfs is not None
    rtype = rootfs.string("type", required=True)
    if rtype != "layers":
        rootfs.fail(f"must be 'layers', got {rtype!r}", "type")
    diff_ids = rootfs.str_list("diff_ids") or ()
    checked = []
    for i, d in enumerate(diff_ids):
        try:
            checked.append(Digest(d))
        except InvalidArgument as exc:
            rootfs.fail(exc.message, f"diff_ids[{i}]")
    cfg = o.obj("config")
    history = tuple(
        History(
            created=h.string("created"),
            created_by=h.string("created_by"),
            author=h.string("author"),
            comment=h.string("comment"),
            empty_layer=h.boolean("empty_layer"),
        )
        for h in o.objs("history")
    )
    return Image(
        architecture=o.string("architecture", required=True),
        os=o.string("os", required=True),
        rootfs=RootFS("layers", tuple(checked)),
        config=_image_config(cfg) if cfg is not None else ImageConfig(),
        created=o.string("created"),
        author=o.string("author"),
        variant=o.string("variant"),
        os_version=o.string("os.version"),
        os_features=o.str_list("os.features") or (),
        history=history,
    )


# -- ids -----------------------------------------------------------------------------


def chain_id(diff_ids: Sequence[Digest | str]) -> Digest:
    """The chain id of a layer stack, base first (config.md#layer-chainid)."""
    if not diff_ids:
        raise InvalidArgument("chain id of no layers")
    return chain_ids(diff_ids)[-1]


def chain_ids(diff_ids: Sequence[Digest | str]) -> list[Digest]:
    """The chain id of every prefix of the stack: ``[chain_id(d[:1]), chain_id(d[:2]) …]``."""
    out: list[Digest] = []
    for d in diff_ids:
        d = Digest(d)
        if not out:
            out.append(d)
        else:
            out.append(
                Digest.from_hex(hashlib.sha256(f"{out[-1]} {d}".encode()).hexdigest())
            )
    return out


# -- JSON as Go writes it ------------------------------------------------------------

_GO_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def canonical_json(obj: object) -> bytes:
    """Compact JSON as Go's ``json.Marshal``: no spaces, UTF-8 kept, ``<>&`` escaped,
    object keys in the order given (``to_dict`` gives the spec's struct order)."""
    text = json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    for ch, esc in _GO_ESCAPES.items():
        if ch in text:
            text = text.replace(ch, esc)
    return text.encode()


def digest_of(obj: Manifest | Index | Image) -> Digest:
    """The digest of ``obj`` written with :func:`canonical_json`."""
    return sha256_of(canonical_json(obj.to_dict()))
