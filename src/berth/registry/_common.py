"""Small things shared by the pull and push sides."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit, urlunsplit

from berth.oci.digest import Digest
from berth.registry.transport import Response

__all__ = ["Progress", "ProgressFn", "media_type_of", "with_query"]


@dataclass(frozen=True)
class Progress:
    """One step of a transfer, for progress display. ``status``: ``waiting``,
    ``downloading``, ``exists``, ``complete`` (pull); ``uploading``, ``exists``,
    ``mounted``, ``pushed`` (push)."""

    digest: Digest
    status: str
    current: int = 0
    total: int = 0


ProgressFn = Callable[[Progress], None]


def media_type_of(resp: Response) -> str | None:
    ct = resp.header("Content-Type").split(";", 1)[0].strip()
    if ct in ("", "application/json", "text/plain", "application/octet-stream"):
        return None
    return ct


def with_query(location: str, params: dict[str, str]) -> str:
    u = urlsplit(location)
    q = (u.query + "&" if u.query else "") + urlencode(params)
    return urlunsplit((u.scheme, u.netloc, u.path, q, u.fragment))
