"""Pull: registry → content store → committed snapshots, with Docker's progress lines.

The sequence a client sees (README §3.3, trace ``pull_progress.txt``)::

    Pulling from library/hello-world           id = the tag (or the digest)
    Pulling fs layer | Already exists          per layer, id = the blob digest's first 12 hex
    Downloading (current/total)                while bytes arrive
    Verifying Checksum, Download complete      the blob was committed (digest checked)
    Extracting (current/total)                 compressed bytes read by the unpacker
    Pull complete
    Digest: sha256:…                           what the reference resolved to
    Status: Downloaded newer image for <ref> | Status: Image is up to date for <ref>

Layers are unpacked base first, each into an active snapshot over the previous chain id,
then committed under its own chain id; a chain id committed already (by another image, or
by a pull that won a race) is used as it is.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable

from berth.archive import apply_layer
from berth.content import Store, write_blob
from berth.errdefs import AlreadyExists, InvalidArgument, NotFound
from berth.images._types import PullEvent, PullFn, RegistryClient
from berth.oci.digest import Digest
from berth.oci.image import (
    Descriptor,
    Index,
    Manifest,
    chain_ids,
    parse_image,
    parse_manifest_or_index,
    select_manifest,
)
from berth.oci.platform import Platform
from berth.oci.reference import Reference
from berth.registry import Credentials, Progress, Resolved
from berth.snapshots import Kind, OverlaySnapshotter

__all__ = ["SIZE_LABEL", "fetch", "short_id", "unpack"]

SIZE_LABEL = "berth.layer.size"
_EXTRACT_STEP = 512 << 10  # bytes between two Extracting lines


def short_id(d: Digest) -> str:
    return d.encoded[:12]


def is_committed(sn: OverlaySnapshotter, chain: Digest) -> bool:
    try:
        return sn.stat(str(chain)).kind == Kind.COMMITTED
    except NotFound:
        return False


def fetch(
    client: RegistryClient,
    store: Store,
    ref: Reference,
    resolved: Resolved,
    platform: Platform,
    emit: PullFn,
    credentials: Credentials | None,
) -> Manifest:
    """Bring the manifest ``resolved`` leads to, its config and layers into ``store``."""
    obj = parse_manifest_or_index(resolved.data, resolved.descriptor.media_type)
    top = resolved.descriptor
    if isinstance(obj, Index):
        write_blob(store, f"manifest-{top.digest}", resolved.data, size=top.size, expected=top.digest)
        child = select_manifest(obj, platform)
        sub = client.resolve(ref.name_only().with_digest(child.digest), credentials=credentials)
        sobj = parse_manifest_or_index(sub.data, sub.descriptor.media_type)
        if not isinstance(sobj, Manifest):
            raise NotFound(f"{ref.familiar_string()}: no manifest for this platform")
        manifest, pin = sobj, child.digest
    else:
        assert isinstance(obj, Manifest)
        manifest, pin = obj, top.digest
    layers = {d.digest: short_id(d.digest) for d in manifest.layers}
    for d in manifest.layers:
        if _has_blob(store, d):
            emit(PullEvent("Already exists", layers[d.digest]))
        else:
            emit(PullEvent("Pulling fs layer", layers[d.digest], None, None))
    lock = threading.Lock()

    def on_progress(p: Progress) -> None:
        lid = layers.get(p.digest)
        if lid is None:
            return  # the config: Docker does not show it
        with lock:
            if p.status == "downloading":
                emit(PullEvent("Downloading", lid, p.current, p.total))
            elif p.status == "complete":
                emit(PullEvent("Verifying Checksum", lid))
                emit(PullEvent("Download complete", lid))

    client.pull(
        ref.name_only().with_digest(pin),
        store,
        platform=platform,
        progress=on_progress,
        credentials=credentials,
    )
    return manifest


def _has_blob(store: Store, d: Descriptor) -> bool:
    try:
        store.info(d.digest)
    except NotFound:
        return False
    return True


class _Counting:
    """Reads through to a blob, reporting the bytes read so far every so often."""

    def __init__(self, inner: Store, digest: Digest, report: Callable[[int], None]) -> None:
        self._r = inner.reader(digest)
        self._n = 0
        self._last = 0
        self._report = report

    def read(self, n: int = -1, /) -> bytes:
        data = self._r.read(n)
        self._n += len(data)
        if self._n - self._last >= _EXTRACT_STEP or (not data and self._n != self._last):
            self._last = self._n
            self._report(self._n)
        return data

    def close(self) -> None:
        self._r.close()


def unpack(
    store: Store,
    sn: OverlaySnapshotter,
    manifest: Manifest,
    emit: PullFn,
    announced: bool = True,
) -> list[Digest]:
    """Apply every layer of ``manifest`` not committed yet; returns the chain ids."""
    img = parse_image(store.read_blob(manifest.config.digest))
    diff_ids = img.rootfs.diff_ids
    if len(diff_ids) != len(manifest.layers):
        raise InvalidArgument(
            f"image {manifest.config.digest}: {len(manifest.layers)} layers but "
            f"{len(diff_ids)} diff_ids"
        )
    chains = chain_ids(diff_ids)
    parent: str | None = None
    for layer, diff_id, chain in zip(manifest.layers, diff_ids, chains, strict=True):
        lid = short_id(layer.digest)
        if not is_committed(sn, chain):
            _unpack_one(store, sn, layer, diff_id, chain, parent, lid, emit)
            if announced:
                emit(PullEvent("Pull complete", lid))
        parent = str(chain)
    return chains


def _unpack_one(
    store: Store,
    sn: OverlaySnapshotter,
    layer: Descriptor,
    diff_id: Digest,
    chain: Digest,
    parent: str | None,
    lid: str,
    emit: PullFn,
) -> None:
    key = f"extract-{os.getpid()}-{uuid.uuid4().hex[:12]}-{chain.encoded[:16]}"
    sn.prepare(key, parent)
    try:
        blob = _Counting(store, layer.digest, lambda n: emit(PullEvent("Extracting", lid, n, layer.size)))
        try:
            res = apply_layer(
                sn.fs_dir(key), blob, parents=sn.lower_dirs(key), expected_diff_id=diff_id
            )
        finally:
            blob.close()
        # The layer's size is what it takes on disk (the snapshotter's usage: allocated
        # blocks, each inode once), the same measure `system df` sums, so `images` and
        # `system df` agree; the tar's length (res.size) counts headers and padding.
        del res
        sn.commit(str(chain), key, {SIZE_LABEL: str(sn.usage(key).size)})
    except AlreadyExists:
        sn.remove(key)  # another pull committed the same layer: theirs is as good
    except BaseException:
        sn.remove(key)
        raise
