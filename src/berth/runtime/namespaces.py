"""Namespaces: the one ordered list, and the plan for a container.

namespaces(7). A namespace is either made new (unshare(2)) or joined by path (setns(2)).
Order matters:

1. **user** first: joining or creating it decides which capabilities we hold over the
   others, and a new one must get its uid/gid maps (written by the parent) before anything
   else happens inside it.
2. the others are joined by path, mount namespace last among the joins (setns into a mount
   namespace changes our root and cwd, so every path is opened before any setns);
3. then every new one is made with one unshare(2). A new pid namespace applies to children
   only, so the runtime forks once more afterwards; that child is PID 1.
"""

from __future__ import annotations

import os

from berth.errdefs import from_oserror
from berth.linux.syscalls import (
    CLONE_NEWCGROUP,
    CLONE_NEWIPC,
    CLONE_NEWNET,
    CLONE_NEWNS,
    CLONE_NEWPID,
    CLONE_NEWUSER,
    CLONE_NEWUTS,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from berth.linux.syscalls import Syscalls

__all__ = ["ORDER", "Plan"]

# (OCI type, clone flag, /proc/<pid>/ns name), in the order they are joined.
ORDER = (
    ("user", CLONE_NEWUSER, "user"),
    ("ipc", CLONE_NEWIPC, "ipc"),
    ("uts", CLONE_NEWUTS, "uts"),
    ("network", CLONE_NEWNET, "net"),
    ("pid", CLONE_NEWPID, "pid"),
    ("cgroup", CLONE_NEWCGROUP, "cgroup"),
    ("mount", CLONE_NEWNS, "mnt"),
)
FLAG = {t: f for t, f, _ in ORDER}
PROC_NAME = {t: n for t, _, n in ORDER}


class Plan:
    """Which namespaces a process makes new and which it joins (type → path)."""

    __slots__ = ("join", "new")

    def __init__(self, new: list[str], join: dict[str, str]) -> None:
        self.new = new
        self.join = join

    @classmethod
    def from_spec(cls, spec: dict[str, Any]) -> Plan:
        new: list[str] = []
        join: dict[str, str] = {}
        for ns in (spec.get("linux") or {}).get("namespaces", []):
            if ns.get("path"):
                join[ns["type"]] = ns["path"]
            else:
                new.append(ns["type"])
        return cls(new, join)

    @classmethod
    def for_exec(cls, pid: int, spec: dict[str, Any]) -> Plan:
        """Join every namespace the container's init has that differs from ours."""
        join: dict[str, str] = {}
        types = {ns["type"] for ns in (spec.get("linux") or {}).get("namespaces", [])}
        for t, _, name in ORDER:
            if t not in types:
                continue
            theirs = f"/proc/{pid}/ns/{name}"
            try:
                if os.stat(theirs).st_ino == os.stat(f"/proc/self/ns/{name}").st_ino:
                    continue
            except OSError as exc:
                raise from_oserror(f"stat {theirs!r}", exc) from exc
            join[t] = theirs
        return cls([], join)

    @property
    def new_user(self) -> bool:
        return "user" in self.new

    @property
    def new_pid(self) -> bool:
        return "pid" in self.new

    def unshare_flags(self, include_user: bool = False, include_cgroup: bool = True) -> int:
        flags = 0
        for t in self.new:
            if (t != "user" or include_user) and (t != "cgroup" or include_cgroup):
                flags |= FLAG[t]
        return flags

    def open_joins(self) -> list[tuple[str, int]]:
        """Open every namespace to join, in ORDER, before any setns."""
        fds: list[tuple[str, int]] = []
        try:
            for t, _, _ in ORDER:
                if t in self.join:
                    fds.append((t, os.open(self.join[t], os.O_RDONLY | os.O_CLOEXEC)))
        except OSError as exc:
            for _, fd in fds:
                os.close(fd)
            raise from_oserror(f"open namespace {self.join[t]!r}", exc) from exc
        return fds

    def enter(self, sc: Syscalls, fds: list[tuple[str, int]], skip_user: bool = False, defer_cgroup: bool = False) -> None:
        """setns into every opened namespace (user first), then unshare the new ones but
        the user namespace (made before, so the parent can map it) and, with
        ``defer_cgroup``, the cgroup namespace (made by the init once it is in its cgroup:
        a cgroup namespace's root is the cgroup its maker is in)."""
        for t, fd in fds:
            if t == "user" and skip_user:
                continue
            try:
                sc.setns(fd, FLAG[t])
            except OSError as exc:
                raise OSError(exc.errno, f"join {t} namespace {self.join[t]!r}: {os.strerror(exc.errno or 0).lower()}") from exc
            finally:
                os.close(fd)
        flags = self.unshare_flags(include_cgroup=not defer_cgroup)
        if flags:
            try:
                sc.unshare(flags)
            except OSError as exc:
                names = ", ".join(t for t in self.new if t != "user" and (t != "cgroup" or not defer_cgroup))
                raise OSError(exc.errno, f"unshare {names} namespaces: {os.strerror(exc.errno or 0).lower()}") from exc
