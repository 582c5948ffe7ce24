"""Image archives: ``docker save`` (write) and ``docker load`` (read).

A saved archive holds both layouts in one tar, as docker 25 writes it:

- **docker-archive** (what docker 20.10 reads): ``manifest.json`` (``Config``,
  ``RepoTags``, ``Layers``), ``<config hex>.json``, ``repositories``, and per layer
  ``<id>/VERSION``, ``<id>/json`` and ``<id>/layer.tar`` — here a symlink to the blob;
- **OCI image layout**: ``oci-layout``, ``index.json`` (names in the
  ``io.containerd.image.name`` and ``org.opencontainers.image.ref.name`` annotations),
  ``blobs/sha256/<hex>``: the config, an OCI manifest, and each layer uncompressed (its
  digest is its diff_id).

Loading accepts either layout (``manifest.json`` first, else ``index.json``). The tar is
read from a seekable file; layers are stored as blobs (verified against the config's
diff_ids), unpacked through the pull's path, and only then are the names recorded. On any
error the garbage collector removes what the load had stored: nothing partial is kept.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import posixpath
import tarfile
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

from berth.archive import decompress
from berth.content import write_blob
from berth.errdefs import BerthError, InvalidArgument
from berth.images.pull import unpack
from berth.oci import mediatypes as mt
from berth.oci.digest import Digest, sha256_of
from berth.oci.image import Descriptor, Manifest, chain_ids, parse_image, parse_manifest_or_index
from berth.oci.reference import Reference, parse_normalized_named

if TYPE_CHECKING:
    from berth.images.service import ImageService

__all__ = ["load_archive", "save_archive"]

_CHUNK = 1 << 20
_EPOCH = 0


# -- save ------------------------------------------------------------------------------------


@dataclass
class _SaveItem:
    config: Digest
    raw_config: bytes
    diff_ids: list[Digest]
    layer_blobs: list[Descriptor]
    tags: list[str]


def _collect(svc: ImageService, names: Sequence[str]) -> list[_SaveItem]:
    items: dict[Digest, _SaveItem] = {}
    for name in names:
        g, rec = svc._find(name)
        loaded = g.loaded
        item = items.get(loaded.id)
        if item is None:
            item = _SaveItem(
                loaded.id,
                svc.store.read_blob(loaded.id),
                list(loaded.image.rootfs.diff_ids),
                list(loaded.manifest.layers),
                [],
            )
            items[loaded.id] = item
        if rec is not None:
            ref = parse_normalized_named(rec.name)
            tags = [ref.familiar_string()] if ref.digest is None else []
        else:
            tags = list(g.tags())  # by id: every tag of the image, as docker does
        for t in tags:
            if t not in item.tags:
                item.tags.append(t)
    return list(items.values())


def _info(name: str, size: int = 0, kind: bytes = tarfile.REGTYPE, mode: int = 0o644) -> tarfile.TarInfo:
    ti = tarfile.TarInfo(name)
    ti.size = size
    ti.type = kind
    ti.mode = mode
    ti.mtime = _EPOCH
    return ti


def _add_bytes(tf: tarfile.TarFile, name: str, data: bytes) -> None:
    import io

    tf.addfile(_info(name, len(data)), io.BytesIO(data))


def save_archive(svc: ImageService, names: Sequence[str], out: IO[bytes]) -> None:
    """Write the images ``names`` mean as one tar to ``out`` (not seeked)."""
    if not names:
        raise InvalidArgument("no images to save")
    items = _collect(svc, names)
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tf:
        _add_dir(tf, "blobs/")
        _add_dir(tf, "blobs/sha256/")
        written: set[str] = set()
        manifest_json: list[dict[str, Any]] = []
        repositories: dict[str, dict[str, str]] = {}
        index: list[dict[str, Any]] = []
        for item in items:
            layer_paths: list[str] = []
            layer_descs: list[Descriptor] = []
            parent = ""
            chains = chain_ids(item.diff_ids)
            for n, (blob, diff_id, chain) in enumerate(
                zip(item.layer_blobs, item.diff_ids, chains, strict=True)
            ):
                v1_id = chain.encoded if n else diff_id.encoded
                size = _add_layer_blob(svc, tf, blob, diff_id, written)
                layer_descs.append(Descriptor(mt.OCI_LAYER, diff_id, size))
                if f"v1/{v1_id}" not in written:
                    written.add(f"v1/{v1_id}")
                    _add_dir(tf, f"{v1_id}/")
                    _add_bytes(tf, f"{v1_id}/VERSION", b"1.0")
                    v1: dict[str, Any] = {"id": v1_id, "created": "1970-01-01T00:00:00Z"}
                    if parent:
                        v1["parent"] = parent
                    _add_bytes(tf, f"{v1_id}/json", json.dumps(v1).encode())
                    link = _info(f"{v1_id}/layer.tar", kind=tarfile.SYMTYPE, mode=0o777)
                    link.linkname = f"../blobs/sha256/{diff_id.encoded}"
                    tf.addfile(link)
                layer_paths.append(f"{v1_id}/layer.tar")
                parent = v1_id
            cfg_hex = item.config.encoded
            if cfg_hex not in written:
                written.add(cfg_hex)
                _add_bytes(tf, f"blobs/sha256/{cfg_hex}", item.raw_config)
            _add_bytes(tf, f"{cfg_hex}.json", item.raw_config)
            manifest_json.append(
                {"Config": f"{cfg_hex}.json", "RepoTags": item.tags or None, "Layers": layer_paths}
            )
            man = Manifest(
                mt.OCI_MANIFEST,
                Descriptor(mt.OCI_CONFIG, item.config, len(item.raw_config)),
                tuple(layer_descs),
            )
            man_bytes = json.dumps(man.to_dict(), separators=(",", ":")).encode()
            man_digest = sha256_of(man_bytes)
            if man_digest.encoded not in written:
                written.add(man_digest.encoded)
                _add_bytes(tf, f"blobs/sha256/{man_digest.encoded}", man_bytes)
            for t in item.tags or [""]:
                ann = {}
                if t:
                    ref = parse_normalized_named(t)
                    ann = {
                        "io.containerd.image.name": str(ref),
                        "org.opencontainers.image.ref.name": ref.tag,
                    }
                    repositories.setdefault(ref.familiar_name, {})[ref.tag] = parent
                index.append(
                    Descriptor(mt.OCI_MANIFEST, man_digest, len(man_bytes), annotations=ann).to_dict()
                )
        _add_bytes(tf, "oci-layout", json.dumps({"imageLayoutVersion": "1.0.0"}).encode())
        _add_bytes(
            tf,
            "index.json",
            json.dumps({"schemaVersion": 2, "mediaType": mt.OCI_INDEX, "manifests": index}).encode(),
        )
        _add_bytes(tf, "manifest.json", json.dumps(manifest_json).encode())
        if repositories:
            _add_bytes(tf, "repositories", json.dumps(repositories).encode())


def _add_dir(tf: tarfile.TarFile, name: str) -> None:
    tf.addfile(_info(name, kind=tarfile.DIRTYPE, mode=0o755))


def _add_layer_blob(
    svc: ImageService, tf: tarfile.TarFile, blob: Descriptor, diff_id: Digest, written: set[str]
) -> int:
    """Add the layer uncompressed as ``blobs/sha256/<diff_id hex>``; returns its size."""
    with tempfile.TemporaryFile() as tmp:
        h = hashlib.sha256()
        reader = svc.store.reader(blob.digest)
        try:
            plain, _ = decompress(reader)
            while chunk := plain.read(_CHUNK):
                h.update(chunk)
                tmp.write(chunk)
        finally:
            reader.close()
        size = tmp.tell()
        if f"sha256:{h.hexdigest()}" != str(diff_id):
            raise InvalidArgument(f"layer {blob.digest}: content does not match diff_id {diff_id}")
        if diff_id.encoded not in written:
            written.add(diff_id.encoded)
            tmp.seek(0)
            tf.addfile(_info(f"blobs/sha256/{diff_id.encoded}", size), tmp)
        return size


# -- load ------------------------------------------------------------------------------------


class _Archive:
    """Random access to a tar's regular files, following symlinks inside the archive."""

    def __init__(self, f: IO[bytes]) -> None:
        try:
            self.tf = tarfile.open(fileobj=f, mode="r:")
            self.members = {_norm(m.name): m for m in self.tf.getmembers()}
        except (tarfile.TarError, EOFError, OSError) as exc:
            raise InvalidArgument(f"invalid tar archive: {exc}") from None

    def member(self, name: str) -> tarfile.TarInfo:
        path = _norm(name)
        for _ in range(16):
            m = self.members.get(path)
            if m is None:
                raise InvalidArgument(f"invalid archive: {name} not found")
            if m.issym():
                path = _norm(posixpath.join(posixpath.dirname(path), m.linkname))
                continue
            if m.islnk():
                path = _norm(m.linkname)
                continue
            if not m.isfile():
                raise InvalidArgument(f"invalid archive: {name} is not a file")
            return m
        raise InvalidArgument(f"invalid archive: too many links at {name}")

    def has(self, name: str) -> bool:
        return _norm(name) in self.members

    def open(self, name: str) -> IO[bytes]:
        f = self.tf.extractfile(self.member(name))
        if f is None:
            raise InvalidArgument(f"invalid archive: cannot read {name}")
        return f

    def read(self, name: str, limit: int = 64 << 20) -> bytes:
        m = self.member(name)
        if m.size > limit:
            raise InvalidArgument(f"invalid archive: {name} too large")
        with self.open(name) as f:
            data = f.read()
        if len(data) != m.size:
            raise InvalidArgument(f"invalid archive: {name} is truncated")
        return data

    def json(self, name: str) -> Any:
        try:
            return json.loads(self.read(name))
        except ValueError as exc:
            raise InvalidArgument(f"invalid archive: {name}: {exc}") from None


