"""One container's cgroup in every hierarchy of a host: create, join, limit, freeze,
count, destroy.

A :class:`Manager` is a cgroup path (``/berth/abc``, see :mod:`.paths`) applied to a
:class:`~.setup.Setup`: the same relative directory under each v1 controller mount
(co-mounted controllers share one) and ``name=systemd``, and under the cgroup2 mount
when there is one. On a hybrid host a controller that v1 does not mount but the unified
hierarchy offers (often ``hugetlb``) is limited there, with the v2 module.

Creating a v2 group first enables controllers in ``cgroup.subtree_control`` of every
ancestor, since a group only has the files of controllers its parent enabled
(cgroup-v2.rst "Enabling and Disabling"): all the parent offers on a v2 host (as runc),
only those the limits need on a hybrid one. Controllers that cannot be enabled (an
ancestor with processes of its own, a threaded subtree) are skipped; a limit that then
finds no file fails naming its field.

Removal is ``rmdir`` deepest-first (a group with children cannot go), retried briefly
on EBUSY because a just-killed process may not have left yet. On a real cgroupfs the
control files never make a directory non-empty; ENOTEMPTY therefore means a plain
directory (a test's temp tree), whose files are removed first.
"""

from __future__ import annotations

import errno
import os

from berth.errdefs import FailedPrecondition, InvalidArgument, NotFound, from_oserror

from . import _files
from .checks import V2_EQUIVALENT, needed_controllers, validate

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import ModuleType
    from typing import Any

    from .setup import Setup

__all__ = ["Manager"]

# Order as runc's fs subsystems: cpuset first so tasks can join, then devices.
_V1_ORDER = (
    ("cpuset", None),
    ("devices", "devices"),
    ("memory", "memory"),
    ("cpu", "cpu"),
    ("pids", "pids"),
    ("blkio", "blockIO"),
    ("hugetlb", "hugepageLimits"),
    ("net_cls", "network"),
    ("net_prio", "network"),
)
# Order as runc's fs2 Set; (module, controller needed or None, resource key).
_V2_ORDER = (
    ("pids", "pids", "pids"),
    ("memory", "memory", "memory"),
    ("io", "io", "blockIO"),
    ("cpu", "cpu", "cpu"),
    ("devices", None, "devices"),
    ("cpuset", "cpuset", "cpu"),
    ("hugetlb", "hugetlb", "hugepageLimits"),
    ("unified", None, "unified"),
)


def _module(version: str, name: str) -> ModuleType:
    return __import__(f"berth.cgroups.{version}.{name}", fromlist=["apply"])


def _mkdirs(directory: str) -> list[str]:
    """mkdir -p; returns the directories it made, outermost first."""
    missing = []
    d = directory
    while not os.path.isdir(d):
        missing.append(d)
        parent = os.path.dirname(d)
        if parent == d:
            break
        d = parent
    made = []
    for d in reversed(missing):
        try:
            os.mkdir(d, 0o755)
        except FileExistsError:
            continue
        except OSError as exc:
            raise from_oserror(f"create cgroup {d!r}", exc) from exc
        made.append(d)
    return made


def _rmdir(directory: str) -> None:
    import time

    delay = 0.01
    for attempt in range(6):
        try:
            os.rmdir(directory)
            return
        except FileNotFoundError:
            return
        except OSError as exc:
            if exc.errno == errno.ENOTEMPTY and attempt == 0:
                _remove_plain_files(directory)
                continue
            if exc.errno != errno.EBUSY or attempt == 5:
                raise from_oserror(f"remove cgroup {directory!r}", exc) from exc
        time.sleep(delay)
        delay *= 2


def _remove_plain_files(directory: str) -> None:
    # Only reached on a non-cgroupfs directory (see the module docstring).
    with os.scandir(directory) as entries:
        for entry in entries:
            if entry.is_file(follow_symlinks=False):
                os.unlink(entry.path)


def _walk_procs(directory: str) -> list[int]:
    pids: list[int] = []
    for sub, _, _ in os.walk(directory):
        pids += _files.read_procs(sub)
    return pids


