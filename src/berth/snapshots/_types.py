"""The snapshotter's data: kinds, info, usage, mounts, and the metadata it needs."""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Protocol

__all__ = ["Info", "Kind", "MetaStore", "MetaTx", "Mount", "Record", "Usage"]


class Kind(enum.StrEnum):
    ACTIVE = "active"
    VIEW = "view"
    COMMITTED = "committed"


@dataclass(frozen=True)
class Info:
    """What :meth:`stat` and :meth:`walk` report of one snapshot."""

    name: str  # the key of an active snapshot or a view, the name of a committed one
    parent: str | None
    kind: Kind
    created: float
    updated: float
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Usage:
    """Disk used by one snapshot's own ``fs`` directory (not its parents'): bytes of
    allocated blocks, hard-linked files counted once, and inodes."""

    size: int
    inodes: int


@dataclass(frozen=True)
class Mount:
    """One mount as data, like containerd's ``mount.Mount`` and an OCI ``mounts[]``
    entry without its destination: the caller picks the target (:func:`mount_all`, or
    a runtime's ``root.path``)."""

    type: str  # "overlay" | "bind"
    source: str
    options: tuple[str, ...] = ()


class Record(Protocol):
    """A snapshot row as the metadata store keeps it."""

    @property
    def id(self) -> int: ...
    @property
    def key(self) -> str: ...
    @property
    def parent(self) -> str | None: ...
    @property
    def kind(self) -> str: ...
    @property
    def created(self) -> float: ...
    @property
    def updated(self) -> float: ...
    @property
    def labels(self) -> Mapping[str, str]: ...


class MetaTx(Protocol):
    """Snapshot records in one transaction. Keys and committed names share one
    namespace; ``create`` refuses an existing key (AlreadyExists), a missing parent
    (NotFound) or one not committed (InvalidArgument); ``commit`` refuses anything but an
    active snapshot (FailedPrecondition) and an existing name (AlreadyExists); ``remove``
    refuses a snapshot that is a parent (FailedPrecondition)."""

    def get(self, key: str) -> Record: ...
    def list(self) -> Sequence[Record]: ...
    def create(
        self, key: str, parent: str | None, kind: str, labels: Mapping[str, str]
    ) -> Record: ...
    def commit(self, key: str, name: str, labels: Mapping[str, str]) -> Record: ...
    def remove(self, key: str) -> Record: ...
    def update_labels(self, key: str, labels: Mapping[str, str]) -> Record: ...


class MetaStore(Protocol):
    """Where the snapshotter keeps its records: ``berth.metadata.Database`` (SQLite),
    or a fake in tests. ``snapshots()`` opens a transaction that commits when the block
    ends and rolls back when it raises; writers are serialised."""

    def snapshots(self) -> AbstractContextManager[MetaTx]: ...
