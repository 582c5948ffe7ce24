"""Network records and address allocations: the ``networks`` and ``ip_allocations`` tables.

A network row is a network's identity (id, unique name, driver) and the engine's whole
record of it as a JSON document (``doc``: Docker's NetworkResource shape, whose
``IPAM.Config`` list names the network's subnets — :mod:`berth.network.ipam` reads it).

An allocation row says that ``address`` on network ``network_id`` is taken and by whom
(``owner``: an endpoint or container id, or ``"gateway"``). The primary key
(network_id, address) is what makes two endpoints racing for one address fail in the
database rather than both win; deleting a network deletes its allocations (ON DELETE
CASCADE).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from berth.errdefs import AlreadyExists, NotFound
from berth.metadata._errors import translated

__all__ = ["AllocationRow", "NetworkRow", "NetworksTx"]


@dataclass(frozen=True)
class NetworkRow:
    id: str
    name: str
    driver: str
    doc: str
    created: float


@dataclass(frozen=True)
class AllocationRow:
    network_id: str
    address: str
    owner: str


_N_COLS = "id, name, driver, doc, created"


def _nrow(r: tuple[object, ...]) -> NetworkRow:
    return NetworkRow(str(r[0]), str(r[1]), str(r[2]), str(r[3]), float(r[4]))  # type: ignore[arg-type]


class NetworksTx:
    """Reads and writes inside one transaction (see :meth:`Database.networks`)."""

    def __init__(self, conn: sqlite3.Connection, now: float) -> None:
        self._c = conn
        self._now = now

    # -- networks ------------------------------------------------------------------------

    def add_network(self, id: str, name: str, driver: str, doc: str) -> NetworkRow:
        try:
            with translated(f"network '{name}'"):
                self._c.execute(
                    f"INSERT INTO networks ({_N_COLS}) VALUES (?, ?, ?, ?, ?)",
                    (id, name, driver, doc, self._now),
                )
        except AlreadyExists:
            if self._c.execute("SELECT 1 FROM networks WHERE name = ?", (name,)).fetchone():
                raise AlreadyExists(f"network with name {name} already exists") from None
            raise
        return NetworkRow(id, name, driver, doc, self._now)

    def update_network(self, id: str, doc: str) -> None:
        with translated(f"network '{id}'"):
            cur = self._c.execute("UPDATE networks SET doc = ? WHERE id = ?", (doc, id))
        if cur.rowcount == 0:
            raise NotFound(f"network {id} not found")

    def remove_network(self, id: str) -> None:
        """Delete the network and (cascade) its allocations; a missing one is NotFound."""
        with translated(f"network '{id}'"):
            cur = self._c.execute("DELETE FROM networks WHERE id = ?", (id,))
        if cur.rowcount == 0:
            raise NotFound(f"network {id} not found")

    def network(self, id: str) -> NetworkRow | None:
        with translated(f"network '{id}'"):
            r = self._c.execute(f"SELECT {_N_COLS} FROM networks WHERE id = ?", (id,)).fetchone()
        return None if r is None else _nrow(r)

    def network_by_name(self, name: str) -> NetworkRow | None:
        with translated(f"network '{name}'"):
            r = self._c.execute(
                f"SELECT {_N_COLS} FROM networks WHERE name = ?", (name,)
            ).fetchone()
        return None if r is None else _nrow(r)

    def networks(self) -> list[NetworkRow]:
        with translated("networks"):
            rows = self._c.execute(
                f"SELECT {_N_COLS} FROM networks ORDER BY created, name"
            ).fetchall()
        return [_nrow(r) for r in rows]

    # -- address allocations -------------------------------------------------------------

    def add_allocation(self, network_id: str, address: str, owner: str) -> AllocationRow:
        """Take ``address``; AlreadyExists when it is taken, FailedPrecondition when the
        network does not exist (the foreign key)."""
        with translated(f"address {address} on network '{network_id}'"):
            self._c.execute(
                "INSERT INTO ip_allocations (network_id, address, owner) VALUES (?, ?, ?)",
                (network_id, address, owner),
            )
        return AllocationRow(network_id, address, owner)

    def remove_allocation(self, network_id: str, address: str) -> bool:
        """Free ``address``; whether it was taken."""
        with translated(f"address {address} on network '{network_id}'"):
            cur = self._c.execute(
                "DELETE FROM ip_allocations WHERE network_id = ? AND address = ?",
                (network_id, address),
            )
        return cur.rowcount > 0

    def allocations(self, network_id: str) -> list[AllocationRow]:
        with translated(f"addresses of network '{network_id}'"):
            rows = self._c.execute(
                "SELECT network_id, address, owner FROM ip_allocations WHERE network_id = ?",
                (network_id,),
            ).fetchall()
        return [AllocationRow(str(r[0]), str(r[1]), str(r[2])) for r in rows]

    def allocations_of(self, owner: str) -> list[AllocationRow]:
        """Every address ``owner`` holds, on any network (release all on container rm)."""
        with translated(f"addresses of '{owner}'"):
            rows = self._c.execute(
                "SELECT network_id, address, owner FROM ip_allocations WHERE owner = ? "
                "ORDER BY network_id, address",
                (owner,),
            ).fetchall()
        return [AllocationRow(str(r[0]), str(r[1]), str(r[2])) for r in rows]
