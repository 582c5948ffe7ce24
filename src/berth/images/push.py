"""Push: content store → registry, with Docker's progress lines.

The sequence a client sees (README §2.2, trace ``push.txt``)::

    The push refers to repository [127.0.0.1:5055/apic/pushme]
    Preparing                                  per layer, top first, id = short digest
    Pushing (current/total)                    while bytes go up
    Pushed | Mounted from <repo> | Layer already exists
    <tag>: digest: sha256:… size: N            then aux {Tag, Digest, Size}

What goes up is the manifest for the daemon's platform, or the whole index when it was
pulled as one and every manifest it lists is in the store. Blobs are mounted from the
repositories they were pulled from (content label ``containerd.io/distribution.source.
<host>=<repo>[,<repo>…]``, written at pull time) when on the same registry.
"""

from __future__ import annotations

import gzip
import json
import threading
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor

from berth.content import Store, write_blob
from berth.errdefs import NotFound
from berth.images._types import PullEvent, PullFn
from berth.metadata import Database
from berth.oci import mediatypes as mt
from berth.oci.digest import Digest, sha256_of
from berth.oci.image import Descriptor, Index, Manifest, canonical_json, parse_manifest_or_index
from berth.registry import Progress

__all__ = [
    "COMPRESSED_LABEL",
    "SOURCE_LABEL",
    "PushWatch",
    "add_sources",
    "compress_for_push",
    "layers_of",
    "mount_sources",
    "push_target",
    "short_id",
]

SOURCE_LABEL = "containerd.io/distribution.source."


def short_id(d: Digest) -> str:
    return d.encoded[:12]


def add_sources(db: Database, digests: Iterable[Digest], domain: str, repo: str) -> None:
    """Remember that ``digests`` were fetched from ``domain``/``repo``."""
    key = SOURCE_LABEL + domain
    with db.images() as tx:
        for d in digests:
            try:
                labels = dict(tx.get_content(str(d)).labels)
            except NotFound:
                labels = {}
            repos = [r for r in labels.get(key, "").split(",") if r]
            if repo in repos:
                continue
            labels[key] = ",".join([*repos, repo])
            tx.set_content_labels(str(d), labels)


def mount_sources(db: Database, digests: Iterable[Digest], domain: str) -> list[str]:
    """The repositories on ``domain`` the blobs came from, the most common first."""
    key = SOURCE_LABEL + domain
    count: dict[str, int] = {}
    with db.images() as tx:
        for d in digests:
            try:
                labels: Mapping[str, str] = tx.get_content(str(d)).labels
            except NotFound:
                continue
            for r in labels.get(key, "").split(","):
                if r:
                    count[r] = count.get(r, 0) + 1
    return sorted(count, key=lambda r: (-count[r], r))


def _has(store: Store, d: Digest) -> bool:
    try:
        store.info(d)
    except NotFound:
        return False
    return True


def push_target(store: Store, top: Descriptor, selected: Descriptor) -> tuple[Descriptor, Manifest | None]:
    """What to push for a name pointing at ``top`` whose platform manifest is
    ``selected``: the index when every manifest (and blob) it lists is here, else the
    manifest. Returns it and, for a manifest, the parsed manifest."""
    if top.digest != selected.digest:
        obj = parse_manifest_or_index(store.read_blob(top.digest), top.media_type)
        if isinstance(obj, Index) and all(_complete(store, m) for m in obj.manifests):
            return top, None
    sel = parse_manifest_or_index(store.read_blob(selected.digest), selected.media_type)
    assert isinstance(sel, Manifest)
    return selected, sel


def _complete(store: Store, m: Descriptor) -> bool:
    if not _has(store, m.digest):
        return False
    try:
        obj = parse_manifest_or_index(store.read_blob(m.digest), m.media_type)
    except Exception:
        return False
    if not isinstance(obj, Manifest):
        return False
    return all(_has(store, d.digest) for d in [obj.config, *obj.layers])


