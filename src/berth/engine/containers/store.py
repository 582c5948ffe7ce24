"""The container records: every container in memory, each change written through to
berth.db (:mod:`berth.metadata.containers`) before it is visible, so a crash never loses
a container the API said exists.

Lookup is Docker's: a full id, a name (with or without the leading ``/``), or a unique
id prefix; an ambiguous prefix is InvalidArgument, nothing found is NotFound with
Docker's ``No such container: X``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

from berth import errdefs
from berth.engine.containers.codec import decode, encode
from berth.engine.containers.model import Container
from berth.metadata import Database
from berth.oci import fastjson

__all__ = ["ContainerStore"]


class ContainerStore:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._lock = threading.RLock()
        self._by_id: dict[str, Container] = {}
        self._by_name: dict[str, str] = {}

    def load(self) -> list[Container]:
        """Read every record (at daemon start)."""
        with self._db.containers() as tx:
            rows = tx.containers()
        with self._lock:
            for r in rows:
                c = decode(Container, fastjson.loads(r.doc))
                self._by_id[c.id] = c
                self._by_name[c.name] = c.id
            return list(self._by_id.values())

    def add(self, c: Container) -> None:
        with self._lock:
            with self._db.containers() as tx:
                tx.add_container(c.id, c.name, c.image, fastjson.dumps(encode(c)))
            self._by_id[c.id] = c
            self._by_name[c.name] = c.id

    def save(self, c: Container) -> None:
        with self._lock:
            if c.id not in self._by_id:
                return  # removed meanwhile
            with self._db.containers() as tx:
                tx.update_container(c.id, fastjson.dumps(encode(c)))

    def rename(self, c: Container, new: str) -> None:
        with self._lock:
            if new in self._by_name and self._by_name[new] != c.id:
                other = self._by_name[new]
                raise errdefs.Conflict(
                    f'Error when allocating new name: Conflict. The container name "/{new}" is '
                    f'already in use by container "{other}". You have to remove (or rename) '
                    "that container to be able to reuse that name."
                )
            old = c.name
            c.name = new
            try:
                with self._db.containers() as tx:
                    tx.update_container(c.id, fastjson.dumps(encode(c)), name=new)
            except BaseException:
                c.name = old
                raise
            del self._by_name[old]
            self._by_name[new] = c.id

    def remove(self, c: Container) -> None:
        with self._lock:
            with self._db.containers() as tx:
                tx.remove_container(c.id)
            self._by_id.pop(c.id, None)
            if self._by_name.get(c.name) == c.id:
                del self._by_name[c.name]

    def has(self, cid: str) -> bool:
        with self._lock:
            return cid in self._by_id

    def name_taken(self, name: str) -> bool:
        with self._lock:
            return name in self._by_name

    def get(self, ref: str) -> Container:
        with self._lock:
            c = self._by_id.get(ref)
            if c is not None:
                return c
            cid = self._by_name.get(ref.removeprefix("/"))
            if cid is not None:
                return self._by_id[cid]
            if ref and all(ch in "0123456789abcdef" for ch in ref):
                found = [i for i in self._by_id if i.startswith(ref)]
                if len(found) == 1:
                    return self._by_id[found[0]]
                if len(found) > 1:
                    raise errdefs.InvalidArgument(
                        f"multiple IDs found with provided prefix: {ref}"
                    )
        raise errdefs.NotFound(f"No such container: {ref}")

    def all(self) -> list[Container]:
        with self._lock:
            return list(self._by_id.values())

    def __iter__(self) -> Iterator[Container]:
        return iter(self.all())
