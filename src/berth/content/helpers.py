"""Helpers over the narrow protocols, as containerd's ``content.WriteBlob``/``ReadBlob``."""

from __future__ import annotations

import io
from typing import BinaryIO

from berth.content._types import Ingester
from berth.errdefs import AlreadyExists
from berth.oci.digest import Digest

__all__ = ["write_blob"]

_CHUNK = 1 << 20


def write_blob(
    ingester: Ingester,
    ref: str,
    source: BinaryIO | bytes,
    *,
    size: int = 0,
    expected: Digest | None = None,
) -> Digest | None:
    """Copy ``source`` into the store under ``ref`` and commit it, verified against
    ``size``/``expected`` when given. A partial left by an earlier attempt is resumed when
    ``source`` can seek, else started again. Returns the digest committed, or None when
    the blob was in the store already (not an error here)."""
    if isinstance(source, bytes | bytearray | memoryview):
        source = io.BytesIO(source)
    try:
        w = ingester.writer(ref, total=size, expected=expected)
    except AlreadyExists:
        return None
    with w:
        if w.offset:
            if source.seekable():
                source.seek(w.offset)
            else:
                w.truncate(0)
        while chunk := source.read(_CHUNK):
            w.write(chunk)
        try:
            return w.commit(size, expected)
        except AlreadyExists:
            return None
