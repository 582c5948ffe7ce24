"""Container and volume records: the ``containers`` and ``volumes`` tables.

A container row holds the engine's whole record of one container as a JSON document
(``doc``) beside the columns that must be unique or searched: its id, its name (unique,
so two creates racing for one name cannot both win) and its image id (which containers
keep an image in use). The engine owns the document's shape; this module only stores it.

A volume row is a volume's identity (name, driver, labels, options); its data lives in
``<root>/volumes/<name>/_data``.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, field

from berth.errdefs import AlreadyExists, NotFound
from berth.metadata._errors import translated

__all__ = ["ContainerRow", "ContainersTx", "VolumeRow"]


@dataclass(frozen=True)
class ContainerRow:
    id: str
    name: str
    image_id: str
    created: float
    updated: float
    doc: str


@dataclass(frozen=True)
class VolumeRow:
    name: str
    driver: str
    created: float
    labels: Mapping[str, str] = field(default_factory=dict)
    options: Mapping[str, str] = field(default_factory=dict)
    anonymous: bool = False


_C_COLS = "id, name, image_id, created, updated, doc"
_V_COLS = "name, driver, created, labels, options, anonymous"


def _crow(r: tuple[object, ...]) -> ContainerRow:
    return ContainerRow(str(r[0]), str(r[1]), str(r[2]), float(r[3]), float(r[4]), str(r[5]))  # type: ignore[arg-type]


def _vrow(r: tuple[object, ...]) -> VolumeRow:
    return VolumeRow(
        str(r[0]), str(r[1]), float(r[2]),  # type: ignore[arg-type]
        json.loads(str(r[3])), json.loads(str(r[4])), bool(r[5]),
    )  # fmt: skip


class ContainersTx:
    """Reads and writes inside one transaction (see :meth:`Database.containers`)."""

    def __init__(self, conn: sqlite3.Connection, now: float) -> None:
        self._c = conn
        self._now = now

    # -- containers ----------------------------------------------------------------------

    def add_container(self, id: str, name: str, image_id: str, doc: str) -> ContainerRow:
        try:
            with translated(f"container '{name}'"):
                self._c.execute(
                    f"INSERT INTO containers ({_C_COLS}) VALUES (?, ?, ?, ?, ?, ?)",
                    (id, name, image_id, self._now, self._now, doc),
                )
        except AlreadyExists:
            taken = self._c.execute("SELECT id FROM containers WHERE name = ?", (name,)).fetchone()
            if taken is not None:
                raise AlreadyExists(
                    f'Conflict. The container name "/{name}" is already in use by container '
                    f'"{taken[0]}". You have to remove (or rename) that container to be able '
                    "to reuse that name."
                ) from None
            raise
        return ContainerRow(id, name, image_id, self._now, self._now, doc)

    def update_container(self, id: str, doc: str, name: str | None = None) -> None:
        with translated(f"container '{id}'"):
            if name is None:
                cur = self._c.execute(
                    "UPDATE containers SET doc = ?, updated = ? WHERE id = ?", (doc, self._now, id)
                )
            else:
                cur = self._c.execute(
                    "UPDATE containers SET doc = ?, name = ?, updated = ? WHERE id = ?",
                    (doc, name, self._now, id),
                )
        if cur.rowcount == 0:
            raise NotFound(f"No such container: {id}")

    def remove_container(self, id: str) -> None:
        with translated(f"container '{id}'"):
            self._c.execute("DELETE FROM containers WHERE id = ?", (id,))

    def container(self, id: str) -> ContainerRow | None:
        with translated(f"container '{id}'"):
            r = self._c.execute(f"SELECT {_C_COLS} FROM containers WHERE id = ?", (id,)).fetchone()
        return None if r is None else _crow(r)

    def containers(self) -> list[ContainerRow]:
        with translated("containers"):
            rows = self._c.execute(f"SELECT {_C_COLS} FROM containers ORDER BY created").fetchall()
        return [_crow(r) for r in rows]

    # -- volumes -------------------------------------------------------------------------

    def add_volume(
        self,
        name: str,
        driver: str,
        labels: Mapping[str, str] | None = None,
        options: Mapping[str, str] | None = None,
        anonymous: bool = False,
    ) -> VolumeRow:
        with translated(f"volume '{name}'"):
            self._c.execute(
                f"INSERT INTO volumes ({_V_COLS}) VALUES (?, ?, ?, ?, ?, ?)",
                (name, driver, self._now, json.dumps(dict(labels or {})),
                 json.dumps(dict(options or {})), int(anonymous)),
            )  # fmt: skip
        return VolumeRow(name, driver, self._now, dict(labels or {}), dict(options or {}), anonymous)

    def volume(self, name: str) -> VolumeRow | None:
        with translated(f"volume '{name}'"):
            r = self._c.execute(f"SELECT {_V_COLS} FROM volumes WHERE name = ?", (name,)).fetchone()
        return None if r is None else _vrow(r)

    def volumes(self) -> list[VolumeRow]:
        with translated("volumes"):
            rows = self._c.execute(f"SELECT {_V_COLS} FROM volumes ORDER BY name").fetchall()
        return [_vrow(r) for r in rows]

    def remove_volume(self, name: str) -> None:
        with translated(f"volume '{name}'"):
            cur = self._c.execute("DELETE FROM volumes WHERE name = ?", (name,))
        if cur.rowcount == 0:
            raise NotFound(f"get {name}: no such volume")
