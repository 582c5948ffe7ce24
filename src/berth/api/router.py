"""Routes: a method and a path pattern to a handler.

Patterns are paths whose segments may be parameters: ``{id}`` matches one segment (no
``/``), ``{name:.*}`` matches the rest greedily, slashes included, as dockerd's gorilla/mux
patterns do — image names are not escaped in paths (``/images/127.0.0.1:5055/a/b/push``),
so image routes are written ``/images/{name:.*}/push`` and matched by their suffix.
A fixed path (``/images/json``) wins over any pattern that also matches it; patterns are
tried in the order they were added. A path matched with the wrong method is not found, as
in dockerd (its router answers 404 ``page not found`` for both).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from berth.api.request import Request
from berth.api.response import Reply

__all__ = ["Handler", "Match", "Router"]

Handler = Callable[[Request], Awaitable[Reply]]

_PARAM = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?::([^}]*))?\}")


def _compile(pattern: str) -> re.Pattern[str]:
    if not pattern.startswith("/"):
        raise ValueError(f"route pattern {pattern!r} must start with '/'")
    out = []
    pos = 0
    for m in _PARAM.finditer(pattern):
        out.append(re.escape(pattern[pos : m.start()]))
        name, rx = m.group(1), m.group(2)
        if rx is None:
            rx = "[^/]+"
        elif rx != ".*":
            raise ValueError(f"route pattern {pattern!r}: only {{name}} and {{name:.*}} are supported")
        out.append(f"(?P<{name}>{rx})")
        pos = m.end()
    out.append(re.escape(pattern[pos:]))
    return re.compile("".join(out) + r"\Z")


class Match:
    __slots__ = ("handler", "params", "pattern")

    def __init__(self, handler: Handler, params: dict[str, str], pattern: str) -> None:
        self.handler = handler
        self.params = params
        self.pattern = pattern


class Router:
    def __init__(self) -> None:
        self._static: dict[tuple[str, str], Handler] = {}
        self._dynamic: list[tuple[str, str, re.Pattern[str], Handler]] = []
        self._seen: set[tuple[str, str]] = set()

    def add(self, method: str, pattern: str, handler: Handler) -> None:
        key = (method.upper(), pattern)
        if key in self._seen:
            raise ValueError(f"route {method} {pattern} is already registered")
        self._seen.add(key)
        if "{" not in pattern:
            _compile(pattern)  # validates
            self._static[key] = handler
        else:
            self._dynamic.append((key[0], pattern, _compile(pattern), handler))

    def route(self, method: str, pattern: str) -> Callable[[Handler], Handler]:
        """Decorator form of :meth:`add`."""

        def deco(handler: Handler) -> Handler:
            self.add(method, pattern, handler)
            return handler

        return deco

    def match(self, method: str, path: str) -> Match | None:
        h = self._static.get((method, path))
        if h is not None:
            return Match(h, {}, path)
        for m, pattern, rx, handler in self._dynamic:
            if m != method:
                continue
            found = rx.match(path)
            if found is not None:
                return Match(handler, found.groupdict(), pattern)
        return None

    def routes(self) -> list[tuple[str, str]]:
        """Every (method, pattern), in registration order of each kind."""
        return list(self._static) + [(m, p) for m, p, _, _ in self._dynamic]