def _norm(name: str) -> str:
    p = posixpath.normpath("/" + name).lstrip("/")
    return p


@dataclass
class _LoadItem:
    config: bytes
    layers: list[tuple[str, str]]  # (path in the archive, media type)
    names: list[Reference]


def _docker_items(ar: _Archive) -> list[_LoadItem]:
    doc = ar.json("manifest.json")
    if not isinstance(doc, list):
        raise InvalidArgument("invalid archive: manifest.json is not a list")
    out = []
    for e in doc:
        if not isinstance(e, dict) or not isinstance(e.get("Config"), str):
            raise InvalidArgument("invalid archive: bad manifest.json entry")
        names = [parse_normalized_named(t) for t in (e.get("RepoTags") or [])]
        layers = [(str(p), "") for p in (e.get("Layers") or [])]
        out.append(_LoadItem(ar.read(e["Config"]), layers, [n.tag_name_only() for n in names]))
    return out


def _blob_path(d: Digest) -> str:
    return f"blobs/{d.algorithm}/{d.encoded}"


def _oci_items(ar: _Archive) -> list[_LoadItem]:
    from berth.oci.image import parse_index

    index = parse_index(ar.read("index.json"))
    out = []
    todo = list(index.manifests)
    while todo:
        desc = todo.pop(0)
        obj = parse_manifest_or_index(ar.read(_blob_path(desc.digest)), desc.media_type)
        if not isinstance(obj, Manifest):
            todo.extend(obj.manifests)
            continue
        names = []
        ann = desc.annotations
        full = ann.get("io.containerd.image.name", "")
        short = ann.get("org.opencontainers.image.ref.name", "")
        if full:
            names.append(parse_normalized_named(full).tag_name_only())
        elif short and (":" in short or "/" in short):
            names.append(parse_normalized_named(short).tag_name_only())
        layers = [(_blob_path(layer.digest), layer.media_type) for layer in obj.layers]
        out.append(_LoadItem(ar.read(_blob_path(obj.config.digest)), layers, names))
    return out


