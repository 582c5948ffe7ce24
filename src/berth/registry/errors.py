"""Registry errors: HTTP answers and transport failures turned into berth's categories.

A registry reports failures as ``{"errors": [{"code", "message", "detail"}]}``
(distribution spec, "Error Codes"). Each becomes ``<code as words>: <message>`` as
Docker prints it (``manifest unknown: manifest unknown``, ``unauthorized: authentication
required``); several are joined with ``; ``. The category follows the code first, then
the HTTP status::

    BerthError (berth.errdefs)
    ├── NotFound          404, MANIFEST_UNKNOWN, BLOB_UNKNOWN, NAME_UNKNOWN
    ├── Unauthorized      401, UNAUTHORIZED
    ├── PermissionDenied  403, DENIED
    ├── InvalidArgument   400, DIGEST_INVALID, MANIFEST_INVALID …
    │   └── VerificationFailed   the bytes do not match their digest; nothing kept
    ├── NotImplemented    405, UNSUPPORTED; schema1 manifests
    └── Unavailable       connection refused, TLS failure, 5xx, 429 TOOMANYREQUESTS

Every error raised here carries ``codes`` (the registry's codes, maybe empty) and
``status`` from the class.
"""

from __future__ import annotations

import json

from berth import errdefs
from berth.errdefs import BerthError

__all__ = ["VerificationFailed", "error_from_response", "format_errors", "parse_errors"]


class VerificationFailed(errdefs.InvalidArgument):
    """Content from the registry does not hash to the digest it was asked for."""


_BY_CODE: dict[str, type[BerthError]] = {
    "MANIFEST_UNKNOWN": errdefs.NotFound,
    "BLOB_UNKNOWN": errdefs.NotFound,
    "NAME_UNKNOWN": errdefs.NotFound,
    "BLOB_UPLOAD_UNKNOWN": errdefs.NotFound,
    "MANIFEST_BLOB_UNKNOWN": errdefs.NotFound,
    "UNAUTHORIZED": errdefs.Unauthorized,
    "DENIED": errdefs.PermissionDenied,
    "UNSUPPORTED": errdefs.NotImplemented,
    "TOOMANYREQUESTS": errdefs.Unavailable,
    "UNAVAILABLE": errdefs.Unavailable,
}

_BY_STATUS: dict[int, type[BerthError]] = {
    400: errdefs.InvalidArgument,
    401: errdefs.Unauthorized,
    403: errdefs.PermissionDenied,
    404: errdefs.NotFound,
    405: errdefs.NotImplemented,
    409: errdefs.Conflict,
    416: errdefs.InvalidArgument,
    429: errdefs.Unavailable,
}


# What distribution's errcode says for these when the body is empty (a HEAD).
_DEFAULT_TEXT = {
    401: "unauthorized: authentication required",
    403: "denied: requested access to the resource is denied",
}


def parse_errors(body: bytes) -> list[tuple[str, str]]:
    """``(code, message)`` pairs from a registry error body; empty when it has none."""
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return []
    errors = doc.get("errors") if isinstance(doc, dict) else None
    if not isinstance(errors, list):
        # Token servers answer {"details": "..."} or {"error": "..."}.
        if isinstance(doc, dict):
            for key in ("details", "error_description", "error", "message"):
                if isinstance(doc.get(key), str) and doc[key]:
                    return [("", doc[key])]
        return []
    out = []
    for e in errors:
        if isinstance(e, dict):
            code = e.get("code")
            message = e.get("message")
            out.append(
                (code if isinstance(code, str) else "", message if isinstance(message, str) else "")
            )
    return out


def _one(code: str, message: str) -> str:
    words = code.lower().replace("_", " ")
    if words and message:
        return f"{words}: {message}"
    return words or message


def format_errors(errors: list[tuple[str, str]]) -> str:
    return "; ".join(_one(c, m) for c, m in errors)


def error_from_response(
    status: int, reason: str, body: bytes, what: str, *, prefix: str = ""
) -> BerthError:
    """The error for a failed registry request. ``what`` names the request (``GET
    "http://…/v2/…"``) and is used only when the body explains nothing; ``prefix``
    (``manifest for x:y not found``) goes in front of the registry's words."""
    errors = parse_errors(body)
    cls: type[BerthError] | None = None
    for code, _ in errors:
        cls = _BY_CODE.get(code)
        if cls is not None:
            break
    if cls is None:
        cls = _BY_STATUS.get(status) or (
            errdefs.Unavailable if status >= 500 else errdefs.InvalidArgument
        )
    text = format_errors(errors) or _DEFAULT_TEXT.get(status, "")
    if not text:
        text = f"{what}: unexpected status: {status} {reason}".strip()
    err = cls(f"{prefix}: {text}" if prefix else text)
    err.codes = tuple(c for c, _ in errors)  # type: ignore[attr-defined]
    return err
