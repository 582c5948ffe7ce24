"""Error categories used inside berth.

Code below the edges raises one of these; the edges translate them: the API layer to an
HTTP status and ``{"message": …}``, the CLIs to an exit code and a one-line message.
Foreign exceptions (``OSError``, ``sqlite3.Error`` …) are re-raised at package boundaries
as one of these with ``raise … from exc`` so that the message names the object.

    BerthError
    ├── NotFound             the object does not exist                     (404)
    ├── AlreadyExists        an object with that id or name exists         (409)
    ├── Conflict             the object's state forbids the operation      (409)
    ├── InvalidArgument      the input is malformed or out of range        (400)
    ├── FailedPrecondition   the system is not in a state to do it         (412)
    ├── Unavailable          a peer or resource cannot be reached now      (503)
    ├── NotImplemented       berth does not do this (yet)                  (501)
    ├── PermissionDenied     the caller may not do this                    (403)
    ├── Unauthorized         credentials missing or wrong                  (401)
    └── Internal             a bug or an unexpected kernel answer          (500)

Messages are lowercase, without a trailing period, and name the object:
``mount overlay on '/var/lib/berth/containers/3f2a…/rootfs': invalid argument``.
"""

from __future__ import annotations

__all__ = [
    "AlreadyExists",
    "BerthError",
    "Conflict",
    "FailedPrecondition",
    "Internal",
    "InvalidArgument",
    "NotFound",
    "NotImplemented",
    "PermissionDenied",
    "Unauthorized",
    "Unavailable",
    "from_oserror",
]


class BerthError(Exception):
    """Base of every error berth raises on purpose."""

    status = 500

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else self.__class__.__name__


class NotFound(BerthError):
    status = 404


class AlreadyExists(BerthError):
    status = 409


class Conflict(BerthError):
    status = 409


class InvalidArgument(BerthError):
    status = 400


class FailedPrecondition(BerthError):
    status = 412


class Unavailable(BerthError):
    status = 503


class NotImplemented(BerthError):
    status = 501


class PermissionDenied(BerthError):
    status = 403


class Unauthorized(BerthError):
    status = 401


class Internal(BerthError):
    status = 500


_ERRNO_CATEGORY = {
    1: PermissionDenied,  # EPERM
    2: NotFound,  # ENOENT
    13: PermissionDenied,  # EACCES
    17: AlreadyExists,  # EEXIST
    22: InvalidArgument,  # EINVAL
    16: Conflict,  # EBUSY
    20: InvalidArgument,  # ENOTDIR
    21: InvalidArgument,  # EISDIR
    38: NotImplemented,  # ENOSYS
    95: NotImplemented,  # EOPNOTSUPP
}


def strerror(errno: int) -> str:
    import os

    return os.strerror(errno).lower()


def from_oserror(what: str, exc: OSError) -> BerthError:
    """``what: reason`` as the category that fits the errno, e.g.
    ``from_oserror("open '/x'", exc)`` → NotFound("open '/x': no such file or directory")."""
    errno = exc.errno or 0
    reason = strerror(errno) if errno else str(exc)
    cls = _ERRNO_CATEGORY.get(errno, Internal)
    err = cls(f"{what}: {reason}")
    err.errno = errno  # type: ignore[attr-defined]
    return err
