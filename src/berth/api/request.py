"""An Engine API request as handlers see it: path parameters, query, headers, body.

Query values follow dockerd's readers (moby ``api/server/httputils``): booleans are
false iff the value is one of ``""``, ``0``, ``no``, ``false``, ``none`` (any case,
surrounding blanks ignored) and true otherwise, whatever the client sends (the CLI sends
``1``, docker-py ``True``/``False``); ``filters`` is parsed by :mod:`berth.api.filters`.
"""

from __future__ import annotations

from typing import Any, Protocol
from urllib.parse import parse_qsl, unquote

from berth.api import filters as _filters
from berth.api.wire import API_VERSION
from berth.errdefs import InvalidArgument

__all__ = ["Body", "Request", "parse_bool"]

_FALSE = frozenset({"", "0", "no", "false", "none"})


def parse_bool(value: str) -> bool:
    return value.strip().lower() not in _FALSE


class Body(Protocol):
    """The request body as it arrives (Content-Length, chunked, or none)."""

    async def read(self, n: int = 65536) -> bytes:
        """Up to ``n`` bytes; ``b""`` at the end of the body."""
        ...

    async def read_all(self, limit: int) -> bytes:
        """The whole body; InvalidArgument if longer than ``limit``."""
        ...


class Request:
    """``path`` is percent-decoded and, once routed, has its ``/vX.Y`` prefix removed;
    ``api_version`` is the prefix's version (the current one when unversioned);
    ``params`` are the route's ``{name}`` values; ``headers`` have lowercase names."""

    __slots__ = (
        "_query",
        "api_version",
        "body",
        "headers",
        "http_version",
        "method",
        "params",
        "path",
        "raw_query",
        "target",
    )

    def __init__(
        self,
        method: str,
        target: str,
        headers: dict[str, str],
        body: Body,
        http_version: str = "HTTP/1.1",
    ) -> None:
        self.method = method
        self.target = target
        raw_path, _, self.raw_query = target.partition("?")
        self.path = unquote(raw_path)
        self.headers = headers
        self.body = body
        self.http_version = http_version
        self.api_version = API_VERSION
        self.params: dict[str, str] = {}
        self._query: dict[str, list[str]] | None = None

    def __repr__(self) -> str:
        return f"Request({self.method} {self.target})"

    # --- headers ---

    def header(self, name: str, default: str = "") -> str:
        return self.headers.get(name.lower(), default)

    def header_tokens(self, name: str) -> set[str]:
        """A comma-separated header's tokens, lowercased (``Connection: keep-alive, Upgrade``)."""
        return {t.strip().lower() for t in self.header(name).split(",") if t.strip()}

    @property
    def wants_upgrade(self) -> bool:
        return "upgrade" in self.header_tokens("connection") and self.header("upgrade").lower() == "tcp"

    # --- query ---

    @property
    def query(self) -> dict[str, list[str]]:
        if self._query is None:
            q: dict[str, list[str]] = {}
            for k, v in parse_qsl(self.raw_query, keep_blank_values=True):
                q.setdefault(k, []).append(v)
            self._query = q
        return self._query

    def q(self, name: str, default: str = "") -> str:
        values = self.query.get(name)
        return values[0] if values else default

    def q_has(self, name: str) -> bool:
        return name in self.query

    def q_bool(self, name: str, default: bool = False) -> bool:
        values = self.query.get(name)
        return parse_bool(values[0]) if values else default

    def q_int(self, name: str, default: int = 0) -> int:
        value = self.q(name).strip()
        if not value:
            return default
        try:
            return int(value)
        except ValueError:
            raise InvalidArgument(f"invalid value for {name}: {value!r} is not an integer") from None

    def filters(self) -> _filters.Filters:
        return _filters.parse(self.q("filters"))

    # --- body ---

    async def json(self, limit: int = 16 << 20) -> Any:
        """The body as JSON; None when empty. A body with a Content-Type other than JSON
        is refused as dockerd does."""
        data = await self.body.read_all(limit)
        if not data.strip():
            return None
        ctype = self.header("content-type").split(";")[0].strip().lower()
        if ctype and ctype != "application/json":
            raise InvalidArgument(f"unsupported Content-Type header ({ctype}): must be 'application/json'")
        import json

        try:
            return json.loads(data)
        except ValueError as exc:
            raise InvalidArgument(f"invalid JSON: {exc}") from None