class Manager:
    """The cgroup ``path`` of one container on the host's ``setup``.

    ``paths`` maps each v1 controller (and ``name=systemd``) and ``"unified"`` to the
    container's directory in that hierarchy."""

    __slots__ = ("path", "paths", "setup", "v2_controllers")

    def __init__(self, setup: Setup, path: str) -> None:
        parts = path.split("/")
        if not path.startswith("/") or not path.strip("/") or any(p in (".", "..") for p in parts):
            raise InvalidArgument(
                f"cgroup path {path!r} is not a normalised absolute path below the root"
            )
        self.setup = setup
        self.path = path
        rel = path.strip("/")
        self.paths: dict[str, str] = {name: f"{mount}/{rel}" for name, mount in setup.v1.items()}
        if setup.unified:
            self.paths["unified"] = f"{setup.unified}/{rel}"
        # Controllers limited through the unified hierarchy.
        if setup.mode == "v2":
            self.v2_controllers = frozenset(setup.unified_controllers)
        else:
            have = {V2_EQUIVALENT[c] for c in setup.v1 if c in V2_EQUIVALENT}
            self.v2_controllers = frozenset(setup.unified_controllers - have)

    def __repr__(self) -> str:
        return f"Manager(path={self.path!r}, mode={self.setup.mode!r})"

    # -- lifecycle ---------------------------------------------------------------

    @classmethod
    def create(cls, setup: Setup, path: str, resources: dict[str, Any] | None = None) -> Manager:
        """Make the group in every hierarchy and apply ``resources``; on failure remove
        the directories this call made and raise."""
        m = cls(setup, path)
        validate(resources, setup)
        made: list[str] = []
        try:
            for directory in m._v1_dirs():
                made += _mkdirs(directory)
            if "unified" in m.paths:
                made += m._make_unified(resources or {})
            m.apply(resources)
        except BaseException:
            for directory in reversed(made):
                try:
                    _rmdir(directory)
                except Exception:
                    pass  # the first error is the one to report
            raise
        return m

    @classmethod
    def load(cls, setup: Setup, path: str) -> Manager:
        """The manager of an existing group (nothing is checked or created)."""
        return cls(setup, path)

    def _v1_dirs(self) -> list[str]:
        return list(dict.fromkeys(d for name, d in self.paths.items() if name != "unified"))

    def _dirs(self) -> list[str]:
        return list(dict.fromkeys(self.paths.values()))

    def _make_unified(self, resources: dict[str, Any]) -> list[str]:
        assert self.setup.unified is not None
        if self.setup.mode == "v2":
            want = self.v2_controllers
        else:
            needed = {V2_EQUIVALENT.get(c, "") for _, c in needed_controllers(resources)}
            want = self.v2_controllers & needed
        made: list[str] = []
        current = self.setup.unified
        for part in self.path.strip("/").split("/"):
            if want:
                _enable(current, want)
            child = f"{current}/{part}"
            made += _mkdirs(child)
            current = child
        return made

    def exists(self) -> bool:
        return any(os.path.isdir(d) for d in self._dirs())

    def destroy(self) -> None:
        """Remove the group (and any subgroups) everywhere; missing ones are fine."""
        for directory in self._dirs():
            if not os.path.isdir(directory):
                continue
            for sub, _, _ in os.walk(directory, topdown=False):
                _rmdir(sub)

    # -- processes -----------------------------------------------------------------

    def add(self, pid: int) -> None:
        """Move process ``pid`` into the group in every hierarchy."""
        for directory in self._dirs():
            _files.write(directory, "cgroup.procs", str(pid), f"add process {pid}")

    def _procs_dir(self) -> str:
        for name in ("freezer", "pids", "memory", "cpu", "devices", "unified"):
            if name in self.paths:
                return self.paths[name]
        return next(iter(self.paths.values()))

    def pids(self) -> list[int]:
        """Every process in the group and its subgroups; empty when the group is gone."""
        return sorted(set(_walk_procs(self._procs_dir())))

    # -- limits --------------------------------------------------------------------

    def apply(self, resources: dict[str, Any] | None) -> None:
        """Check, then write ``resources`` (OCI ``linux.resources``) in every hierarchy."""
        resources = resources or {}
        validate(resources, self.setup)
        if self.setup.mode != "v2":
            for name, key in _V1_ORDER:
                if name in self.paths and (key is None or resources.get(key) is not None):
                    _module("v1", name).apply(resources, self.paths[name])
        if "unified" not in self.paths:
            return
        for name, controller, key in _V2_ORDER:
            if resources.get(key) is None:
                continue
            if self.setup.mode != "v2" and controller is None:
                continue  # devices and unified files belong to v1 on a hybrid host
            if controller is not None and controller not in self.v2_controllers:
                continue  # validate warned
            _module("v2", name).apply(resources, self.paths["unified"])

    # -- freezer ---------------------------------------------------------------------

    def _freezer(self) -> tuple[ModuleType, str]:
        if "freezer" in self.paths:
            return _module("v1", "freezer"), self.paths["freezer"]
        if "unified" in self.paths:
            return _module("v2", "freezer"), self.paths["unified"]
        raise FailedPrecondition(f"freeze cgroup {self.path!r}: no freezer on this host")

    def freeze(self) -> None:
        module, directory = self._freezer()
        module.freeze(directory)

    def thaw(self) -> None:
        module, directory = self._freezer()
        module.thaw(directory)

    def frozen(self) -> bool:
        module, directory = self._freezer()
        return bool(module.frozen(directory))

    # -- accounting ------------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        """Usage in the shape of runc's ``events --stats`` data (types/events.go)."""
        if not self.exists():
            raise NotFound(f"cgroup {self.path!r} does not exist")
        from .stats import collect

        return collect(self)

    def oom_count(self) -> int:
        """OOM kills in the group so far."""
        if self.setup.mode != "v2" and "memory" in self.paths:
            return int(_module("v1", "memory").oom_count(self.paths["memory"]))
        if "unified" in self.paths and "memory" in self.v2_controllers:
            return int(_module("v2", "memory").oom_count(self.paths["unified"]))
        return 0


def _enable(directory: str, want: frozenset[str]) -> None:
    available = (_files.read_optional(directory, "cgroup.controllers") or "").split()
    enabled = (_files.read_optional(directory, "cgroup.subtree_control") or "").split()
    missing = [c for c in available if c in want and c not in enabled]
    if not missing:
        return
    if _files.write_error(directory, "cgroup.subtree_control", " ".join("+" + c for c in missing)):
        # One at a time: keep what can be enabled (runc does the same).
        for c in missing:
            _files.write_error(directory, "cgroup.subtree_control", "+" + c)
