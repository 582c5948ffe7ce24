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

import threading
from collections.abc import Iterable, Mapping

from berth.content import Store
from berth.errdefs import NotFound
from berth.images._types import PullEvent, PullFn
from berth.metadata import Database
from berth.oci.digest import Digest
from berth.oci.image import Descriptor, Index, Manifest, parse_manifest_or_index
from berth.registry import Progress

__all__ = ["SOURCE_LABEL", "PushWatch", "add_sources", "layers_of", "mount_sources", "push_target", "short_id"]

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
