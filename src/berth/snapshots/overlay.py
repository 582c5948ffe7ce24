"""The overlay snapshotter: layers as overlayfs lower directories, shared by chain id.

On disk, under the snapshotter's root (``/var/lib/berth``)::

    snapshots/<id>/fs       the snapshot's files: an extracted layer (committed), a
                            container's upper directory (active), empty (view)
    snapshots/<id>/work     overlayfs's workdir, beside its upperdir (active only)
    snapshots/rm-<id>/      a removal in progress (renamed in the transaction, deleted
                            after it; :meth:`cleanup` finishes one a crash interrupted)
    l/<id> → ../snapshots/<id>/fs    short names for long lowerdir lists (below)

``<id>`` is the metadata row's number, never reused, not the key: a snapshot is made
before it has its name (an extraction commits as ``chain_id`` only when complete), and
renaming a directory that may be mounted, or referenced by a work dir, is not safe. Which
directory holds which chain id is in the metadata, so each layer is extracted once and
every image and container whose chain includes it stacks the same directory.

**Mount options and the page limit.** mount(2) copies ``data`` as one page (4096 bytes
here), so ``lowerdir=`` of a deep image may not fit. Docker's overlay2 keeps short symlinks
``l/<26 chars>`` and uses them as lowerdirs; containerd shortens to paths relative to a
common directory and mounts from a child that chdir'd there. berth takes overlay2's way,
without the chdir: every snapshot has a link ``<root>/l/<id>`` (absolute, so mounting
needs no working directory and a threaded daemon never changes its own), and
``lowerdir=`` spells the layers with their full ``fs`` paths when the options fit in a
page, with the links when they do not (≈ 21 bytes a layer under ``/var/lib/berth``, so
about 180 layers; Docker stops at 128). When even that does not fit, prepare fails with
InvalidArgument rather than a kernel EINVAL.

Overlay mounts also say ``index=off,redirect_dir=off,metacopy=off``: the same lower
directories are shared by many mounts (index=on would tie a lower to one upper), and
:func:`berth.archive.diff` reads an upper directory as a layer only when it holds whole
files and real directories (no redirects, no metadata-only copies), whatever the
kernel's defaults.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import stat
from collections.abc import Callable, Iterator, Mapping

from berth.errdefs import FailedPrecondition, InvalidArgument, from_oserror
from berth.snapshots._types import Info, Kind, MetaStore, MetaTx, Mount, Record, Usage

__all__ = ["OverlaySnapshotter"]

_OVERLAY_FIXED = ("index=off", "redirect_dir=off", "metacopy=off")


def _page_size() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        return 4096


class OverlaySnapshotter:
    """Snapshots as overlayfs directories under ``root``, records in ``meta``.

    ``page_size`` is the limit for one mount's options (the system's page size; tests
    pass a small one to exercise the short-link form).
    """

    def __init__(self, root: str, meta: MetaStore, *, page_size: int | None = None) -> None:
        self.root = os.path.abspath(root)
        self._meta = meta
        self._page = page_size or _page_size()
        self._snapshots = os.path.join(self.root, "snapshots")
        self._links = os.path.join(self.root, "l")
        for d in (self.root, self._snapshots, self._links):
            try:
                os.makedirs(d, mode=0o700, exist_ok=True)
            except OSError as exc:
                raise from_oserror(f"create snapshot root {d!r}", exc) from exc

    # -- paths -----------------------------------------------------------------------

    def _dir(self, rec: Record) -> str:
        return os.path.join(self._snapshots, str(rec.id))

    def _fs(self, rec: Record) -> str:
        return os.path.join(self._snapshots, str(rec.id), "fs")

    def _link(self, rec: Record) -> str:
        return os.path.join(self._links, str(rec.id))

    def _parents(self, tx: MetaTx, rec: Record) -> list[Record]:
        """The parent chain of ``rec``, nearest (top-most) first."""
        out: list[Record] = []
        parent = rec.parent
        while parent:
            p = tx.get(parent)
            out.append(p)
            parent = p.parent
        return out

    def fs_dir(self, key: str) -> str:
        """The snapshot's own directory of files: where a layer is applied into an
        active snapshot, and the upper directory :func:`berth.archive.diff` reads."""
        with self._meta.snapshots() as tx:
            return self._fs(tx.get(key))

    def lower_dirs(self, key: str) -> list[str]:
        """The ``fs`` directories of the snapshot's parents, top-most first (the
        ``parents`` of :func:`berth.archive.apply_layer`, the ``lower_dirs`` of
        :func:`berth.archive.diff`)."""
        with self._meta.snapshots() as tx:
            return [self._fs(p) for p in self._parents(tx, tx.get(key))]

    # -- the snapshotter ---------------------------------------------------------------

    def prepare(
        self, key: str, parent: str | None = None, labels: Mapping[str, str] | None = None
    ) -> list[Mount]:
        """A new active (writable) snapshot ``key`` over the committed ``parent``; the
        mounts that show it. AlreadyExists when ``key`` is taken."""
        return self._create(Kind.ACTIVE, key, parent, labels or {})

    def view(
        self, key: str, parent: str | None = None, labels: Mapping[str, str] | None = None
    ) -> list[Mount]:
        """A new read-only view ``key`` of the committed ``parent``; it cannot be committed."""
        return self._create(Kind.VIEW, key, parent, labels or {})

    def mounts(self, key: str) -> list[Mount]:
        """The mounts of an active snapshot or view, again (the same as when made)."""
        with self._meta.snapshots() as tx:
            rec = tx.get(key)
            if rec.kind == Kind.COMMITTED:
                raise FailedPrecondition(
                    f"mounts of snapshot {key!r}: it is committed (make a view or prepare over it)"
                )
            return self._mounts(rec, self._parents(tx, rec))

    def commit(self, name: str, key: str, labels: Mapping[str, str] | None = None) -> None:
        """Make the active snapshot ``key`` the committed, read-only ``name`` (its files
        stay where they are); ``key`` is gone afterwards. When ``name`` exists —
        another pull committed the same layer first — AlreadyExists, and ``key`` stays
        active for the caller to remove: the existing ``name`` is as good."""
        with self._meta.snapshots() as tx:
            rec = tx.commit(key, name, labels or {})
        # overlayfs's scratch space is only for a mounted upper; committed layers are lowers.
        shutil.rmtree(os.path.join(self._dir(rec), "work"), ignore_errors=True)

    def remove(self, key: str) -> None:
        """Remove a snapshot and its files. FailedPrecondition while it is the parent of
        another snapshot. The caller unmounts it first. The record and the directory's
        name go in one transaction; the files are deleted after it, and what cannot be
        deleted now stays as ``snapshots/rm-<id>`` for :meth:`cleanup`."""
        renamed: tuple[str, str] | None = None
        try:
            with self._meta.snapshots() as tx:
                rec = tx.remove(key)
                src = self._dir(rec)
                dst = os.path.join(self._snapshots, f"rm-{rec.id}")
                try:
                    os.rename(src, dst)
                    renamed = (src, dst)
                except FileNotFoundError:
                    pass  # a directory a crash never made: the record goes all the same
                except OSError as exc:
                    raise from_oserror(f"remove snapshot {key!r}: rename {src!r}", exc) from exc
        except BaseException:
            if renamed is not None:
                os.rename(renamed[1], renamed[0])
            raise
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._link(rec))
        if renamed is not None:
            _rmtree(renamed[1])

    def stat(self, key: str) -> Info:
        with self._meta.snapshots() as tx:
            return _info(tx.get(key))

    def update_labels(self, key: str, labels: Mapping[str, str]) -> Info:
        """Replace the labels of ``key``."""
        with self._meta.snapshots() as tx:
            return _info(tx.update_labels(key, labels))

    def walk(self) -> Iterator[Info]:
        """Every snapshot, oldest first."""
        with self._meta.snapshots() as tx:
            infos = [_info(r) for r in tx.list()]
        return iter(infos)

    def usage(self, key: str) -> Usage:
        """Bytes (allocated blocks, each inode once) and inodes of the snapshot's own
        ``fs`` directory — its parents are theirs, so summing over snapshots is exact."""
        return _disk_usage(self.fs_dir(key))

    def cleanup(self) -> list[str]:
        """Remove directories and links no record owns (a crash between a transaction
        and the filesystem work); returns what was removed."""
        with self._meta.snapshots() as tx:
            known = {str(r.id) for r in tx.list()}
        removed: list[str] = []
        for name in sorted(os.listdir(self._snapshots)):
            if name not in known:
                path = os.path.join(self._snapshots, name)
                if _rmtree(path):
                    removed.append(path)
        for name in sorted(os.listdir(self._links)):
            if name not in known:
                path = os.path.join(self._links, name)
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path)
                removed.append(path)
        return removed

    # -- internals -----------------------------------------------------------------------

    def _create(
        self, kind: Kind, key: str, parent: str | None, labels: Mapping[str, str]
    ) -> list[Mount]:
        made: str | None = None
        try:
            with self._meta.snapshots() as tx:
                rec = tx.create(key, parent or None, kind.value, labels)
                parents = self._parents(tx, rec)
                mounts = self._mounts(rec, parents)  # before any mkdir: may refuse
                made = self._dir(rec)
                self._make_dirs(rec, kind)
        except BaseException:
            if made is not None:
                _rmtree(made)
                with contextlib.suppress(OSError):
                    os.unlink(self._link(rec))
            raise
        return mounts

    def _make_dirs(self, rec: Record, kind: Kind) -> None:
        d = self._dir(rec)
        try:
            if os.path.lexists(d):  # a crash's leftover under an id a fake store reused
                _rmtree(d)
            os.mkdir(d, 0o700)
            os.mkdir(os.path.join(d, "fs"), 0o755)
            if kind == Kind.ACTIVE:
                os.mkdir(os.path.join(d, "work"), 0o700)
            link = self._link(rec)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(link)
            os.symlink(os.path.join("..", "snapshots", str(rec.id), "fs"), link)
        except OSError as exc:
            raise from_oserror(f"create snapshot {rec.key!r}: {d!r}", exc) from exc

    def _mounts(self, rec: Record, parents: list[Record]) -> list[Mount]:
        fs = self._fs(rec)
        if rec.kind == Kind.ACTIVE:
            if not parents:
                return [Mount("bind", fs, ("rbind", "rw"))]
            work = os.path.join(self._dir(rec), "work")
            return [self._overlay(rec, parents, (f"upperdir={fs}", f"workdir={work}"))]
        # a view: read-only
        if not parents:
            return [Mount("bind", fs, ("rbind", "ro"))]
        if len(parents) == 1:
            return [Mount("bind", self._fs(parents[0]), ("rbind", "ro"))]
        # overlayfs with lower directories only is read-only by construction
        return [self._overlay(rec, parents, (), flags=("ro",))]

    def _overlay(
        self,
        rec: Record,
        parents: list[Record],
        upper: tuple[str, ...],
        flags: tuple[str, ...] = (),
    ) -> Mount:
        """An overlay mount, ``lowerdir=`` top-most first: full paths when the options
        fit in a page, the ``l/<id>`` links when not (module docstring)."""
        fixed = _OVERLAY_FIXED if upper else ()
        for spell in (self._fs, self._link):
            lower = "lowerdir=" + ":".join(spell(p) for p in parents)
            data = (*fixed, lower, *upper)
            size = len(",".join(data))
            if size < self._page:  # the kernel copies one page, NUL included
                return Mount("overlay", "overlay", (*flags, *data))
        raise InvalidArgument(
            f"snapshot {rec.key!r}: {len(parents)} layers do not fit in one overlay mount "
            f"({size} bytes of options, the kernel takes {self._page - 1})"
        )


def _info(rec: Record) -> Info:
    return Info(
        name=rec.key,
        parent=rec.parent,
        kind=Kind(rec.kind),
        created=rec.created,
        updated=rec.updated,
        labels=dict(rec.labels),
    )


def _rmtree(path: str) -> bool:
    """Remove a snapshot directory, as far as possible; False when something stayed
    (a ``rm-<id>`` left over is finished by :meth:`OverlaySnapshotter.cleanup`). A layer
    may hold directories without write permission: root passes them anyway, a rootless
    daemon will not, so a refused removal makes the parent writable and tries again."""

    def retry(func: Callable[[str], object], p: str, exc_info: object) -> None:
        if func not in (os.rmdir, os.unlink):
            raise OSError(errno.EIO, f"remove {p!r}")
        os.chmod(os.path.dirname(p), 0o700)
        func(p)

    try:
        if os.path.lexists(path):
            shutil.rmtree(path, onerror=retry)
    except OSError:
        return False
    return True


def _disk_usage(path: str) -> Usage:
    seen: set[tuple[int, int]] = set()
    size = 0
    stack = [path]
    try:
        st = os.lstat(path)
    except OSError as exc:
        raise from_oserror(f"usage of {path!r}", exc) from exc
    seen.add((st.st_dev, st.st_ino))
    size += st.st_blocks * 512
    while stack:
        d = stack.pop()
        try:
            entries = list(os.scandir(d))
        except OSError as exc:
            if exc.errno == errno.ENOENT:
                continue
            raise from_oserror(f"usage of {d!r}", exc) from exc
        for e in entries:
            try:
                st = e.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue
            ident = (st.st_dev, st.st_ino)
            if ident in seen:
                continue
            seen.add(ident)
            size += st.st_blocks * 512
            if stat.S_ISDIR(st.st_mode):
                stack.append(e.path)
    return Usage(size=size, inodes=len(seen))
