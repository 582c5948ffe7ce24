"""The narrow views of a content store the registry client needs.

``berth.content`` is a sibling in layer 3, so it is not imported: these protocols are
what its ``LocalStore`` (or any store) satisfies structurally, and the layer above hands
one in.
"""

from __future__ import annotations

from typing import Protocol

from berth.oci.digest import Digest

__all__ = ["BlobIngester", "BlobProvider", "BlobSource", "BlobWriter"]


class BlobWriter(Protocol):
    """An ingest: ``offset`` bytes so far (where a Range request resumes); ``commit``
    verifies size and digest and keeps nothing when they are wrong (InvalidArgument)."""

    @property
    def offset(self) -> int: ...

    def write(self, data: bytes, /) -> int: ...

    def truncate(self, size: int) -> None: ...

    def commit(self, size: int = 0, expected: Digest | None = None) -> Digest: ...

    def close(self) -> None: ...


class BlobIngester(Protocol):
    """Opens (or resumes) the ingest ``ref``; AlreadyExists when ``expected`` is stored."""

    def writer(self, ref: str, *, total: int = 0, expected: Digest | None = None) -> BlobWriter: ...


class BlobSource(Protocol):
    def read(self, n: int = -1, /) -> bytes: ...

    def seek(self, offset: int, whence: int = 0, /) -> int: ...

    def close(self) -> None: ...


class BlobProvider(Protocol):
    def reader(self, digest: Digest) -> BlobSource: ...

    def read_blob(self, digest: Digest) -> bytes: ...
