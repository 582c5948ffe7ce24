"""The image service: pull, list, inspect, tag, remove, prune, and garbage collection.

Synchronous and thread-safe (the engine calls it off the event loop). Names are found as
dockerd finds them (``daemon/images/image.go`` GetImage): a full image id or digest, then
a reference (``latest`` added to a bare name; ``repo@digest`` matching any name of that
repository whose image has that digest), then a unique prefix of an image id.
"""

from __future__ import annotations

import builtins
import contextlib
import fnmatch
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from berth.content import Store
from berth.errdefs import BerthError, Conflict, FailedPrecondition, InvalidArgument, NotFound
from berth.images._load import Loaded, load, reachable, unix_seconds
from berth.images._types import (
    ContainerUsage,
    DeleteItem,
    ImageDetail,
    ImageSummary,
    PullEvent,
    PullFn,
    PushResult,
    RegistryClient,
)
from berth.images.pull import SIZE_LABEL, fetch, is_committed, unpack
from berth.images.push import (
    PushWatch,
    add_sources,
    compress_for_push,
    layers_of,
    mount_sources,
    push_target,
    short_id,
)
from berth.metadata import Database, ImageRecord
from berth.oci.digest import Digest
from berth.oci.image import Descriptor, Index, chain_ids, parse_manifest_or_index, select_manifest
from berth.oci.platform import Platform, default_platform
from berth.oci.reference import (
    Reference,
    parse_any_reference,
    parse_docker_ref,
    parse_normalized_named,
)
from berth.registry import Credentials, Resolved
from berth.snapshots import Kind, OverlaySnapshotter

__all__ = ["BUILD_CACHE_REPO", "ImageService", "is_cache_name"]

LIST_FILTERS = ("before", "dangling", "label", "reference", "since")


BUILD_CACHE_REPO = "berth.build/cache"
"""The builder's cache records are names in this repository (``berth.build/cache:<key>``):
they keep the images of cached build steps (and so their layers) from garbage collection,
and are nobody's tags: ``images`` hides an image only they name, ``image prune`` leaves it
to ``builder prune``."""


def is_cache_name(name: str) -> bool:
    return name.startswith(BUILD_CACHE_REPO + ":")


def _is_dangling_name(name: str) -> bool:
    return name.startswith("sha256:") or is_cache_name(name)


def _ref_of(name: str) -> Reference:
    return parse_normalized_named(name)


@dataclass
class _Group:
    """One image (one config digest) and every name pointing at it."""

    loaded: Loaded
    records: builtins.list[ImageRecord]

    @property
    def refs(self) -> builtins.list[ImageRecord]:
        return [r for r in self.records if not _is_dangling_name(r.name)]

    @property
    def cache_only(self) -> bool:
        """Named by build cache records alone: an intermediate image of a build."""
        return all(is_cache_name(r.name) for r in self.records)

    def tags(self) -> tuple[str, ...]:
        out = []
        for r in self.refs:
            ref = _ref_of(r.name)
            if ref.tag and ref.digest is None:
                out.append(ref.familiar_string())
        return tuple(sorted(out))

    def digests(self) -> tuple[str, ...]:
        out = set()
        for r in self.refs:
            ref = _ref_of(r.name)
            if ref.digest is not None:
                out.add(ref.familiar_string())
        return tuple(sorted(out))


