"""Content digests: ``<algorithm>:<encoded>``, as the OCI image spec defines them.

A *digest* names content by its hash (image-spec descriptor.md#digests): ``sha256:``
followed by 64 lowercase hex characters. berth stores, verifies and computes sha256 only,
as Docker and containerd do by default; :class:`Digest` refuses every other algorithm with
``unsupported digest algorithm``. References may still *name* a sha384/sha512 digest
(distribution/reference accepts them, through go-digest's registered algorithms), so
:func:`parse` takes the algorithms to accept; the grammar and the messages are go-digest's:

    digest           := algorithm ":" encoded
    algorithm        := component (separator component)*     ; [a-z0-9]+, separator [+._-]
    encoded          := [a-zA-Z0-9=_-]+                       ; sha256: [a-f0-9]{64}

- ``invalid checksum digest format``  — not of that shape, or uppercase hex
- ``invalid checksum digest length``  — the encoded part has the wrong length
- ``unsupported digest algorithm``    — well formed, but an algorithm we do not take

A :class:`Digest` is a ``str`` (it goes into JSON and dict keys as it is) that was checked
when it was made. :class:`Digester` hashes a stream incrementally; :func:`sha256_of`
hashes bytes in one go.
"""

from __future__ import annotations

import hashlib
import re

from berth.errdefs import InvalidArgument

__all__ = [
    "ALGORITHMS",
    "SHA256",
    "Digest",
    "Digester",
    "parse",
    "sha256_of",
]

SHA256 = "sha256"

# Registered algorithms (image-spec descriptor.md#registered-algorithms and go-digest)
# and the length of their hex encoding.
ALGORITHMS: dict[str, int] = {"sha256": 64, "sha384": 96, "sha512": 128}

_DIGEST_RE = re.compile(r"[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+")
_HEX_RE = re.compile(r"[a-f0-9]+")


def _check(value: str, algorithms: tuple[str, ...]) -> None:
    if not isinstance(value, str):
        raise InvalidArgument(f"invalid checksum digest format: {value!r} is not a string")
    i = value.find(":")
    if i <= 0 or i + 1 == len(value):
        raise InvalidArgument(f"invalid checksum digest format: {value!r}")
    algorithm, encoded = value[:i], value[i + 1 :]
    if algorithm not in algorithms:
        if not _DIGEST_RE.fullmatch(value):
            raise InvalidArgument(f"invalid checksum digest format: {value!r}")
        raise InvalidArgument(f"unsupported digest algorithm: {algorithm}")
    if len(encoded) != ALGORITHMS[algorithm]:
        raise InvalidArgument(
            f"invalid checksum digest length: {value!r} "
            f"(want {ALGORITHMS[algorithm]} hex characters, got {len(encoded)})"
        )
    if not _HEX_RE.fullmatch(encoded):
        raise InvalidArgument(f"invalid checksum digest format: {value!r}")


class Digest(str):
    """A checked digest string. ``Digest(s)`` accepts ``sha256:<64 lowercase hex>`` only;
    :func:`parse` can accept the other registered algorithms."""

    __slots__ = ()

    def __new__(cls, value: str) -> Digest:
        if type(value) is cls:
            return value
        _check(value, (SHA256,))
        return str.__new__(cls, value)

    @classmethod
    def _trusted(cls, value: str) -> Digest:
        return str.__new__(cls, value)

    @classmethod
    def from_hex(cls, encoded: str) -> Digest:
        """``sha256:`` + ``encoded`` (a 64-hex id, as a blob's file name or an image id)."""
        return cls(f"{SHA256}:{encoded}")

    @property
    def algorithm(self) -> str:
        return self.partition(":")[0]

    @property
    def encoded(self) -> str:
        """The hex part: a blob's file name, an image id."""
        return self.partition(":")[2]

    hex = encoded

    def short(self, n: int = 12) -> str:
        """The first ``n`` hex characters, as Docker shows ids."""
        return self.encoded[:n]

    def __repr__(self) -> str:
        return f"Digest({str.__repr__(self)})"


def parse(value: str, algorithms: tuple[str, ...] = (SHA256,)) -> Digest:
    """``value`` as a :class:`Digest`; InvalidArgument with go-digest's message otherwise.
    ``algorithms`` widens what is accepted (references take all of :data:`ALGORITHMS`)."""
    _check(value, algorithms)
    return Digest._trusted(value)


def sha256_of(data: bytes | bytearray | memoryview) -> Digest:
    """The sha256 digest of ``data``."""
    return Digest._trusted(f"{SHA256}:{hashlib.sha256(data).hexdigest()}")


class Digester:
    """Incremental sha256 over a stream, counting the bytes it saw."""

    __slots__ = ("_h", "size")

    def __init__(self) -> None:
        self._h = hashlib.sha256()
        self.size = 0

    def update(self, data: bytes | bytearray | memoryview) -> None:
        self._h.update(data)
        self.size += len(data)

    def digest(self) -> Digest:
        return Digest._trusted(f"{SHA256}:{self._h.hexdigest()}")
