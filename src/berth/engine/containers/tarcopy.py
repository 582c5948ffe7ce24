"""Tar streams to and from a container's tree (``docker cp``, ``docker export``).

Both directions work on descriptors from :class:`~berth.engine.containers.fstree.ContainerTree`
and never follow a symlink the container made on the host:

- **archive** (:func:`write_tar`): a directory is walked with ``openat``/``fdopendir``
  (``O_NOFOLLOW`` on every child), a symlink is written as a symlink, a file is read from a
  descriptor opened ``O_NOFOLLOW``. Entries are named as Docker names them: a directory's
  content under the directory's base name (``etc/``, ``etc/passwd``), a file under its
  own. Users and groups are numbers with the host's names for them (Go's
  ``archive/tar`` looks them up), hard links are written once and linked after, sockets
  are skipped.
- **extract** (:func:`extract_tar`): the untar of moby's ``pkg/archive`` as
  ``chrootarchive`` runs it, without the chroot: an entry's parent directories are
  looked up in the tree (a symlink in the container is followed *inside* the container),
  missing ones made; the entry itself is created with ``*at`` calls and ``O_NOFOLLOW``
  relative to that parent, so a concurrent swap cannot move it out. Names climbing above
  the destination, hard links to outside it and relative symlinks pointing above it are
  refused, as Docker's breakout checks do. ``.wh.`` names are plain files here: this is
  a copy, not a layer.
"""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import stat
import tarfile
from dataclasses import dataclass, field
from functools import lru_cache
from typing import IO

from berth.archive import decompress
from berth.archive.compression import Reader
from berth.engine.containers.fstree import ContainerTree, Node, split_path
from berth.errdefs import BerthError, InvalidArgument, from_oserror

__all__ = ["ExtractOptions", "extract_tar", "write_tar"]

_CHUNK = 1 << 20
_BLOCK = 512
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