def _store_layer(svc: ImageService, ar: _Archive, path: str, diff_id: Digest) -> Descriptor:
    """Store the layer at ``path`` as a blob: uncompressed (digest = ``diff_id``, checked)
    when it is a plain tar, else as it is, its diff_id checked while unpacking."""
    m = ar.member(path)
    with ar.open(path) as f:
        head = f.read(512)
        from berth.archive import detect

        kind = detect(head)
        f.seek(0)
        if kind == "":
            write_blob(svc.store, f"load-{diff_id}", f, size=m.size, expected=diff_id)  # type: ignore[arg-type]
            return Descriptor(mt.OCI_LAYER, diff_id, m.size)
        h = hashlib.sha256()
        while chunk := f.read(_CHUNK):
            h.update(chunk)
        digest = Digest(f"sha256:{h.hexdigest()}")
        f.seek(0)
        write_blob(svc.store, f"load-{digest}", f, size=m.size, expected=digest)  # type: ignore[arg-type]
        media = {"gzip": mt.OCI_LAYER_GZIP, "zstd": mt.OCI_LAYER_ZSTD}.get(kind, mt.OCI_LAYER)
        return Descriptor(media, digest, m.size)


def load_archive(svc: ImageService, f: IO[bytes], emit: Callable[[str], None]) -> list[Digest]:
    """Load every image of the tar ``f`` (seekable); ``emit`` gets Docker's ``Loaded
    image…`` lines. Returns the image ids. On an error, what the load stored and no name
    reaches is collected (nothing partial is kept)."""
    try:
        return _load(svc, f, emit)
    except BaseException:
        svc.gc()
        raise


