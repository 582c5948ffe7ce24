"""A container's files from the outside: ``docker cp`` (stat, archive, extract),
``docker diff``, ``docker export`` and ``docker commit`` (moby ``daemon/archive.go``,
``daemon/changes.go``, ``daemon/export.go``, ``daemon/commit.go``).

**Which files.** A running container's root is its overlay mount at
``<root>/containers/<id>/rootfs``; a stopped one's is mounted for the operation on a
private directory under ``<root>/tmp`` and taken off after. The container's lock is held
meanwhile, so a start or an exit cannot mount or unmount under the operation; that is why
archives are spooled to a temporary file under the lock and streamed after it, rather
than streamed while holding it (a slow client must not hold up a container's exit).
Volumes and binds are reached through their host sources
(:mod:`berth.engine.containers.fstree`); tmpfs mounts exist only inside the container
and are not reachable.

**Paths** are resolved as moby's ``ResolvePath``/``StatPath``: the directory part with
symlinks followed inside the container, the last component not followed unless the path
ends in ``/`` or ``/.``; an extraction point is followed to the end.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import stat
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import IO, Any

from berth import errdefs
from berth.archive import write_diff
from berth.archive.compression import Reader
from berth.engine.containers import changes as changes_mod
from berth.engine.containers import ops
from berth.engine.containers.commit import image_config, merge_config, strip_init_paths
from berth.engine.containers.fstree import ContainerTree, Node, split_path
from berth.engine.containers.model import Container
from berth.engine.containers.service import ContainerService
from berth.engine.containers.tarcopy import ExtractOptions, extract_tar, write_tar
from berth.engine.containers.user import resolve_user
from berth.images import ImageService
from berth.images.commit import ChildConfig, commit_image, commit_name
from berth.images.importer import apply_changes
from berth.logs.timefmt import format_nano
from berth.oci.reference import parse_normalized_named
from berth.snapshots.mount import mount_all, unmount

__all__ = ["ContainerArchive", "PathStat", "go_file_mode"]

_SPOOL_MEMORY = 8 << 20

# Go's os.FileMode bits (io/fs): the type in the high bits, permissions in the low 9.
_GO_DIR = 1 << 31
_GO_SYMLINK = 1 << 27
_GO_DEVICE = 1 << 26
_GO_PIPE = 1 << 25
_GO_SOCKET = 1 << 24
_GO_SETUID = 1 << 23
_GO_SETGID = 1 << 22
_GO_CHARDEV = 1 << 21
_GO_STICKY = 1 << 20


def go_file_mode(mode: int) -> int:
    """A ``st_mode`` as Go's ``os.FileMode`` (what ``ContainerPathStat.mode`` carries)."""
    out = mode & 0o777
    if stat.S_ISDIR(mode):
        out |= _GO_DIR
    elif stat.S_ISLNK(mode):
        out |= _GO_SYMLINK
    elif stat.S_ISFIFO(mode):
        out |= _GO_PIPE
    elif stat.S_ISSOCK(mode):
        out |= _GO_SOCKET
    elif stat.S_ISBLK(mode):
        out |= _GO_DEVICE
    elif stat.S_ISCHR(mode):
        out |= _GO_DEVICE | _GO_CHARDEV
    if mode & stat.S_ISUID:
        out |= _GO_SETUID
    if mode & stat.S_ISGID:
        out |= _GO_SETGID
    if mode & stat.S_ISVTX:
        out |= _GO_STICKY
    return out


@dataclass(frozen=True)
class PathStat:
    """Docker's ``ContainerPathStat``."""

    name: str
    size: int
    mode: int  # Go FileMode
    mtime: str  # RFC 3339 with ns
    link_target: str

    def header_value(self) -> str:
        """The ``X-Docker-Container-Path-Stat`` header: base64 of the JSON."""
        doc = {"name": self.name, "size": self.size, "mode": self.mode, "mtime": self.mtime, "linkTarget": self.link_target}
        return base64.b64encode(json.dumps(doc, separators=(",", ":")).encode()).decode()


def _not_found(path: str, ref: str) -> errdefs.NotFound:
    return errdefs.NotFound(f"Could not find the file {path} in container {ref}")


def _abs_path(path: str) -> str:
    """moby's ``PreserveTrailingDotOrSeparator(filepath.Join("/", path), path)``."""
    clean = os.path.normpath("/" + path)
    if clean.startswith("//"):
        clean = clean[1:]
    if path.endswith("/.") or path == ".":
        return clean.rstrip("/") + "/."
    if path.endswith("/") and clean != "/":
        return clean + "/"
    return clean