@lru_cache(maxsize=256)
def _uname(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return ""


@lru_cache(maxsize=256)
def _gname(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return ""


class _Writer:
    def __init__(self, tree: ContainerTree, out: IO[bytes], mounts: bool) -> None:
        self.tree = tree
        self.out = out
        self.mounts = mounts
        self.links: dict[tuple[int, int], str] = {}

    def header(self, name: str, st: os.stat_result, kind: bytes, *, size: int = 0, linkname: str = "") -> None:
        ti = tarfile.TarInfo(name)
        ti.type = kind
        ti.mode = stat.S_IMODE(st.st_mode)
        ti.uid, ti.gid = st.st_uid, st.st_gid
        ti.uname, ti.gname = _uname(st.st_uid), _gname(st.st_gid)
        ti.mtime = int(st.st_mtime)
        ti.size = size
        ti.linkname = linkname
        if kind in (tarfile.CHRTYPE, tarfile.BLKTYPE):
            ti.devmajor, ti.devminor = os.major(st.st_rdev), os.minor(st.st_rdev)
        self.out.write(ti.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape"))

    def content(self, fd: int, size: int, what: str) -> None:
        left = size
        while left:
            chunk = os.read(fd, min(left, _CHUNK))
            if not chunk:
                # The file shrank while being archived: pad, as the header promised.
                self.out.write(b"\0" * left)
                break
            self.out.write(chunk)
            left -= len(chunk)
        pad = -size % _BLOCK
        if pad:
            self.out.write(b"\0" * pad)

    def entry(self, parent_fd: int | None, name: str, arcname: str, comps: list[str], node_fd: int | None = None) -> None:
        """Write one object and (a directory) what is below it. Either ``parent_fd`` and
        ``name``, or an ``O_PATH`` ``node_fd`` of the object (the walk's start)."""
        src = self.tree.mount_source(comps) if self.mounts and parent_fd is not None else None
        try:
            if src is not None:
                path_fd = os.open(src, os.O_PATH | os.O_CLOEXEC)
            elif parent_fd is not None:
                path_fd = os.open(name, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=parent_fd)
            else:
                assert node_fd is not None
                path_fd = os.dup(node_fd)
        except FileNotFoundError:
            return  # gone while we walked: as Docker, leave it out
        try:
            self._object(path_fd, arcname, comps)
        finally:
            os.close(path_fd)

    def _object(self, path_fd: int, arcname: str, comps: list[str]) -> None:
        st = os.fstat(path_fd)
        mode = st.st_mode
        if stat.S_ISDIR(mode):
            if arcname:
                self.header(arcname + "/", st, tarfile.DIRTYPE)
            dfd = os.open(f"/proc/self/fd/{path_fd}", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            try:
                names = sorted((e.name for e in os.scandir(dfd)), key=os.fsencode)
                for child in names:
                    prefix = f"{arcname}/" if arcname else ""
                    self.entry(dfd, child, prefix + child, [*comps, child])
            finally:
                os.close(dfd)
        elif stat.S_ISREG(mode):
            key = (st.st_dev, st.st_ino)
            if st.st_nlink > 1:
                first = self.links.get(key)
                if first is not None:
                    self.header(arcname, st, tarfile.LNKTYPE, linkname=first)
                    return
                self.links[key] = arcname
            fd = os.open(f"/proc/self/fd/{path_fd}", os.O_RDONLY | os.O_CLOEXEC)
            try:
                self.header(arcname, st, tarfile.REGTYPE, size=st.st_size)
                self.content(fd, st.st_size, arcname)
            finally:
                os.close(fd)
        elif stat.S_ISLNK(mode):
            self.header(arcname, st, tarfile.SYMTYPE, linkname=os.readlink("", dir_fd=path_fd))
        elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
            self.header(arcname, st, tarfile.CHRTYPE if stat.S_ISCHR(mode) else tarfile.BLKTYPE)
        elif stat.S_ISFIFO(mode):
            self.header(arcname, st, tarfile.FIFOTYPE)
        # sockets: skipped, as Docker does


def write_tar(tree: ContainerTree, node: Node, arcname: str, out: IO[bytes], *, mounts: bool = True) -> None:
    """Write ``node`` (and, a directory, everything below it) to ``out`` as a tar whose
    entries start with ``arcname`` ("" for a directory: its content at the top, as
    ``docker export`` writes the root). ``mounts``: descend into volumes and binds."""
    w = _Writer(tree, out, mounts)
    try:
        w.entry(None, "", arcname, list(node.comps), node_fd=node.fd)
    except BerthError:
        raise
    except OSError as exc:
        raise from_oserror(f"archive {node.path!r}", exc) from exc
    out.write(b"\0" * (2 * _BLOCK))


@dataclass
class ExtractOptions:
    """moby's TarOptions as ``PUT /archive`` sets them: ``no_overwrite_dir_non_dir``
    (a directory may not replace a file nor a file a directory), ``chown`` (uid, gid to
    give every entry, ``copyUIDGID``), ``lchown`` (apply owners at all: root only)."""

    no_overwrite_dir_non_dir: bool = False
    chown: tuple[int, int] | None = None
    lchown: bool = field(default_factory=lambda: os.geteuid() == 0)


class _Extractor:
    def __init__(self, tree: ContainerTree, dest: list[str], opts: ExtractOptions) -> None:
        self.tree = tree
        self.dest = dest
        self.opts = opts
        self.parents: dict[tuple[str, ...], int] = {}
        self.dirs: list[tuple[tuple[str, ...], str, int]] = []

    def close(self) -> None:
        for fd in self.parents.values():
            os.close(fd)
        self.parents.clear()

    def parent(self, rel: list[str], create: bool = True) -> int:
        """A descriptor of the directory ``dest/rel`` (looked up in the tree, cached)."""
        key = tuple(rel)
        fd = self.parents.get(key)
        if fd is None:
            with self.tree.directory("/" + "/".join([*self.dest, *rel]), create=create) as node:
                fd = self.parents[key] = os.dup(node.fd)
        return fd

    def forget(self) -> None:
        """Something was removed or replaced: cached lookups may be stale."""
        self.close()

    def entry(self, tar: tarfile.TarFile, ti: tarfile.TarInfo) -> None:
        rel = _clean(ti.name, f"invalid entry {ti.name!r}: path escapes from the destination")
        if not rel:
            return  # the "./" entry: the destination itself stays as it is
        *up, name = rel
        pfd = self.parent(up)
        try:
            old: os.stat_result | None = os.stat(name, dir_fd=pfd, follow_symlinks=False)
        except FileNotFoundError:
            old = None
        if old is not None:
            old_dir = stat.S_ISDIR(old.st_mode)
            if self.opts.no_overwrite_dir_non_dir and old_dir != ti.isdir():
                target = "/" + "/".join([*self.dest, *rel])
                if old_dir:
                    raise InvalidArgument(f"cannot overwrite directory {target!r} with non-directory {ti.name!r}")
                raise InvalidArgument(f"cannot overwrite non-directory {target!r} with directory {ti.name!r}")
            if not (old_dir and ti.isdir()):
                if old_dir:
                    shutil.rmtree(name, dir_fd=pfd)
                else:
                    os.unlink(name, dir_fd=pfd)
                self.forget()
                pfd = self.parent(up)
        self._create(tar, ti, pfd, up, name)

    def _create(self, tar: tarfile.TarFile, ti: tarfile.TarInfo, pfd: int, up: list[str], name: str) -> None:
        mode = ti.mode & 0o7777
        if ti.isdir():
            if not _exists(pfd, name):
                os.mkdir(name, 0o700, dir_fd=pfd)
            self._owner(pfd, name, ti)
            fd = os.open(name, _DIR_FLAGS, dir_fd=pfd)
            try:
                os.fchmod(fd, mode)
            finally:
                os.close(fd)
            self.dirs.append((tuple(up), name, int(ti.mtime)))
            return
        if ti.isreg():
            fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600, dir_fd=pfd)
            try:
                src = tar.extractfile(ti)
                assert src is not None
                while chunk := src.read(_CHUNK):
                    view = memoryview(chunk)
                    while view:
                        view = view[os.write(fd, view) :]
                os.fchmod(fd, mode)
            finally:
                os.close(fd)
        elif ti.issym():
            if not ti.linkname.startswith("/") and _climbs_above(len(up), ti.linkname):
                raise InvalidArgument(f"invalid symlink {ti.name!r} -> {ti.linkname!r}")
            os.symlink(ti.linkname, name, dir_fd=pfd)
        elif ti.islnk():
            target = _clean(ti.linkname, f"invalid hardlink {ti.name!r} -> {ti.linkname!r}")
            if not target:
                raise InvalidArgument(f"invalid hardlink {ti.name!r} -> {ti.linkname!r}")
            tfd = self.parent(target[:-1], create=False)
            os.link(target[-1], name, src_dir_fd=tfd, dst_dir_fd=pfd, follow_symlinks=False)
            return
        elif ti.isfifo():
            os.mkfifo(name, 0o600, dir_fd=pfd)
        elif ti.ischr() or ti.isblk():
            kind = stat.S_IFCHR if ti.ischr() else stat.S_IFBLK
            os.mknod(name, kind | 0o600, os.makedev(ti.devmajor, ti.devminor), dir_fd=pfd)
        else:
            return  # other header types (GNU sparse, volume labels): not copied
        self._owner(pfd, name, ti)
        if not ti.isreg() and not ti.issym():
            self._chmod_special(pfd, name, mode)
        os.utime(name, (ti.mtime, ti.mtime), dir_fd=pfd, follow_symlinks=False)

    def _owner(self, pfd: int, name: str, ti: tarfile.TarInfo) -> None:
        if not self.opts.lchown:
            return
        uid, gid = self.opts.chown if self.opts.chown is not None else (ti.uid, ti.gid)
        os.chown(name, uid, gid, dir_fd=pfd, follow_symlinks=False)

    @staticmethod
    def _chmod_special(pfd: int, name: str, mode: int) -> None:
        fd = os.open(name, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=pfd)
        try:
            if not stat.S_ISLNK(os.fstat(fd).st_mode):
                os.chmod(f"/proc/self/fd/{fd}", mode)
        finally:
            os.close(fd)

    def finish(self) -> None:
        """Directory times last: creating their children changed them."""
        for up, name, mtime in reversed(self.dirs):
            try:
                pfd = self.parent(list(up), create=False)
                os.utime(name, (mtime, mtime), dir_fd=pfd, follow_symlinks=False)
            except (BerthError, FileNotFoundError):
                continue


def _clean(name: str, error: str) -> list[str]:
    out: list[str] = []
    for part in split_path(name):
        if part == "..":
            if not out:
                raise InvalidArgument(error)
            out.pop()
        else:
            out.append(part)
    return out


def _climbs_above(depth: int, target: str) -> bool:
    """Does the relative link ``target``, in a directory ``depth`` levels below the
    destination, lead above the destination (moby's symlink breakout check)?"""
    for part in split_path(target):
        depth += -1 if part == ".." else 1
        if depth < 0:
            return True
    return False


def _exists(dir_fd: int, name: str) -> bool:
    try:
        os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return False
    return True


def extract_tar(
    tree: ContainerTree,
    dest: Node,
    stream: Reader,
    opts: ExtractOptions,
) -> None:
    """Extract the tar ``stream`` (plain, gzip, bzip2, xz or zstd) into the directory
    ``dest`` of ``tree`` (see the module docstring)."""
    ex = _Extractor(tree, list(dest.comps), opts)
    try:
        plain, _ = decompress(stream)
        with tarfile.open(fileobj=plain, mode="r|", errors="surrogateescape") as tar:  # type: ignore[call-overload]
            for ti in tar:
                ex.entry(tar, ti)
        ex.finish()
    except BerthError:
        raise
    except (tarfile.TarError, EOFError) as exc:
        raise InvalidArgument(f"extract to {dest.path!r}: invalid tar archive: {exc}") from exc
    except OSError as exc:
        raise from_oserror(f"extract to {dest.path!r}", exc) from exc
    finally:
        ex.close()
