"""Mounting what a snapshotter returns: :class:`~berth.snapshots.Mount` values onto a target.

A mount's ``options`` are written as in fstab/mount(8): flag words (``ro``, ``rbind``,
``nosuid`` …) become ``mountflags`` of mount(2); everything else (``lowerdir=…``,
``upperdir=…``, ``workdir=…``, ``index=off``) is joined with commas into its ``data``
argument, which the kernel copies as at most one page — why the overlay snapshotter
keeps its ``lowerdir=`` short. A read-only bind mount takes two calls: the kernel ignores
``MS_RDONLY`` on the first ``MS_BIND`` and honours it only on a ``MS_REMOUNT|MS_BIND``
(mount(2), "Creating a bind mount").

Several mounts for one target are stacked in order; :func:`unmount` takes all of them off
again. Kernel calls go through the :mod:`berth.linux.syscalls` seam, so unit tests check
the sequence with ``RecordingSyscalls``.
"""

from __future__ import annotations

import errno
import time
from collections.abc import Sequence

from berth.errdefs import InvalidArgument, from_oserror
from berth.linux import syscalls as sc
from berth.snapshots._types import Mount

__all__ = ["mount_all", "parse_options", "unmount"]

# word → (flags to set, flags to clear)
_FLAGS: dict[str, tuple[int, int]] = {
    "defaults": (0, 0),
    "ro": (sc.MS_RDONLY, 0),
    "rw": (0, sc.MS_RDONLY),
    "bind": (sc.MS_BIND, 0),
    "rbind": (sc.MS_BIND | sc.MS_REC, 0),
    "nosuid": (sc.MS_NOSUID, 0),
    "suid": (0, sc.MS_NOSUID),
    "nodev": (sc.MS_NODEV, 0),
    "dev": (0, sc.MS_NODEV),
    "noexec": (sc.MS_NOEXEC, 0),
    "exec": (0, sc.MS_NOEXEC),
    "sync": (sc.MS_SYNCHRONOUS, 0),
    "async": (0, sc.MS_SYNCHRONOUS),
    "dirsync": (sc.MS_DIRSYNC, 0),
    "noatime": (sc.MS_NOATIME, 0),
    "atime": (0, sc.MS_NOATIME),
    "nodiratime": (sc.MS_NODIRATIME, 0),
    "diratime": (0, sc.MS_NODIRATIME),
}

_UNMOUNT_TRIES = 50  # EBUSY: a process is still leaving the tree; wait up to ~0.5 s


def parse_options(options: Sequence[str]) -> tuple[int, str]:
    """Split mount options into mount(2)'s ``mountflags`` and ``data``."""
    flags = 0
    data: list[str] = []
    for opt in options:
        if opt in _FLAGS:
            set_, clear = _FLAGS[opt]
            flags = (flags | set_) & ~clear
        else:
            data.append(opt)
    return flags, ",".join(data)


def mount_all(mounts: Sequence[Mount], target: str, syscalls: sc.Syscalls | None = None) -> None:
    """Mount ``mounts`` on ``target``, in order. When one fails, the ones already made
    are taken off again and the error names the mount and the target."""
    sys_ = syscalls if syscalls is not None else sc.default()
    done = 0
    try:
        for m in mounts:
            _mount_one(m, target, sys_)
            done += 1
    except BaseException:
        for _ in range(done):
            try:
                sys_.umount2(target, sc.MNT_DETACH)
            except OSError:
                break
        raise


def _mount_one(m: Mount, target: str, sys_: sc.Syscalls) -> None:
    flags, data = parse_options(m.options)
    what = f"mount {m.type} {m.source!r} on {target!r}"
    try:
        if flags & sc.MS_BIND:
            if m.type not in ("bind", "rbind", "none"):
                raise InvalidArgument(f"{what}: bind options on a {m.type} mount")
            sys_.mount(m.source, target, None, flags & ~sc.MS_RDONLY, data or None)
            if flags & sc.MS_RDONLY:
                # Only a remount makes a bind mount read-only (mount(2)).
                sys_.mount(None, target, None, flags | sc.MS_REMOUNT, None)
        else:
            sys_.mount(m.source, target, m.type, flags, data or None)
    except OSError as exc:
        raise from_oserror(what, exc) from exc


def unmount(target: str, syscalls: sc.Syscalls | None = None, *, detach: bool = False) -> None:
    """Take every mount stacked on ``target`` off; nothing mounted there is fine.
    ``detach`` (MNT_DETACH) lets a busy mount go lazily."""
    sys_ = syscalls if syscalls is not None else sc.default()
    flags = sc.MNT_DETACH if detach else 0
    busy = 0
    for _ in range(64):  # a stack deeper than this is a bug, not a container
        try:
            sys_.umount2(target, flags)
        except OSError as exc:
            if exc.errno in (errno.EINVAL, errno.ENOENT):
                return  # not (or no longer) a mount point
            if exc.errno == errno.EBUSY and busy < _UNMOUNT_TRIES:
                busy += 1
                time.sleep(0.01)
                continue
            raise from_oserror(f"unmount {target!r}", exc) from exc
    raise from_oserror(f"unmount {target!r}", OSError(errno.ELOOP, "too many mounts stacked"))
