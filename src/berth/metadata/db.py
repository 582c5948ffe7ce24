"""The database file: open, migrate, one writer at a time."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from berth.errdefs import FailedPrecondition
from berth.metadata._errors import translate, translated
from berth.metadata._migrations import MIGRATIONS
from berth.metadata.containers import ContainersTx
from berth.metadata.images import ImagesTx
from berth.metadata.networks import NetworksTx
from berth.metadata.snapshots import SnapshotTx

__all__ = ["Database", "statements"]

_BUSY_TIMEOUT_MS = 5000


def statements(script: str) -> list[str]:
    """Split an SQL script into complete statements (``sqlite3.complete_statement``
    knows about ``;`` inside strings and trigger bodies). ``executescript`` is not used:
    it commits whatever transaction is open first, and a migration must be one."""
    out: list[str] = []
    buf = ""
    for line in script.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            if buf.strip():
                out.append(buf.strip())
            buf = ""
    if buf.strip():
        out.append(buf.strip())
    return out


class Database:
    """berth.db: one SQLite connection in WAL mode, shared by the threads of the daemon
    behind one lock (the daemon is the only writer; SQLite serialises writers anyway,
    and one connection keeps ``BEGIN IMMEDIATE`` from ever waiting on itself).

    ``path`` may be ``":memory:"`` for tests. ``migrations`` is for tests too: open with
    ``MIGRATIONS[:1]`` to make a version-1 file.
    """

    def __init__(
        self,
        path: str,
        *,
        migrations: Sequence[str] = MIGRATIONS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = path
        self._migrations = list(migrations)
        self._clock = clock
        self._lock = threading.RLock()
        try:
            self._conn = sqlite3.connect(
                path, isolation_level=None, check_same_thread=False, timeout=_BUSY_TIMEOUT_MS / 1000
            )
        except sqlite3.Error as exc:
            raise translate(f"open database {path!r}", exc) from exc
        try:
            with translated(f"open database {path!r}"):
                self._conn.execute("PRAGMA foreign_keys = ON")
                self._conn.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
                if path != ":memory:":
                    self._conn.execute("PRAGMA journal_mode = WAL")
                    # FULL: a commit the daemon reported survives a power cut, as a
                    # content store commit (fsync + rename) does.
                    self._conn.execute("PRAGMA synchronous = FULL")
            self.version = self._migrate()
        except BaseException:
            self._conn.close()
            raise

    # -- lifecycle ---------------------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def latest_version(self) -> int:
        return len(self._migrations)

    def _migrate(self) -> int:
        """Bring the file to :attr:`latest_version` in one transaction; refuse a file
        written by a newer berth (its tables may mean things this one does not know)."""
        what = f"migrate database {self.path!r}"
        with self._lock, self._transaction(what) as conn:
            with translated(what):
                conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
                row = conn.execute("SELECT version FROM schema_version").fetchone()
                version = 0 if row is None else int(row[0])
                if row is None:
                    conn.execute("INSERT INTO schema_version (version) VALUES (0)")
            if version > self.latest_version:
                raise FailedPrecondition(
                    f"database {self.path!r}: schema version {version} is newer than this "
                    f"berth knows ({self.latest_version}): it was written by a newer berth"
                )
            for v in range(version, self.latest_version):
                with translated(f"{what}: to version {v + 1}"):
                    for stmt in statements(self._migrations[v]):
                        conn.execute(stmt)
            with translated(what):
                conn.execute("UPDATE schema_version SET version = ?", (self.latest_version,))
            return self.latest_version

    # -- transactions --------------------------------------------------------------------

    @contextmanager
    def _transaction(self, what: str) -> Iterator[sqlite3.Connection]:
        with translated(what):
            self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield self._conn
        except BaseException:
            try:
                self._conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass  # the original error matters more
            raise
        with translated(what):
            self._conn.execute("COMMIT")

    @contextmanager
    def snapshots(self) -> Iterator[SnapshotTx]:
        """A write transaction over the snapshot records: committed when the block ends,
        rolled back when it raises (fits ``berth.snapshots.MetaStore``)."""
        with self._lock, self._transaction("snapshots transaction") as conn:
            yield SnapshotTx(conn, self._clock())

    @contextmanager
    def containers(self) -> Iterator[ContainersTx]:
        """A write transaction over container and volume records."""
        with self._lock, self._transaction("containers transaction") as conn:
            yield ContainersTx(conn, self._clock())

    @contextmanager
    def images(self) -> Iterator[ImagesTx]:
        """A write transaction over image refs and content labels."""
        with self._lock, self._transaction("images transaction") as conn:
            yield ImagesTx(conn, self._clock())

    @contextmanager
    def networks(self) -> Iterator[NetworksTx]:
        """A write transaction over network records and address allocations."""
        with self._lock, self._transaction("networks transaction") as conn:
            yield NetworksTx(conn, self._clock())
