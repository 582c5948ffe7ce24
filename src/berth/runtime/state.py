"""Container state: the status machine and the state directory.

The status is never stored, only derived (runc does the same): the init process must
still be the one we started (pid + starttime, :mod:`berth.linux.proc`), ``exec.fifo``
exists until ``start``, and a frozen cgroup means paused. So a container whose init died
while nobody watched reads as stopped, without any bookkeeping.

Legal moves (runtime.md "Lifecycle"; a move not listed is a Conflict)::

    creating ──create ok──▶ created ──start──▶ running ◀──resume── paused
        │                     │                  │ ──pause──▶        │
        ▼                     ▼ kill/exit        ▼ exit              ▼ kill -9 (delete -f)
      (gone)               stopped ◀─────────────┴───────────────────┘
                              │ delete
                              ▼
                            (gone)
"""

from __future__ import annotations

import errno
import os
import time

from berth.errdefs import AlreadyExists, Conflict, NotFound, from_oserror
from berth.linux import proc
from berth.linux.fs import atomic_write
from berth.oci import fastjson

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["CREATED", "CREATING", "PAUSED", "RUNNING", "STOPPED", "State", "Status", "Store"]

CREATING = "creating"
CREATED = "created"
RUNNING = "running"
PAUSED = "paused"
STOPPED = "stopped"

OCI_VERSION = "1.1.0"
DEFAULT_ROOT = "/run/berth-runtime"


class Status:
    """What each status allows. Every verb asks here before acting."""

    @staticmethod
    def can_start(s: str) -> bool:
        return s == CREATED

    @staticmethod
    def can_kill(s: str) -> bool:
        return s in (CREATED, RUNNING, PAUSED)

    @staticmethod
    def can_delete(s: str, force: bool) -> bool:
        return s in (STOPPED, CREATED, CREATING) or force

    @staticmethod
    def can_pause(s: str) -> bool:
        return s == RUNNING

    @staticmethod
    def can_resume(s: str) -> bool:
        return s == PAUSED

    @staticmethod
    def can_exec(s: str) -> bool:
        return s in (CREATED, RUNNING)

    @staticmethod
    def refuse(verb: str, container_id: str, s: str) -> Conflict:
        if verb == "start":
            if s == STOPPED:
                return Conflict("cannot start a container that has stopped")
            if s in (RUNNING, PAUSED):
                return Conflict("cannot start an already running container")
        if verb in ("kill", "exec", "pause", "update") and s == STOPPED:
            return Conflict("container not running")
        if verb == "resume":
            return Conflict("container not paused")
        if verb == "delete":
            return Conflict(f"cannot delete container {container_id} that is not stopped: {s}")
        return Conflict(f"cannot {verb} container {container_id} in status {s}")


class State:
    """What ``state.json`` holds. ``status`` is computed by :meth:`Store.status`."""

    __slots__ = (
        "annotations",
        "bundle",
        "cgroup_path",
        "config",
        "created",
        "id",
        "owner",
        "pid",
        "rootfs",
        "start_time",
    )

    def __init__(self, container_id: str, bundle: str, rootfs: str, config: dict[str, Any]) -> None:
        self.id = container_id
        self.bundle = bundle
        self.rootfs = rootfs
        self.config = config
        self.pid = 0
        self.start_time = 0
        self.cgroup_path = ""
        self.created = ""
        self.owner = ""
        self.annotations: dict[str, str] = config.get("annotations") or {}

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "pid": self.pid,
            "start_time": self.start_time,
            "bundle": self.bundle,
            "rootfs": self.rootfs,
            "cgroup_path": self.cgroup_path,
            "created": self.created,
            "owner": self.owner,
            "config": self.config,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> State:
        st = cls(d["id"], d["bundle"], d["rootfs"], d.get("config") or {})
        st.pid = d.get("pid", 0)
        st.start_time = d.get("start_time", 0)
        st.cgroup_path = d.get("cgroup_path", "")
        st.created = d.get("created", "")
        st.owner = d.get("owner", "")
        return st

    def oci(self, status: str) -> dict[str, Any]:
        """The OCI state document (runtime.md "State"), as ``state`` prints it and hooks
        read it on stdin. runc's extra keys (rootfs, created, owner) are kept for tools
        that read them."""
        return {
            "ociVersion": OCI_VERSION,
            "id": self.id,
            "pid": self.pid if status != STOPPED else 0,
            "status": status,
            "bundle": self.bundle,
            "rootfs": self.rootfs,
            "created": self.created,
            "owner": self.owner,
            "annotations": self.annotations,
        }


def now_rfc3339() -> str:
    t = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t % 1 * 1e9):09d}Z"


class Store:
    """The state root: one directory per container id."""

    def __init__(self, root: str = DEFAULT_ROOT) -> None:
        self.root = root

    def dir(self, container_id: str) -> str:
        return os.path.join(self.root, container_id)

    def fifo(self, container_id: str) -> str:
        return os.path.join(self.root, container_id, "exec.fifo")

    def create_dir(self, container_id: str) -> str:
        try:
            os.makedirs(self.root, 0o711, exist_ok=True)
            d = self.dir(container_id)
            os.mkdir(d, 0o711)
        except FileExistsError as exc:
            raise AlreadyExists(f"container with id exists: {container_id}") from exc
        except OSError as exc:
            raise from_oserror(f"create state directory for {container_id!r} in {self.root!r}", exc) from exc
        return d

    def save(self, st: State) -> None:
        atomic_write(os.path.join(self.dir(st.id), "state.json"), fastjson.dumps(st.to_json()), 0o600)

    def load(self, container_id: str) -> State:
        path = os.path.join(self.dir(container_id), "state.json")
        try:
            with open(path, "rb") as f:
                return State.from_json(fastjson.loads(f.read()))
        except FileNotFoundError:
            raise NotFound(f'container "{container_id}" does not exist') from None
        except (OSError, ValueError, KeyError) as exc:
            raise NotFound(f'container "{container_id}" does not exist: state unreadable: {exc}') from exc

    def ids(self) -> list[str]:
        try:
            names = os.listdir(self.root)
        except FileNotFoundError:
            return []
        return sorted(n for n in names if os.path.exists(os.path.join(self.root, n, "state.json")))

    def status(self, st: State, frozen: bool | None = None) -> str:
        """Derive the status. ``frozen`` (from the cgroup) is asked only for a live init."""
        if st.pid <= 0:
            return CREATING
        s = proc.process_state(st.pid, st.start_time)
        if s is None or s in ("Z", "X", "x"):
            return STOPPED
        if os.path.exists(self.fifo(st.id)):
            return CREATED
        if frozen:
            return PAUSED
        return RUNNING

    def remove(self, container_id: str) -> None:
        d = self.dir(container_id)
        try:
            for name in os.listdir(d):
                os.unlink(os.path.join(d, name))
            os.rmdir(d)
        except FileNotFoundError:
            pass
        except OSError as exc:
            if exc.errno != errno.ENOENT:
                raise from_oserror(f"remove state directory {d!r}", exc) from exc
