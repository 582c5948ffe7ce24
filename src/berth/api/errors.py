"""Errors at the wire: an errdefs category becomes an HTTP status and a message body.

Body ``{"message": "…"}`` with ``Content-Type: application/json`` exactly (the moby client
decodes the message only for that exact type; README §3.5). Requests made at an API
version older than 1.23 get the message as text/plain, as dockerd answers them. Anything
that is not a :class:`berth.errdefs.BerthError` is a bug: it is logged with its traceback
and answered 500 with one line naming its type, never the traceback.
"""

from __future__ import annotations

import logging

from berth.api.response import Response, encode_json
from berth.api.wire import JSON_ERRORS_SINCE, MEDIA_JSON, MEDIA_TEXT, status_for, version_less
from berth.errdefs import BerthError

__all__ = ["error_response", "message_of"]

log = logging.getLogger("berth.api")


def message_of(exc: BaseException) -> str:
    """The one-line message sent for ``exc``."""
    if isinstance(exc, BerthError):
        return exc.message
    first = (str(exc).strip().splitlines() or [""])[0][:200]
    name = type(exc).__name__
    return f"internal error: {name}: {first}" if first else f"internal error: {name}"


def error_response(exc: BaseException, api_version: str, what: str = "") -> Response:
    """The reply for ``exc`` raised while serving a request made at ``api_version``;
    ``what`` names the request in the log."""
    if not isinstance(exc, BerthError):
        log.error("unexpected error serving %s", what or "request", exc_info=exc)
    status = status_for(exc)
    message = message_of(exc)
    if version_less(api_version, JSON_ERRORS_SINCE):
        headers = {"X-Content-Type-Options": "nosniff"}
        return Response(status, (message + "\n").encode(), headers, MEDIA_TEXT)
    return Response(status, encode_json({"message": message}), None, MEDIA_JSON)
