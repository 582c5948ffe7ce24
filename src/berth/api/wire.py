"""Engine API facts both ends share: versions, media types, status ↔ error category.

The server (:mod:`berth.api.server`) and the clients (:mod:`berth.client`, and through it
the berth CLI) import this module, so it imports nothing but :mod:`berth.errdefs`: it is
on the CLI's start-up path.

Versions are ``"MAJOR.MINOR"`` strings compared numerically piece by piece, with a
missing or non-numeric piece counting as 0 (moby ``api/types/versions``): ``"1.9" <
"1.24" < "1.41"``.
"""

from __future__ import annotations

from berth.errdefs import (
    AlreadyExists,
    BerthError,
    Conflict,
    FailedPrecondition,
    Internal,
    InvalidArgument,
    NotFound,
    NotImplemented,
    PermissionDenied,
    Unauthorized,
    Unavailable,
)

__all__ = [
    "API_VERSION",
    "FALLBACK_API_VERSION",
    "JSON_ERRORS_SINCE",
    "MEDIA_JSON",
    "MEDIA_MULTIPLEXED_STREAM",
    "MEDIA_RAW_STREAM",
    "MEDIA_TAR",
    "MEDIA_TEXT",
    "MIN_API_VERSION",
    "category_for_status",
    "compare_versions",
    "status_for",
    "version_less",
]

# README §1.5: advertise 1.41 until the 1.42+ fields are implemented.
API_VERSION = "1.41"
MIN_API_VERSION = "1.24"
# Requests made at an older version get their errors as text/plain (moby httputils).
JSON_ERRORS_SINCE = "1.23"
# What the Go client assumes when a ping carries no Api-Version header.
FALLBACK_API_VERSION = "1.24"

MEDIA_JSON = "application/json"
MEDIA_TEXT = "text/plain; charset=utf-8"
MEDIA_TAR = "application/x-tar"
MEDIA_RAW_STREAM = "application/vnd.docker.raw-stream"
MEDIA_MULTIPLEXED_STREAM = "application/vnd.docker.multiplexed-stream"


def _pieces(v: str) -> list[int]:
    out = []
    for p in v.split("."):
        out.append(int(p) if p.isdigit() else 0)
    return out


def compare_versions(a: str, b: str) -> int:
    """-1, 0 or 1 as ``a`` is older than, equal to or newer than ``b``."""
    pa, pb = _pieces(a), _pieces(b)
    n = max(len(pa), len(pb))
    pa += [0] * (n - len(pa))
    pb += [0] * (n - len(pb))
    return (pa > pb) - (pa < pb)


def version_less(a: str, b: str) -> bool:
    return compare_versions(a, b) < 0


# containerd/errdefs/pkg/errhttp, which the moby client uses to type errors (README §3.5).
_STATUS: list[tuple[type[BerthError], int]] = [
    (NotFound, 404),
    (AlreadyExists, 409),
    (Conflict, 409),
    (InvalidArgument, 400),
    (FailedPrecondition, 412),
    (Unavailable, 503),
    (NotImplemented, 501),
    (PermissionDenied, 403),
    (Unauthorized, 401),
    (Internal, 500),
]

_CATEGORY: dict[int, type[BerthError]] = {
    400: InvalidArgument,
    401: Unauthorized,
    403: PermissionDenied,
    404: NotFound,
    409: Conflict,
    412: FailedPrecondition,
    500: Internal,
    501: NotImplemented,
    503: Unavailable,
}


def status_for(exc: BaseException) -> int:
    """The HTTP status of an error: its errdefs category's, else 500."""
    for cls, status in _STATUS:
        if isinstance(exc, cls):
            return status
    return 500


def category_for_status(status: int) -> type[BerthError]:
    """The errdefs category of an error status, as the moby client types it: listed codes
    map one to one, any other 4xx is InvalidArgument and any other 5xx Internal."""
    cls = _CATEGORY.get(status)
    if cls is not None:
        return cls
    return InvalidArgument if 400 <= status < 500 else Internal