def layers_of(store: Store, desc: Descriptor) -> list[Descriptor]:
    """Every layer under ``desc`` (an index's manifests in order), without repeats."""
    obj = parse_manifest_or_index(store.read_blob(desc.digest), desc.media_type)
    out: dict[Digest, Descriptor] = {}
    if isinstance(obj, Index):
        for m in obj.manifests:
            for d in layers_of(store, m):
                out.setdefault(d.digest, d)
    else:
        assert isinstance(obj, Manifest)
        for d in obj.layers:
            out.setdefault(d.digest, d)
    return list(out.values())


class PushWatch:
    """Turns the registry client's progress into Docker's per-layer push lines."""

    def __init__(self, layers: list[Descriptor], emit: PullFn, mounted_from: str) -> None:
        self.ids = {d.digest: short_id(d.digest) for d in layers}
        self.emit = emit
        self.mounted_from = mounted_from
        self.lock = threading.Lock()

    def __call__(self, p: Progress) -> None:
        lid = self.ids.get(p.digest)
        if lid is None:
            return  # the config: Docker does not show it
        with self.lock:
            if p.status == "uploading":
                self.emit(PullEvent("Pushing", lid, p.current, p.total))
            elif p.status == "pushed":
                self.emit(PullEvent("Pushed", lid))
            elif p.status == "mounted":
                self.emit(PullEvent(f"Mounted from {self.mounted_from}", lid))
            elif p.status == "exists":
                self.emit(PullEvent("Layer already exists", lid))


# -- layers stored uncompressed (imported, loaded, later built) are compressed for push ----

COMPRESSED_LABEL = "berth.io/compressed.gzip"
_GZIP_OF = {mt.OCI_LAYER: mt.OCI_LAYER_GZIP, mt.DOCKER_LAYER: mt.DOCKER_LAYER_GZIP}


def compress_for_push(
    store: Store, db: Database, desc: Descriptor, manifest: Manifest, held: set[str]
) -> Descriptor:
    """The manifest to push for ``desc``: itself when every layer is compressed already,
    else a new manifest (written to the store) whose uncompressed layers are replaced by
    gzip blobs. Layers are compressed in parallel (zlib releases the GIL); the result is
    remembered on the uncompressed blob (label ``berth.io/compressed.gzip``) so the next
    push reuses it. Registries store what they are given: Docker compresses on push too."""
    todo = [d for d in manifest.layers if d.media_type in _GZIP_OF]
    if not todo:
        return desc

    def one(layer: Descriptor) -> Descriptor:
        media = _GZIP_OF[layer.media_type]
        with db.images() as tx:
            try:
                cached = tx.get_content(str(layer.digest)).labels.get(COMPRESSED_LABEL)
            except NotFound:
                cached = None
        if cached:
            try:
                info = store.info(Digest(cached))
                held.add(cached)
                return Descriptor(media, Digest(cached), info.size)
            except NotFound:
                pass
        blob = gzip.compress(store.read_blob(layer.digest), compresslevel=6, mtime=0)
        digest = sha256_of(blob)
        held.add(str(digest))
        write_blob(store, f"push-gzip-{layer.digest.encoded}", blob, size=len(blob), expected=digest)
        with db.images() as tx:
            try:
                labels = dict(tx.get_content(str(layer.digest)).labels)
            except NotFound:
                labels = {}
            labels[COMPRESSED_LABEL] = str(digest)
            tx.set_content_labels(str(layer.digest), labels)
        return Descriptor(media, digest, len(blob))

    with ThreadPoolExecutor(max_workers=min(4, len(todo))) as pool:
        done = dict(zip((d.digest for d in todo), pool.map(one, todo), strict=True))
    doc = json.loads(store.read_blob(desc.digest))
    doc["layers"] = [done[d.digest].to_dict() if d.digest in done else d.to_dict() for d in manifest.layers]
    raw = canonical_json(doc)
    digest = sha256_of(raw)
    held.add(str(digest))
    write_blob(store, f"push-manifest-{digest.encoded}", raw, size=len(raw), expected=digest)
    return Descriptor(desc.media_type, digest, len(raw))
