"""The content store's narrow protocols, its records and its errors.

Four protocols in containerd's shape (core/content), each what one kind of caller needs:

- :class:`Provider` — read a blob (the unpacker, the exporter, the registry pusher);
- :class:`Ingester` — open a :class:`Writer` for a ref (the puller, the importer);
- :class:`IngestManager` — the state of unfinished ingests: status, list, abort;
- :class:`Manager` — info, walk and delete committed blobs (garbage collection);

and :class:`Store`, all four together, which one wiring module builds. Type each
parameter with the narrowest of them.

Errors (all berth.errdefs categories)::

    InvalidArgument
    ├── DigestMismatch   the bytes hash to another digest than expected; nothing kept
    └── SizeMismatch     more or fewer bytes than expected; nothing kept
    Unavailable
    ├── NoSpace          the disk filled during a write; the partial was removed
    └── (plain)          another writer holds the ref
    AlreadyExists        the blob is in the store already (commit, or writer with expected)
    NotFound             no such blob or ingest
    FailedPrecondition   a resumed ingest was started for a different size or digest
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import Protocol, Self

from berth.errdefs import InvalidArgument, Unavailable
from berth.oci.digest import Digest

__all__ = [
    "BlobReader",
    "DigestMismatch",
    "Info",
    "IngestManager",
    "Ingester",
    "Manager",
    "NoSpace",
    "Provider",
    "SizeMismatch",
    "Status",
    "Store",
    "Writer",
]


class DigestMismatch(InvalidArgument):
    """The committed bytes do not hash to the expected digest."""


class SizeMismatch(InvalidArgument):
    """The committed bytes are not the expected size."""


class NoSpace(Unavailable):
    """No space left on the device holding the store; the partial ingest was removed."""


@dataclass(frozen=True)
class Info:
    """A committed blob."""

    digest: Digest
    size: int
    created_at: float  # seconds since the epoch
    updated_at: float


@dataclass(frozen=True)
class Status:
    """An ingest in progress: ``offset`` bytes written so far (where a Range request
    resumes), ``total`` and ``expected`` as declared when it was started (0/None:
    unknown)."""

    ref: str
    offset: int
    total: int
    expected: Digest | None
    started_at: float
    updated_at: float


class BlobReader(Protocol):
    """A readable, seekable blob that can also be read at an offset (``ReaderAt``)."""

    @property
    def size(self) -> int: ...

    def read(self, n: int = -1, /) -> bytes: ...

    def read_at(self, offset: int, n: int) -> bytes: ...

    def seek(self, offset: int, whence: int = 0, /) -> int: ...

    def close(self) -> None: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
        /,
    ) -> None: ...


class Writer(Protocol):
    """An open ingest. Bytes go to ``ingest/``; :meth:`commit` verifies them and makes
    them a blob. :meth:`close` without commit keeps the partial for a later resume."""

    @property
    def ref(self) -> str: ...

    @property
    def offset(self) -> int: ...

    def write(self, data: bytes | bytearray | memoryview, /) -> int: ...

    def digest(self) -> Digest: ...

    def status(self) -> Status: ...

    def truncate(self, size: int) -> None: ...

    def commit(self, size: int = 0, expected: Digest | None = None) -> Digest: ...

    def close(self) -> None: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
        /,
    ) -> None: ...


class Provider(Protocol):
    def reader(self, digest: Digest) -> BlobReader: ...

    def read_blob(self, digest: Digest) -> bytes: ...


class Ingester(Protocol):
    def writer(self, ref: str, *, total: int = 0, expected: Digest | None = None) -> Writer: ...


class IngestManager(Protocol):
    def status(self, ref: str) -> Status: ...

    def list_statuses(self) -> list[Status]: ...

    def abort(self, ref: str) -> None: ...


class Manager(Protocol):
    def info(self, digest: Digest) -> Info: ...

    def walk(self) -> Iterator[Info]: ...

    def delete(self, digest: Digest) -> None: ...


class Store(Provider, Ingester, IngestManager, Manager, Protocol):
    """Everything: what the daemon's wiring builds and hands out as the narrower views."""
