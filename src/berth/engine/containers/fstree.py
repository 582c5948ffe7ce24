"""A container's file tree as its processes see it, walked with file descriptors.

``docker cp`` reads and writes a container's files from the host, where a symlink the
container made (``/link -> /etc``) would lead into the *host's* ``/etc`` if the host path
were followed naively, and where a process in the container may swap a directory for a
symlink between a check and a use. So every lookup here walks one component at a time
with ``openat(2)``: each component is opened ``O_PATH | O_NOFOLLOW`` relative to the
directory before it, a symlink is read and its target walked the same way (an absolute
target starts again at the container's root), and ``..`` at the root stays at the root,
as ``chroot(2)`` would have it. What a lookup returns is an ``O_PATH`` descriptor of the
object itself, so later operations cannot be redirected by a rename in between
(openat2(2) ``RESOLVE_IN_ROOT`` does the same in the kernel).

**Mounts.** Volumes and binds are mounted only in the container's own mount namespace;
on the host they are separate directories. The tree knows each mount point's
destination and host source: when the walk reaches a destination, it continues in the
source, so ``/data/x`` under a volume at ``/data`` is the volume's ``x``, and a symlink
inside the volume still resolves against the container's root.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import TracebackType

from berth.errdefs import InvalidArgument, NotFound, from_oserror

__all__ = ["ContainerTree", "Node", "split_path"]

_MAX_LINKS = 40  # Linux's MAXSYMLINKS
_PATH_FLAGS = os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC


def split_path(path: str) -> list[str]:
    """``path``'s components, ``.`` and empty ones dropped (``..`` kept)."""
    return [p for p in path.split("/") if p not in ("", ".")]


@dataclass
class Node:
    """One object of the tree: an ``O_PATH`` descriptor (owned: :meth:`close`), its
    container path as components, and its ``lstat``."""

    fd: int
    comps: list[str]
    st: os.stat_result

    @property
    def path(self) -> str:
        return "/" + "/".join(self.comps)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def reopen(self, flags: int) -> int:
        """A real descriptor (``O_RDONLY``, ``O_DIRECTORY``…) of the same inode, through
        the ``/proc/self/fd`` magic link of the ``O_PATH`` one."""
        return os.open(f"/proc/self/fd/{self.fd}", flags | os.O_CLOEXEC)


class ContainerTree:
    """``rootfs`` (a host directory: the mounted overlay) with ``mounts`` (container
    destination → host source) laid over it. Close it (or use ``with``) to release the
    root descriptor."""

    def __init__(self, rootfs: str, mounts: Mapping[str, str] | None = None) -> None:
        self.rootfs = rootfs
        try:
            self.root_fd = os.open(rootfs, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError as exc:
            raise from_oserror(f"open container root {rootfs!r}", exc) from exc
        self.mounts = {tuple(split_path(dest)): src for dest, src in (mounts or {}).items()}
        self.mounts.pop((), None)

    def close(self) -> None:
        if self.root_fd >= 0:
            os.close(self.root_fd)
            self.root_fd = -1

    def __enter__(self) -> ContainerTree:
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def mount_source(self, comps: list[str]) -> str | None:
        return self.mounts.get(tuple(comps))

    def mount_of(self, comps: list[str]) -> tuple[str, ...] | None:
        """The destination of the mount ``comps`` lies in (the deepest), if any."""
        best: tuple[str, ...] | None = None
        for dest in self.mounts:
            if tuple(comps[: len(dest)]) == dest and (best is None or len(dest) > len(best)):
                best = dest
        return best

    def open_child(self, dir_fd: int, comps: list[str], name: str) -> int:
        """``name`` in the directory ``dir_fd`` (container path ``comps``), ``O_PATH``
        and not followed; a mount point gives its source instead."""
        src = self.mount_source([*comps, name])
        if src is not None:
            return os.open(src, os.O_PATH | os.O_CLOEXEC)
        return os.open(name, _PATH_FLAGS, dir_fd=dir_fd)

    def lookup(self, path: str, *, follow: bool = True, create_dirs: bool = False) -> Node:
        """The object at the container path ``path`` (relative paths are from the root).
        ``follow``: a symlink as the last component is followed too; ``create_dirs``:
        missing components are made as directories (0755). NotFound when something on
        the way is missing or not a directory."""
        todo = split_path(path)
        fds = [os.dup(self.root_fd)]
        comps: list[str] = []
        links = 0
        try:
            st = os.fstat(fds[-1])
            while todo:
                name = todo.pop(0)
                if name == "..":
                    if comps:
                        comps.pop()
                        os.close(fds.pop())
                    st = os.fstat(fds[-1])
                    continue
                last = not todo
                fd = self._open_or_make(fds[-1], comps, name, create_dirs)
                st = os.fstat(fd)
                if stat.S_ISLNK(st.st_mode) and (follow or not last):
                    links += 1
                    if links > _MAX_LINKS:
                        os.close(fd)
                        raise InvalidArgument(f"{path}: too many levels of symbolic links")
                    target = os.readlink("", dir_fd=fd)
                    os.close(fd)
                    if target.startswith("/"):
                        for extra in fds[1:]:
                            os.close(extra)
                        del fds[1:]
                        comps = []
                    todo = split_path(target) + todo
                    st = os.fstat(fds[-1])
                    continue
                if not last and not stat.S_ISDIR(st.st_mode):
                    os.close(fd)
                    raise NotFound(f"{path}: not a directory")
                fds.append(fd)
                comps.append(name)
            node = Node(fds.pop(), comps, st)
        except FileNotFoundError as exc:
            raise NotFound(f"{path}: no such file or directory") from exc
        except NotADirectoryError as exc:
            raise NotFound(f"{path}: not a directory") from exc
        except OSError as exc:
            raise from_oserror(f"resolve {path!r} in the container", exc) from exc
        finally:
            for fd in fds:
                os.close(fd)
        return node

    def _open_or_make(self, dir_fd: int, comps: list[str], name: str, create: bool) -> int:
        try:
            return self.open_child(dir_fd, comps, name)
        except FileNotFoundError:
            if not create:
                raise
        with contextlib.suppress(FileExistsError):
            os.mkdir(name, 0o755, dir_fd=dir_fd)
        return self.open_child(dir_fd, comps, name)

    @contextlib.contextmanager
    def directory(self, path: str, *, create: bool = False) -> Iterator[Node]:
        """:meth:`lookup` of a directory (followed), closed after use; NotFound if it is
        something else."""
        node = self.lookup(path, follow=True, create_dirs=create)
        try:
            if not stat.S_ISDIR(node.st.st_mode):
                raise NotFound(f"{path}: not a directory")
            yield node
        finally:
            node.close()


def is_missing(exc: OSError) -> bool:
    return exc.errno in (errno.ENOENT, errno.ENOTDIR)
