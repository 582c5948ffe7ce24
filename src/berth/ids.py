"""Ids and names.

An *id* is 64 lowercase hex characters (a container's, an exec's, an image's config digest
without ``sha256:``). A *name* is chosen by the user. The OCI runtime's container id is
looser: runc accepts ``[A-Za-z0-9_+.-]+`` and so do we (containerd and dockerd pass 64-hex
ids; tests pass readable names).
"""

from __future__ import annotations

import os

from berth.errdefs import InvalidArgument, NotFound

__all__ = ["new_id", "prefix_lookup", "validate_runtime_id"]

_RUNTIME_ID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_+.-")


def new_id() -> str:
    """A fresh random 64-hex id."""
    return os.urandom(32).hex()


def validate_runtime_id(container_id: str) -> str:
    """Check an OCI runtime container id; it becomes a directory name under --root."""
    if not container_id:
        raise InvalidArgument("container id cannot be empty")
    if container_id in (".", "..") or not set(container_id) <= _RUNTIME_ID_CHARS:
        raise InvalidArgument(f"invalid container id format: {container_id!r}")
    if len(container_id) > 1024:
        raise InvalidArgument(f"container id is too long: {len(container_id)} characters")
    return container_id


def prefix_lookup(prefix: str, ids: list[str], kind: str = "object") -> str:
    """The one id starting with ``prefix``; NotFound if none; more than one match is
    InvalidArgument, as dockerd answers an ambiguous prefix (400)."""
    matches = [i for i in ids if i.startswith(prefix)]
    if not matches:
        raise NotFound(f"no such {kind}: {prefix}")
    if len(matches) > 1:
        raise InvalidArgument(f"multiple {kind}s found with provided prefix: {prefix}")
    return matches[0]