def _base_name(abs_path: str) -> str:
    trimmed = abs_path.rstrip("/")
    if trimmed.endswith("/."):
        trimmed = trimmed[:-2]
    return os.path.basename(trimmed) or "/"


class ContainerArchive:
    """The operations of this module over the container service and the image store."""

    def __init__(self, containers: ContainerService, images: ImageService) -> None:
        self.svc = containers
        self.images = images

    @property
    def _tmp(self) -> str:
        path = os.path.join(self.svc.cfg.root, "tmp")
        os.makedirs(path, 0o700, exist_ok=True)
        return path

    def spool(self) -> IO[bytes]:
        """A temporary file for a request body or an archive (memory first, then disk)."""
        return tempfile.SpooledTemporaryFile(max_size=_SPOOL_MEMORY, dir=self._tmp)

    @contextlib.contextmanager
    def _tree(self, c: Container, *, mounts: bool = True) -> Iterator[ContainerTree]:
        """The container's tree, its rootfs mounted for the while if it is not running;
        the container's lock held throughout."""
        with self.svc.lock(c.id):
            rootfs = self.svc.rootfs(c)
            tmp = ""
            if not os.path.ismount(rootfs):
                tmp = tempfile.mkdtemp(prefix=f"rootfs-{c.id[:12]}-", dir=self._tmp)
                try:
                    mount_all(self.svc.sn.mounts(c.snapshot_key), tmp)
                except BaseException:
                    os.rmdir(tmp)
                    raise
                rootfs = tmp
            try:
                sources = {}
                if mounts:
                    for m in c.mounts:
                        if m.type in ("bind", "volume") and m.source and os.path.exists(m.source):
                            sources[m.destination] = m.source
                with ContainerTree(rootfs, sources) as tree:
                    yield tree
            finally:
                if tmp:
                    try:
                        unmount(tmp)
                    except (errdefs.BerthError, OSError):
                        unmount(tmp, detach=True)
                    os.rmdir(tmp)

    # -- cp ---------------------------------------------------------------------------------

    def _stat_node(self, tree: ContainerTree, path: str, ref: str) -> tuple[Node, PathStat]:
        abs_path = _abs_path(path)
        follow = abs_path.endswith("/") or abs_path.endswith("/.")
        try:
            node = tree.lookup(abs_path, follow=follow)
        except errdefs.NotFound:
            raise _not_found(path, ref) from None
        link_target = ""
        if stat.S_ISLNK(node.st.st_mode):
            try:
                target = tree.lookup(abs_path, follow=True)
                link_target = target.path
                target.close()
            except errdefs.BerthError:
                raw = os.readlink("", dir_fd=node.fd)
                parent = "/" + "/".join(node.comps[:-1])
                link_target = os.path.normpath(os.path.join(parent, raw))
        st = node.st
        ps = PathStat(
            name=_base_name(abs_path),
            size=st.st_size,
            mode=go_file_mode(st.st_mode),
            mtime=format_nano(st.st_mtime_ns),
            link_target=link_target,
        )
        return node, ps

    def stat(self, ref: str, path: str) -> PathStat:
        """``HEAD /containers/{id}/archive``."""
        c = self.svc.get(ref)
        with self._tree(c) as tree:
            node, ps = self._stat_node(tree, path, ref)
            node.close()
        return ps

    def archive(self, ref: str, path: str) -> tuple[PathStat, IO[bytes]]:
        """``GET /containers/{id}/archive``: the path's stat and its tar (a file
        positioned at its start; the caller closes it)."""
        c = self.svc.get(ref)
        out = self.spool()
        try:
            with self._tree(c) as tree:
                node, ps = self._stat_node(tree, path, ref)
                try:
                    is_dir = stat.S_ISDIR(node.st.st_mode)
                    arcname = "" if is_dir and not node.comps and ps.name == "/" else ps.name
                    write_tar(tree, node, arcname, out)
                finally:
                    node.close()
            out.seek(0)
        except BaseException:
            out.close()
            raise
        self.svc._event(c, "archive-path")
        return ps, out

    def extract(
        self,
        ref: str,
        path: str,
        body: Reader,
        *,
        no_overwrite_dir_non_dir: bool = False,
        copy_uid_gid: bool = False,
    ) -> None:
        """``PUT /containers/{id}/archive``: extract the tar ``body`` into the directory
        ``path`` (symlinks followed inside the container, the last one too)."""
        c = self.svc.get(ref)
        with self._tree(c) as tree:
            try:
                node = tree.lookup(_abs_path(path), follow=True)
            except errdefs.NotFound:
                raise _not_found(path, ref) from None
            try:
                if not stat.S_ISDIR(node.st.st_mode):
                    raise errdefs.InvalidArgument("extraction point is not a directory")
                self._check_writable(c, tree, node.comps)
                opts = ExtractOptions(no_overwrite_dir_non_dir=no_overwrite_dir_non_dir)
                if copy_uid_gid:
                    uid, gid, _ = resolve_user(tree.rootfs, c.config.user, [])
                    opts.chown = (uid, gid)
                extract_tar(tree, node, body, opts)
            finally:
                node.close()
        self.svc._event(c, "extract-to-dir")

    @staticmethod
    def _check_writable(c: Container, tree: ContainerTree, comps: list[str]) -> None:
        dest = tree.mount_of(comps)
        if dest is not None:
            for m in c.mounts:
                if tuple(split_path(m.destination)) == dest and not m.rw:
                    raise errdefs.PermissionDenied("mounted volume is marked read-only")
            return
        if c.host_config.readonly_rootfs:
            raise errdefs.PermissionDenied("container rootfs is marked read-only")

    # -- export, diff -------------------------------------------------------------------------

    def export(self, ref: str) -> IO[bytes]:
        """``GET /containers/{id}/export``: a tar of the merged rootfs (no volumes)."""
        c = self.svc.get(ref)
        out = self.spool()
        try:
            with self._tree(c, mounts=False) as tree:
                node = tree.lookup("/")
                try:
                    write_tar(tree, node, "", out, mounts=False)
                finally:
                    node.close()
            out.seek(0)
        except BaseException:
            out.close()
            raise
        self.svc._event(c, "export")
        return out

    def changes(self, ref: str) -> list[changes_mod.Change]:
        """``GET /containers/{id}/changes``."""
        c = self.svc.get(ref)
        key = c.snapshot_key
        return changes_mod.changes(self.svc.sn.lower_dirs(key), self.svc.sn.fs_dir(key))

    # -- commit -------------------------------------------------------------------------------

    def commit(
        self,
        ref: str,
        *,
        repo: str = "",
        tag: str = "",
        comment: str = "",
        author: str = "",
        pause: bool = True,
        changes: Sequence[str] = (),
        config: dict[str, Any] | None = None,
    ) -> str:
        """``POST /commit``: the container's changes as a new image over its own; returns
        the new image id. A running container is paused meanwhile when ``pause``."""
        c = self.svc.get(ref)
        name = commit_name(repo, tag)
        if c.state.dead:
            raise errdefs.Conflict(f"You cannot commit container {c.id} which is Dead")
        if c.state.status == "removing":
            raise errdefs.Conflict(f"cannot commit container {c.id} which is being removed")
        base = image_config(c.config)
        new = dict(config) if config is not None else dict(base)
        apply_changes(new, changes)
        merge_config(new, base)
        child = ChildConfig(
            config=new,
            container_id=c.id,
            container_config=base,
            author=author,
            comment=comment,
            created_by=" ".join(c.config.cmd or []),
        )
        paused = self._pause(c) if pause else False
        try:
            key = c.snapshot_key
            with tempfile.TemporaryFile(dir=self._tmp) as raw, tempfile.TemporaryFile(dir=self._tmp) as layer:
                write_diff(self.svc.sn.lower_dirs(key), self.svc.sn.fs_dir(key), raw)
                strip_init_paths(raw, layer)
                layer.seek(0)
                image_id = commit_image(self.images, c.image, layer, child, name)
        finally:
            if paused:
                self._unpause(c)
        image_ref = parse_normalized_named(name).familiar_string() if name else ""
        self.svc._event(c, "commit", comment=comment, imageID=str(image_id), imageRef=image_ref)
        return str(image_id)

    def _pause(self, c: Container) -> bool:
        if not c.state.running or c.state.paused:
            return False
        ops.pause(self.svc, c.id)
        return True

    def _unpause(self, c: Container) -> None:
        with contextlib.suppress(errdefs.BerthError):
            ops.unpause(self.svc, c.id)
