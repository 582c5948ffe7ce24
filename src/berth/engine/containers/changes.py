"""``docker diff``: what a container changed, read from its overlay upper directory.

The upper directory holds exactly what the container wrote (overlayfs.rst): new and
modified files as they are, a deleted name as a 0:0 character device (a *whiteout*), a
directory replaced wholesale marked ``trusted.overlay.opaque=y``. moby's
``archive.OverlayChanges`` turns that into a list of changes, walked in lexical order:

- a whiteout, and an opaque directory, is ``Delete`` (kind 2) — an opaque directory is
  then re-added entry by entry;
- anything else is ``Add`` (1), or ``Modify`` (0) when a lower layer has the path; a
  directory present below with the same size, mode and mtime is no change at all (it was
  only copied up because something inside it changed);
- the parent directory of an added or deleted entry is always ``Modify``, once.

Docker keeps the files the runtime mounts over (``/etc/hostname``, ``/etc/hosts``,
``/etc/resolv.conf``, ``/proc``, ``/sys``, ``/dev``…) in a separate "init" layer, so they
never show; berth's runtime creates (or copies up) them in the upper directory, so they
are left out here, together with a directory whose only change was them. What a
container writes there goes to the mounts, never to the upper directory.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass

from berth.archive import whiteout as wh
from berth.errdefs import from_oserror

__all__ = ["ADD", "DELETE", "INIT_PATHS", "MODIFY", "Change", "changes"]

MODIFY, ADD, DELETE = 0, 1, 2

# What Docker's init layer holds (daemon/initlayer): mount points made by the runtime.
INIT_PATHS = frozenset(
    {
        "/dev",
        "/dev/pts",
        "/dev/shm",
        "/dev/mqueue",
        "/dev/console",
        "/proc",
        "/sys",
        "/.dockerenv",
        "/etc/resolv.conf",
        "/etc/hosts",
        "/etc/hostname",
        "/etc/mtab",
    }
)


@dataclass(frozen=True)
class Change:
    path: str
    kind: int


def _lstat(path: str) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None


def changes(lower_dirs: Sequence[str], upper_dir: str, skip: frozenset[str] = INIT_PATHS) -> list[Change]:
    """The changes of ``upper_dir`` over ``lower_dirs`` (top-most first); see the module
    docstring. ``skip``: the runtime's mount points, left out with what is below them."""
    out: list[Change] = []
    changed_dirs: set[str] = set()
    skipped_in: set[str] = set()

    def walk(rel: str) -> None:
        host_dir = os.path.join(upper_dir, rel.lstrip("/")) if rel != "/" else upper_dir
        try:
            names = sorted(os.listdir(host_dir), key=os.fsencode)
        except OSError as exc:
            raise from_oserror(f"diff: list {host_dir!r}", exc) from exc
        for name in names:
            path = f"{rel.rstrip('/')}/{name}"
            host = os.path.join(host_dir, name)
            st = _lstat(host)
            if st is None:
                continue
            if path in skip:
                skipped_in.add(os.path.dirname(path))
                continue
            visit(path, host, st)
            if stat.S_ISDIR(st.st_mode):
                walk(path)

    def visit(path: str, host: str, st: os.stat_result) -> None:
        is_dir = stat.S_ISDIR(st.st_mode)
        if wh.is_whiteout(st) or (is_dir and wh.is_opaque(host)):
            kind = DELETE
        else:
            kind = ADD
            for layer in lower_dirs:
                lst = _lstat(os.path.join(layer, path.lstrip("/")))
                if lst is None:
                    continue
                if wh.is_whiteout(lst):
                    break
                if is_dir and stat.S_ISDIR(lst.st_mode) and (
                    lst.st_size == st.st_size
                    and lst.st_mode == st.st_mode
                    and lst.st_mtime_ns == st.st_mtime_ns
                ):
                    return
                kind = MODIFY
                break
        if is_dir:
            changed_dirs.add(path)
        if kind in (ADD, DELETE):
            parent = os.path.dirname(path)
            if parent not in changed_dirs and parent != "/":
                out.append(Change(parent, MODIFY))
                changed_dirs.add(parent)
        out.append(Change(path, kind))

    walk("/")
    if skipped_in:
        # A directory copied up only because the runtime made a mount point in it.
        under = {os.path.dirname(c.path) for c in out}
        out = [
            c
            for c in out
            if not (c.kind == MODIFY and c.path in skipped_in and not _has_below(c.path, under))
        ]
    return out


def _has_below(path: str, parents: set[str]) -> bool:
    prefix = path + "/"
    return path in parents or any(p.startswith(prefix) for p in parents)