class ImageService:
    def __init__(
        self,
        store: Store,
        snapshotter: OverlaySnapshotter,
        db: Database,
        registry: RegistryClient,
        *,
        platform: Platform | None = None,
        usage: ContainerUsage | None = None,
    ) -> None:
        self.store = store
        self.sn = snapshotter
        self.db = db
        self.registry = registry
        self.platform = platform or default_platform()
        self._usage = usage
        self._lock = threading.RLock()
        self._inflight: dict[int, tuple[float, set[str]]] = {}
        self._sizes: dict[str, int] = {}

    def set_usage(self, usage: ContainerUsage) -> None:
        """Called by the wiring once the container service exists."""
        self._usage = usage

    # -- pull ------------------------------------------------------------------------------

    def resolve(self, ref: str, credentials: Credentials | None = None) -> tuple[Reference, Resolved]:
        """What ``ref`` points at in its registry (NotFound: ``manifest for … not found``),
        before anything is streamed to a client."""
        r = parse_docker_ref(ref)
        return r, self.registry.resolve(r, credentials=credentials)

    @contextlib.contextmanager
    def _lease(self) -> Iterator[set[str]]:
        """What a pull in flight holds: its start time keeps newer blobs and snapshots
        from the collector, the set names older ones it is about to use."""
        held: set[str] = set()
        token = id(held)
        with self._lock:
            self._inflight[token] = (time.time() - 1.0, held)
        try:
            yield held
        finally:
            with self._lock:
                del self._inflight[token]

    def pull(
        self,
        ref: str,
        progress: PullFn | None = None,
        credentials: Credentials | None = None,
        resolved: tuple[Reference, Resolved] | None = None,
    ) -> Digest:
        """Pull ``ref`` (see :mod:`berth.images.pull`); returns the image id. ``progress``
        is called from several threads, one call at a time."""
        emit_lock = threading.Lock()

        def emit(ev: PullEvent) -> None:
            if progress is not None:
                with emit_lock:
                    progress(ev)

        r, res = resolved or self.resolve(ref, credentials)
        name = str(r)
        emit(PullEvent(f"Pulling from {r.path}", r.digest or r.tag))
        top = res.descriptor
        with self._lease() as held:
            held.add(str(top.digest))
            existing = self._get(name)
            if existing is not None and existing.target.digest == top.digest:
                try:
                    loaded = self._load(top)
                    if all(is_committed(self.sn, c) for c in loaded.image.chain_ids()):
                        emit(PullEvent(f"Digest: {top.digest}"))
                        emit(PullEvent(f"Status: Image is up to date for {r.familiar_string()}"))
                        return loaded.id
                except NotFound:
                    pass
            manifest = fetch(self.registry, self.store, r, res, self.platform, emit, credentials)
            held.update(str(d.digest) for d in [manifest.config, *manifest.layers])
            add_sources(self.db, [d.digest for d in [manifest.config, *manifest.layers]], r.domain, r.path)
            unpack(self.store, self.sn, manifest, emit)
            loaded = self._load(top)
            with self._lock:
                self._record(name, top)
                if r.digest is None:
                    self._record(f"{r.name}@{top.digest}", top)
        emit(PullEvent(f"Digest: {top.digest}"))
        emit(PullEvent(f"Status: Downloaded newer image for {r.familiar_string()}"))
        return loaded.id

    # -- push ------------------------------------------------------------------------------

    def push_refs(self, name: str) -> builtins.list[tuple[Reference, Descriptor]]:
        """The names ``push`` would send for ``name`` (a tag: itself; a bare repository:
        each of its tags); NotFound with dockerd's wording when there are none."""
        try:
            ref = parse_normalized_named(name)
        except InvalidArgument as exc:
            raise InvalidArgument(f"invalid reference format: {exc.message}") from None
        with self.db.images() as tx:
            records = tx.list_images()
        out: builtins.list[tuple[Reference, Descriptor]] = []
        for rec in records:
            if _is_dangling_name(rec.name):
                continue
            rr = _ref_of(rec.name)
            if rr.digest is not None or rr.name != ref.name:
                continue
            if ref.tag and rr.tag != ref.tag:
                continue
            out.append((rr, rec.target))
        if not out:
            raise NotFound(f"An image does not exist locally with the tag: {ref.familiar_name}")
        out.sort(key=lambda x: x[0].tag or "")
        return out

    def push(
        self,
        name: str,
        progress: PullFn | None = None,
        credentials: Credentials | None = None,
    ) -> builtins.list[PushResult]:
        """``docker push``: each tag ``name`` stands for, with Docker's progress lines
        (see :mod:`berth.images.push`)."""
        emit_lock = threading.Lock()

        def emit(ev: PullEvent) -> None:
            if progress is not None:
                with emit_lock:
                    progress(ev)

        refs = self.push_refs(name)
        emit(PullEvent(f"The push refers to repository [{refs[0][0].name}]"))
        results: builtins.list[PushResult] = []
        for ref, top in refs:
            with self._lease() as held:
                held.add(str(top.digest))
                selected = top
                obj = parse_manifest_or_index(self.store.read_blob(top.digest), top.media_type)
                if isinstance(obj, Index):
                    selected = select_manifest(obj, self.platform)
                desc, manifest = push_target(self.store, top, selected)
                if manifest is not None:
                    desc = compress_for_push(self.store, self.db, desc, manifest, held)
                    manifest = parse_manifest_or_index(self.store.read_blob(desc.digest), desc.media_type)  # type: ignore[assignment]
                layers = layers_of(self.store, desc)
                held.update(str(d.digest) for d in [desc, selected, *layers])
                if manifest is not None:
                    held.add(str(manifest.config.digest))
                for d in reversed(layers):
                    emit(PullEvent("Preparing", short_id(d.digest), None, None))
                sources = [s for s in mount_sources(self.db, [d.digest for d in layers], ref.domain) if s != ref.path]
                watcher = PushWatch(layers, emit, sources[0] if sources else "")
                digest = self.registry.push(
                    ref, self.store, desc, mount_from=sources, progress=watcher, credentials=credentials
                )
                add_sources(self.db, [d.digest for d in layers], ref.domain, ref.path)
            tag = ref.tag or ""
            emit(PullEvent(f"{tag}: digest: {digest} size: {desc.size}"))
            results.append(PushResult(tag, digest, desc.size))
        return results

    def login(self, server: str, username: str, password: str) -> None:
        """``POST /auth``: check the credentials against ``server``; nothing is kept."""
        self.registry.login(server, username, password, store=False, keep=False)

    def _record(self, name: str, target: Descriptor) -> None:
        """Point ``name`` at ``target``; an image it leaves with no name stays, dangling."""
        old = self._get(name)
        with self.db.images() as tx:
            tx.put_image(name, target)
        if old is None or old.target.digest == target.digest:
            return
        try:
            old_id = self._load(old.target).id
        except NotFound:
            return
        if not any(g.loaded.id == old_id for g in self._groups()):
            with self.db.images() as tx:
                tx.put_image(str(old_id), old.target)

    # -- reading ---------------------------------------------------------------------------

    def _get(self, name: str) -> ImageRecord | None:
        try:
            with self.db.images() as tx:
                return tx.get_image(name)
        except NotFound:
            return None

    def _load(self, target: Descriptor) -> Loaded:
        return load(self.store, target, self.platform)

    def _groups(self) -> builtins.list[_Group]:
        with self.db.images() as tx:
            records = tx.list_images()
        groups: dict[Digest, _Group] = {}
        for rec in records:
            try:
                loaded = self._load(rec.target)
            except BerthError:
                continue  # its blobs are gone: nothing to show
            g = groups.get(loaded.id)
            if g is None:
                groups[loaded.id] = _Group(loaded, [rec])
            else:
                g.records.append(rec)
        return list(groups.values())

    def _chain_size(self, chain: Digest) -> int:
        key = str(chain)
        size = self._sizes.get(key)
        if size is None:
            try:
                size = int(self.sn.stat(key).labels.get(SIZE_LABEL, "0"))
            except (NotFound, ValueError):
                size = 0
            self._sizes[key] = size
        return size

    def _size(self, loaded: Loaded) -> int:
        return sum(self._chain_size(c) for c in loaded.image.chain_ids())

    def _find(self, name: str) -> tuple[_Group, ImageRecord | None]:
        """The image ``name`` means and the name record it matched (None for an id)."""
        groups = self._groups()
        display = name
        try:
            parsed: Reference | Digest | None = parse_any_reference(name)
        except InvalidArgument:
            parsed = None
        if isinstance(parsed, Digest):
            for g in groups:
                if g.loaded.id == parsed:
                    return g, None
        elif isinstance(parsed, Reference):
            ref = parsed.tag_name_only() if parsed.digest is None else parsed
            display = ref.familiar_string()
            for g in groups:
                for rec in g.records:  # build cache names too (berth.build/cache:<key>)
                    if rec.name == str(ref):
                        return g, rec
            if ref.digest is not None:
                for g in groups:
                    for rec in g.refs:
                        rr = _ref_of(rec.name)
                        if rr.name == ref.name and rec.target.digest == ref.digest:
                            return g, rec
        prefix = name.removeprefix("sha256:")
        if prefix and all(c in "0123456789abcdef" for c in prefix):
            found = [g for g in groups if g.loaded.id.encoded.startswith(prefix)]
            if len(found) == 1:
                return found[0], None
        raise NotFound(f"No such image: {display}")

    def image_id(self, name: str) -> Digest:
        return self._find(name)[0].loaded.id

    def _summary(self, g: _Group) -> ImageSummary:
        img = g.loaded.image
        return ImageSummary(
            id=g.loaded.id,
            repo_tags=g.tags(),
            repo_digests=g.digests(),
            created=unix_seconds(img.created),
            size=self._size(g.loaded),
            labels=dict(img.config.labels),
            target=g.loaded.target.digest,
        )

    def list(self, filters: Mapping[str, Sequence[str]] | None = None) -> builtins.list[ImageSummary]:
        """Images, newest first, filtered as ``docker images --filter`` does."""
        filters = filters or {}
        for key in filters:
            if key not in LIST_FILTERS:
                raise InvalidArgument(f"invalid filter '{key}'")
        out = [self._summary(g) for g in self._groups() if not g.cache_only]
        for value in filters.get("dangling", []):
            v = value.lower()
            if v not in ("true", "false", "1", "0"):
                raise InvalidArgument(f"invalid filter 'dangling={value}'")
            want = v in ("true", "1")
            out = [s for s in out if (not s.repo_tags) == want]
        for lab in filters.get("label", []):
            k, eq, v = lab.partition("=")
            out = [s for s in out if k in s.labels and (not eq or s.labels[k] == v)]
        for b in filters.get("before", []):
            t = self._summary(self._find(b)[0]).created
            out = [s for s in out if s.created < t]
        for since in filters.get("since", []):
            t = self._summary(self._find(since)[0]).created
            out = [s for s in out if s.created > t]
        patterns = filters.get("reference", [])
        if patterns:
            out = [s for s in out if _matches(s, patterns)]
        out.sort(key=lambda s: (-s.created, s.id))
        return out

    def inspect(self, name: str) -> ImageDetail:
        g, _ = self._find(name)
        img = g.loaded.image
        raw = g.loaded.raw_config
        return ImageDetail(
            id=g.loaded.id,
            repo_tags=g.tags(),
            repo_digests=g.digests(),
            created=img.created,
            size=self._size(g.loaded),
            architecture=img.architecture,
            os=img.os,
            variant=img.variant,
            author=img.author,
            config=img.config,
            diff_ids=tuple(img.rootfs.diff_ids),
            chain_ids=tuple(img.chain_ids()),
            layer_sizes=tuple(self._chain_size(c) for c in img.chain_ids()),
            history=tuple(img.history),
            comment=str(raw.get("comment", "") or ""),
            docker_version=str(raw.get("docker_version", "") or ""),
            raw_config=raw,
        )

    # -- tag -------------------------------------------------------------------------------

    def tag(self, source: str, repo: str, tag: str = "") -> str:
        """Name the image ``source`` as ``repo:tag``; returns the new name (familiar)."""
        g, rec = self._find(source)
        try:
            ref = parse_normalized_named(repo)
        except InvalidArgument as exc:
            raise InvalidArgument(f"Error parsing reference: {repo!r} is not a valid repository/tag: {exc.message}") from exc
        if ref.digest is not None:
            raise InvalidArgument("refusing to create a tag with a digest reference")
        if tag:
            if ref.tag:
                raise InvalidArgument(f"invalid reference format: {repo}:{tag}")
            ref = ref.with_tag(tag)
        ref = ref.tag_name_only()
        target = rec.target if rec is not None else g.records[0].target
        with self._lock:
            self._record(str(ref), target)
            with self.db.images() as tx:
                for r in g.records:
                    if r.name.startswith("sha256:"):  # no longer dangling; cache names stay
                        tx.delete_image(r.name)
        return ref.familiar_string()

    # -- remove ----------------------------------------------------------------------------

    def _users(self, image_id: Digest) -> Sequence[tuple[str, bool]]:
        return self._usage.containers_using(image_id) if self._usage is not None else ()

    def remove(self, name: str, force: bool = False, prune: bool = True) -> builtins.list[DeleteItem]:
        """``docker rmi``: untag, and delete the image when no name is left (dockerd's
        ``ImageDelete``). Conflict when containers use it (running: even with force)
        or when an id names an image tagged in several repositories (without force)."""
        with self._lock:
            return self._remove(name, force, prune)

    def _remove(self, name: str, force: bool, prune: bool) -> builtins.list[DeleteItem]:
        g, rec = self._find(name)
        image_id = g.loaded.id
        short = image_id.encoded[:12]
        refs = g.refs
        users = self._users(image_id)
        items: builtins.list[DeleteItem] = []
        if rec is not None:
            if not force and _single_reference(refs) and users:
                raise Conflict(
                    f'conflict: unable to remove repository reference "{name}" (must force) - '
                    f"container {users[0][0][:12]} is using its referenced image {short}"
                )
            with self.db.images() as tx:
                tx.delete_image(rec.name)
            removed = _ref_of(rec.name)
            items.append(DeleteItem(untagged=removed.familiar_string()))
            remaining = [r for r in refs if r.name != rec.name]
            if removed.digest is None and not any(
                _ref_of(r.name).name == removed.name and _ref_of(r.name).digest is None
                for r in remaining
            ):
                keep = []
                for r in remaining:
                    rr = _ref_of(r.name)
                    if rr.name == removed.name and rr.digest is not None:
                        with self.db.images() as tx:
                            tx.delete_image(r.name)
                        items.append(DeleteItem(untagged=rr.familiar_string()))
                    else:
                        keep.append(r)
                remaining = keep
            if remaining:
                return items
            refs = []
        elif _single_reference(refs):
            self._check_conflicts(image_id, users, force, refs)
            for r in refs:
                with self.db.images() as tx:
                    tx.delete_image(r.name)
                items.append(DeleteItem(untagged=_ref_of(r.name).familiar_string()))
            refs = []
        self._check_conflicts(image_id, users, force, refs)
        for r in refs:  # forced: every name goes
            with self.db.images() as tx:
                tx.delete_image(r.name)
            items.append(DeleteItem(untagged=_ref_of(r.name).familiar_string()))
        with self.db.images() as tx:
            for r in g.records:
                if _is_dangling_name(r.name):
                    with contextlib.suppress(NotFound):
                        tx.delete_image(r.name)
        if users:
            # a forced delete of an image a stopped container uses: the name goes, the
            # layers stay for the container (dockerd keeps it as a dangling image)
            with self.db.images() as tx:
                tx.put_image(str(image_id), g.loaded.target)
            return items
        items.append(DeleteItem(deleted=str(image_id)))
        removed_chains = self.gc()
        mine = list(reversed(chain_ids(g.loaded.image.rootfs.diff_ids)))
        items.extend(DeleteItem(deleted=str(c)) for c in mine if str(c) in removed_chains)
        return items

    def _check_conflicts(
        self, image_id: Digest, users: Sequence[tuple[str, bool]], force: bool, refs: builtins.list[ImageRecord]
    ) -> None:
        short = image_id.encoded[:12]
        for cid, running in users:
            if running:
                raise Conflict(
                    f"conflict: unable to delete {short} (cannot be forced) - "
                    f"image is being used by running container {cid[:12]}"
                )
        if force:
            return
        if refs:
            raise Conflict(
                f"conflict: unable to delete {short} (must be forced) - "
                "image is referenced in multiple repositories"
            )
        for cid, _ in users:
            raise Conflict(
                f"conflict: unable to delete {short} (must be forced) - "
                f"image is being used by stopped container {cid[:12]}"
            )

    def prune(self, all_images: bool = False) -> tuple[builtins.list[DeleteItem], int]:
        """``docker image prune``: dangling images (every unused one with ``all``);
        returns the records and the bytes reclaimed."""
        items: builtins.list[DeleteItem] = []
        reclaimed = 0
        with self._lock:
            for g in self._groups():
                if (g.tags() and not all_images) or g.cache_only:
                    continue
                if self._users(g.loaded.id):
                    continue
                size = self._size(g.loaded)
                try:
                    items.extend(self._remove(str(g.loaded.id), True, True))
                except NotFound:
                    continue
                reclaimed += size
        return items, reclaimed

    # -- garbage collection ------------------------------------------------------------------

    def recover(self) -> builtins.list[str]:
        """At daemon start, before any pull: remove the half-extracted layers a crash
        left (``extract-*`` active snapshots) and directories no record owns."""
        removed: builtins.list[str] = []
        with self._lock:
            for info in list(self.sn.walk()):
                if info.kind == Kind.ACTIVE and info.name.startswith("extract-"):
                    with contextlib.suppress(NotFound, FailedPrecondition):
                        self.sn.remove(info.name)
                        removed.append(info.name)
            removed += self.sn.cleanup()
        return removed

    def gc(self) -> set[str]:
        """Delete blobs and committed snapshots no name reaches; returns the chain ids
        of the snapshots removed."""
        with self._lock:
            with self.db.images() as tx:
                records = tx.list_images()
            keep_blobs: set[str] = set()
            keep_chains: set[str] = set()
            for rec in records:
                blobs, chains = reachable(self.store, rec.target)
                keep_blobs.update(str(b) for b in blobs)
                keep_chains.update(str(c) for c in chains)
            cutoff = min((t for t, _ in self._inflight.values()), default=float("inf"))
            for _, held in self._inflight.values():
                keep_blobs |= held
                keep_chains |= held
            for info in list(self.store.walk()):
                if str(info.digest) not in keep_blobs and info.created_at < cutoff:
                    with contextlib.suppress(NotFound):
                        self.store.delete(info.digest)
                    with self.db.images() as tx:
                        tx.delete_content(str(info.digest))
            return self._gc_snapshots(keep_chains, cutoff)

    def _gc_snapshots(self, keep: set[str], cutoff: float) -> set[str]:
        removed: set[str] = set()
        while True:
            infos = list(self.sn.walk())
            parents = {i.parent for i in infos if i.parent}
            victims = [
                i.name
                for i in infos
                if i.kind == Kind.COMMITTED
                and i.name not in keep
                and i.name not in parents
                and i.created < cutoff
            ]
            if not victims:
                return removed
            for name in victims:
                try:
                    self.sn.remove(name)
                except (FailedPrecondition, NotFound):
                    continue
                removed.add(name)
                self._sizes.pop(name, None)


def _single_reference(refs: builtins.list[ImageRecord]) -> bool:
    """dockerd's isSingleReference: at most one tag and every name in one repository."""
    tags = 0
    repos = set()
    for r in refs:
        ref = _ref_of(r.name)
        repos.add(ref.name)
        if ref.digest is None:
            tags += 1
    return tags <= 1 and len(repos) <= 1


def _path_match(pattern: str, value: str) -> bool:
    # Go's path.Match: '*' does not cross '/'
    return fnmatch.fnmatchcase(value, pattern) and (
        pattern.count("/") == value.count("/") or "/" not in value
    )


def _matches(s: ImageSummary, patterns: Sequence[str]) -> bool:
    names = [*s.repo_tags, *s.repo_digests]
    for pat in patterns:
        for n in names:
            repo = n.split("@", 1)[0]
            base = repo.rsplit(":", 1)[0] if ":" in repo.rsplit("/", 1)[-1] else repo
            if _path_match(pat, base) or _path_match(pat, n):
                return True
    return False
