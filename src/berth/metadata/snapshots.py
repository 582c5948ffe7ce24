"""Snapshot records: the ``snapshots`` table, one transaction at a time.

:class:`SnapshotTx` is what :meth:`berth.metadata.Database.snapshots` yields; it fits the
``MetaStore``/``MetaTx`` protocols of :mod:`berth.snapshots` (structurally: the two
packages are siblings and do not import each other). The rules that need the whole table
to decide (a key is unique across active, view and committed snapshots; a parent must be
committed; a snapshot with children stays) are checked here, inside the transaction, so
two writers cannot both pass them.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, field

from berth.errdefs import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound
from berth.metadata._errors import translated

__all__ = ["SnapshotRecord", "SnapshotTx"]

_SELECT = (
    "SELECT s.id, s.key, p.key, s.kind, s.created, s.updated, s.labels "
    "FROM snapshots s LEFT JOIN snapshots p ON p.id = s.parent_id"
)


@dataclass(frozen=True)
class SnapshotRecord:
    id: int  # names the directory snapshots/<id>; never reused (AUTOINCREMENT)
    key: str  # the key while active or a view, the name once committed
    parent: str | None  # the parent's name
    kind: str  # "active" | "view" | "committed"
    created: float
    updated: float
    labels: Mapping[str, str] = field(default_factory=dict)


def _record(row: tuple[object, ...]) -> SnapshotRecord:
    id_, key, parent, kind, created, updated, labels = row
    return SnapshotRecord(
        id=int(id_),  # type: ignore[call-overload]
        key=str(key),
        parent=None if parent is None else str(parent),
        kind=str(kind),
        created=float(created),  # type: ignore[arg-type]
        updated=float(updated),  # type: ignore[arg-type]
        labels=json.loads(str(labels)),
    )


class SnapshotTx:
    """Snapshot records inside one open transaction (the caller commits or rolls back)."""

    def __init__(self, conn: sqlite3.Connection, now: float) -> None:
        self._conn = conn
        self._now = now

    def _find(self, key: str) -> SnapshotRecord | None:
        with translated(f"snapshot {key!r}"):
            row = self._conn.execute(_SELECT + " WHERE s.key = ?", (key,)).fetchone()
        return None if row is None else _record(row)

    def get(self, key: str) -> SnapshotRecord:
        rec = self._find(key)
        if rec is None:
            raise NotFound(f"snapshot {key!r}: not found")
        return rec

    def list(self) -> list[SnapshotRecord]:
        with translated("list snapshots"):
            rows = self._conn.execute(_SELECT + " ORDER BY s.id").fetchall()
        return [_record(r) for r in rows]

    def create(
        self, key: str, parent: str | None, kind: str, labels: Mapping[str, str]
    ) -> SnapshotRecord:
        if not key:
            raise InvalidArgument("snapshot key: empty")
        if kind not in ("active", "view"):
            raise InvalidArgument(f"snapshot {key!r}: cannot create a {kind!r} snapshot")
        parent_id = None
        if parent:
            p = self._find(parent)
            if p is None:
                raise NotFound(f"snapshot {key!r}: parent {parent!r}: not found")
            if p.kind != "committed":
                raise InvalidArgument(f"snapshot {key!r}: parent {parent!r} is not committed")
            parent_id = p.id
        if self._find(key) is not None:
            raise AlreadyExists(f"snapshot {key!r}: already exists")
        with translated(f"create snapshot {key!r}"):
            cur = self._conn.execute(
                "INSERT INTO snapshots (key, parent_id, kind, created, updated, labels) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (key, parent_id, kind, self._now, self._now, _labels(labels)),
            )
        assert cur.lastrowid is not None
        return self.get(key)

    def commit(self, key: str, name: str, labels: Mapping[str, str]) -> SnapshotRecord:
        if not name:
            raise InvalidArgument(f"commit snapshot {key!r}: empty name")
        rec = self.get(key)
        if rec.kind != "active":
            raise FailedPrecondition(
                f"commit snapshot {key!r}: it is a {rec.kind} snapshot, not active"
            )
        if self._find(name) is not None:
            raise AlreadyExists(f"snapshot {name!r}: already exists")
        merged = {**rec.labels, **labels}
        with translated(f"commit snapshot {key!r} as {name!r}"):
            self._conn.execute(
                "UPDATE snapshots SET key = ?, kind = 'committed', updated = ?, labels = ? "
                "WHERE id = ?",
                (name, self._now, _labels(merged), rec.id),
            )
        return self.get(name)

    def remove(self, key: str) -> SnapshotRecord:
        rec = self.get(key)
        with translated(f"remove snapshot {key!r}"):
            (children,) = self._conn.execute(
                "SELECT count(*) FROM snapshots WHERE parent_id = ?", (rec.id,)
            ).fetchone()
            if children:
                raise FailedPrecondition(
                    f"remove snapshot {key!r}: it is the parent of {children} other snapshot(s)"
                )
            self._conn.execute("DELETE FROM snapshots WHERE id = ?", (rec.id,))
        return rec

    def update_labels(self, key: str, labels: Mapping[str, str]) -> SnapshotRecord:
        """Replace the labels of ``key`` (an empty value removes that label)."""
        rec = self.get(key)
        with translated(f"label snapshot {key!r}"):
            self._conn.execute(
                "UPDATE snapshots SET labels = ?, updated = ? WHERE id = ?",
                (_labels({k: v for k, v in labels.items() if v}), self._now, rec.id),
            )
        return self.get(key)


def _labels(labels: Mapping[str, str]) -> str:
    return json.dumps(dict(sorted(labels.items())), separators=(",", ":"))