def _load(svc: ImageService, f: IO[bytes], emit: Callable[[str], None]) -> list[Digest]:
    ids: list[Digest] = []
    with svc._lease() as held:
        try:
            ar = _Archive(f)
            items = _docker_items(ar) if ar.has("manifest.json") else _oci_items(ar) if ar.has("index.json") else None
            if items is None:
                raise InvalidArgument("invalid archive: no manifest.json or index.json")
            records: list[tuple[list[Reference], Descriptor, Digest]] = []
            for item in items:
                img = parse_image(item.config)
                diff_ids = list(img.rootfs.diff_ids)
                if len(diff_ids) != len(item.layers):
                    raise InvalidArgument(
                        f"invalid archive: {len(item.layers)} layers but {len(diff_ids)} diff_ids"
                    )
                cfg_digest = sha256_of(item.config)
                write_blob(svc.store, f"load-{cfg_digest}", item.config, size=len(item.config), expected=cfg_digest)
                held.add(str(cfg_digest))
                layers = []
                for (path, _), diff_id in zip(item.layers, diff_ids, strict=True):
                    d = _store_layer(svc, ar, path, diff_id)
                    held.add(str(d.digest))
                    layers.append(d)
                man = Manifest(mt.OCI_MANIFEST, Descriptor(mt.OCI_CONFIG, cfg_digest, len(item.config)), tuple(layers))
                man_bytes = json.dumps(man.to_dict(), separators=(",", ":")).encode()
                man_digest = sha256_of(man_bytes)
                write_blob(svc.store, f"load-{man_digest}", man_bytes, size=len(man_bytes), expected=man_digest)
                held.add(str(man_digest))
                held.update(str(c) for c in chain_ids(diff_ids))
                unpack(svc.store, svc.sn, man, lambda ev: None, announced=False)
                records.append((item.names, Descriptor(mt.OCI_MANIFEST, man_digest, len(man_bytes)), cfg_digest))
        except (tarfile.TarError, EOFError, OSError) as exc:
            raise InvalidArgument(f"invalid tar archive: {exc}") from None
        with svc._lock:
            for names, target, cfg_digest in records:
                if names:
                    for n in names:
                        old = svc._get(str(n))
                        if old is not None and old.target.digest != target.digest:
                            with contextlib.suppress(BerthError):
                                old_id = svc._load(old.target).id
                                if old_id != cfg_digest:
                                    emit(
                                        f"The image {n.familiar_string()} already exists, renaming "
                                        f"the old one with ID {old_id} to empty string\n"
                                    )
                        svc._record(str(n), target)
                elif not any(g.loaded.id == cfg_digest for g in svc._groups()):
                    svc._record(str(cfg_digest), target)
        for names, _, cfg_digest in records:
            for n in names:
                emit(f"Loaded image: {n.familiar_string()}\n")
            if not names:
                emit(f"Loaded image ID: {cfg_digest}\n")
            ids.append(cfg_digest)
    return ids


