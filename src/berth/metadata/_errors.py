"""``sqlite3.Error`` → berth's error categories, at the package boundary."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from berth.errdefs import (
    AlreadyExists,
    BerthError,
    FailedPrecondition,
    Internal,
    Unavailable,
)

__all__ = ["translate", "translated"]


def translate(what: str, exc: sqlite3.Error) -> BerthError:
    """``what: reason`` in the category that fits: a UNIQUE violation is AlreadyExists,
    a foreign key or CHECK violation FailedPrecondition, a busy or locked database
    Unavailable, a file that is not a database FailedPrecondition, anything else Internal."""
    reason = str(exc).lower() or exc.__class__.__name__.lower()
    if isinstance(exc, sqlite3.IntegrityError):
        if "unique" in reason or "primary key" in reason:
            return AlreadyExists(f"{what}: already exists")
        return FailedPrecondition(f"{what}: {reason}")
    if isinstance(exc, sqlite3.OperationalError) and ("locked" in reason or "busy" in reason):
        return Unavailable(f"{what}: {reason}")
    if isinstance(exc, sqlite3.DatabaseError) and (
        "not a database" in reason or "malformed" in reason
    ):
        return FailedPrecondition(f"{what}: {reason}")
    return Internal(f"{what}: {reason}")


@contextmanager
def translated(what: str) -> Iterator[None]:
    try:
        yield
    except sqlite3.Error as exc:
        raise translate(what, exc) from exc
