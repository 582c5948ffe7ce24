"""Which cgroup hierarchies this host has, and where they are mounted.

Three shapes exist (Documentation/admin-guide/cgroup-v2.rst, "Mounting"; cgroup-v1/cgroups.rst):

- **v1**: one ``cgroup`` mount per hierarchy, each carrying one or more controllers named
  in its super options (``/sys/fs/cgroup/cpu,cpuacct`` carries ``cpu`` and ``cpuacct``),
  plus named hierarchies without controllers such as ``name=systemd``;
- **v2** (unified): one ``cgroup2`` mount at the root; its ``cgroup.controllers`` lists the
  controllers available;
- **hybrid**: v1 controller mounts plus a ``cgroup2`` mount below the root (systemd puts
  it at ``/sys/fs/cgroup/unified``) holding whatever controllers v1 does not use.

:func:`detect` reads ``/proc/self/mountinfo`` (proc(5): fields 5 mount point and, after
the ``-`` separator, fstype, source and super options) and keeps the mounts at or below
``root``; given a mountinfo path that does not exist (or ``None``) it scans ``root``
instead, which is how unit tests describe a host with a temp tree.
"""

from __future__ import annotations

import os

from berth.errdefs import FailedPrecondition, from_oserror

__all__ = ["V1_CONTROLLERS", "Setup", "detect"]

# The v1 controllers berth joins (cgroup-v1/*.rst); name=systemd is joined, never limited.
V1_CONTROLLERS = frozenset(
    {
        "cpu",
        "cpuacct",
        "cpuset",
        "memory",
        "devices",
        "freezer",
        "blkio",
        "pids",
        "hugetlb",
        "net_cls",
        "net_prio",
        "perf_event",
        "rdma",
        "misc",
        "name=systemd",
    }
)


class Setup:
    """The cgroup hierarchies of a host.

    ``mode`` is ``"v1"``, ``"v2"`` or ``"hybrid"``; ``v1`` maps each v1 controller
    (co-mounted ones each under their own name) and ``name=systemd`` to its mount point;
    ``unified`` is the cgroup2 mount point or None; ``unified_controllers`` are the
    controllers listed in its root ``cgroup.controllers``; ``root`` is where they all live.
    """

    __slots__ = ("mode", "root", "unified", "unified_controllers", "v1")

    def __init__(
        self,
        mode: str,
        root: str,
        v1: dict[str, str] | None = None,
        unified: str | None = None,
        unified_controllers: frozenset[str] | None = None,
    ) -> None:
        self.mode = mode
        self.root = root
        self.v1 = dict(v1 or {})
        self.unified = unified
        if unified_controllers is None:
            unified_controllers = _controllers(unified) if unified else frozenset()
        self.unified_controllers = unified_controllers

    def __repr__(self) -> str:
        return (
            f"Setup(mode={self.mode!r}, root={self.root!r}, v1={self.v1!r}, "
            f"unified={self.unified!r}, unified_controllers={sorted(self.unified_controllers)!r})"
        )


def _controllers(unified: str) -> frozenset[str]:
    try:
        with open(f"{unified}/cgroup.controllers", "rb") as f:
            return frozenset(f.read().decode().split())
    except OSError:
        return frozenset()


def _unescape(field: str) -> str:
    # mountinfo escapes space, tab, newline and backslash as \ooo (octal).
    if "\\" not in field:
        return field
    out, i = [], 0
    while i < len(field):
        if field[i] == "\\" and field[i + 1 : i + 4].isdigit():
            out.append(chr(int(field[i + 1 : i + 4], 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def _from_mountinfo(text: str, root: str) -> tuple[dict[str, str], str | None]:
    v1: dict[str, str] = {}
    unified: str | None = None
    for line in text.splitlines():
        left, sep, right = line.partition(" - ")
        if not sep:
            continue
        fields, tail = left.split(), right.split()
        if len(fields) < 5 or len(tail) < 3:
            continue
        fstype, point = tail[0], os.path.normpath(_unescape(fields[4]))
        if not _under(point, root):
            continue
        if fstype == "cgroup2":
            # The root mount wins over one below it (a v2 host may also show the old
            # /sys/fs/cgroup/unified bind); otherwise the first.
            if unified is None or point == root:
                unified = point
        elif fstype == "cgroup":
            for opt in tail[2].split(","):
                if opt in V1_CONTROLLERS and opt not in v1:
                    v1[opt] = point
    return v1, unified


def _from_tree(root: str) -> tuple[dict[str, str], str | None]:
    if os.path.exists(f"{root}/cgroup.controllers"):
        return {}, root
    v1: dict[str, str] = {}
    unified: str | None = None
    try:
        entries = sorted(os.scandir(root), key=lambda e: e.name)
    except OSError as exc:
        raise from_oserror(f"scan cgroup root {root!r}", exc) from exc
    for entry in entries:
        if entry.is_symlink() or not entry.is_dir():
            continue
        if os.path.exists(f"{entry.path}/cgroup.controllers"):
            unified = unified or entry.path
            continue
        names = ["name=systemd"] if entry.name == "systemd" else entry.name.split(",")
        for name in names:
            if name in V1_CONTROLLERS and name not in v1:
                v1[name] = entry.path
    return v1, unified


def detect(root: str = "/sys/fs/cgroup", mountinfo: str | None = "/proc/self/mountinfo") -> Setup:
    """The cgroup :class:`Setup` of the hierarchies mounted at or below ``root``.

    Raises FailedPrecondition when there is none."""
    root = os.path.normpath(root)
    text = None
    if mountinfo is not None:
        try:
            with open(mountinfo, "rb") as f:
                text = f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            text = None
        except OSError as exc:
            raise from_oserror(f"read {mountinfo!r}", exc) from exc
    v1, unified = _from_mountinfo(text, root) if text is not None else _from_tree(root)
    if unified == root:
        return Setup("v2", root, {}, unified)
    if v1:
        return Setup("hybrid" if unified else "v1", root, v1, unified)
    if unified:
        return Setup("v2", root, {}, unified)
    raise FailedPrecondition(f"no cgroup hierarchy is mounted at or below {root!r}")
