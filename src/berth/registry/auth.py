"""Authentication vocabulary and the pieces without I/O.

A registry that wants credentials answers ``401`` with ``WWW-Authenticate`` (RFC 7235):

- ``Basic realm="…"`` — send ``Authorization: Basic base64(user:password)`` on every
  request (htpasswd registries).
- ``Bearer realm="https://auth/token",service="registry",scope="repository:a/b:pull"``
  — the token flow (distribution spec, docs/spec/auth/token.md): ``GET realm?service=…&
  scope=…`` (anonymously, or with Basic credentials when the user logged in), take
  ``token`` (or ``access_token``) from the JSON answer and send ``Authorization: Bearer
  <token>``. A token is good for the **scope** it was asked for (``repository:<name>:
  pull`` or ``pull,push``), so tokens are cached per (realm, service, scopes) until they
  expire.

:func:`parse_challenges` reads the header; :class:`Credentials` is a user/password (or
an identity token); :class:`TokenCache` is the thread-safe token memory.
"""

from __future__ import annotations

import base64
import threading
import time
from dataclasses import dataclass, field

__all__ = [
    "Challenge",
    "Credentials",
    "TokenCache",
    "basic_header",
    "parse_challenges",
    "repository_scope",
]


@dataclass(frozen=True)
class Challenge:
    """One auth scheme offered by a registry: ``scheme`` lowercased, ``params`` with
    lowercased keys (``realm``, ``service``, ``scope``, ``error`` …)."""

    scheme: str
    params: dict[str, str] = field(default_factory=dict)

    @property
    def realm(self) -> str:
        return self.params.get("realm", "")


@dataclass(frozen=True)
class Credentials:
    """What a user logged in with. ``identity_token`` (an OAuth2 refresh token, as
    Docker stores it) replaces the password when set."""

    username: str = ""
    password: str = ""
    identity_token: str = ""

    def __bool__(self) -> bool:
        return bool(self.username or self.identity_token)

    def __repr__(self) -> str:
        return f"Credentials(username={self.username!r}, password=***)"


def basic_header(creds: Credentials) -> str:
    raw = f"{creds.username}:{creds.password}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")


def repository_scope(name: str, actions: str) -> str:
    """``repository:<path>:<actions>`` (``name`` is the path inside the registry)."""
    return f"repository:{name}:{actions}"


_SEPARATORS = set(" \t,=")


def _token(s: str, i: int) -> tuple[str, int]:
    j = i
    while j < len(s) and s[j] not in _SEPARATORS and s[j] != '"':
        j += 1
    return s[i:j], j


def _quoted(s: str, i: int) -> tuple[str, int]:
    # s[i] == '"'
    out = []
    j = i + 1
    while j < len(s):
        c = s[j]
        if c == "\\" and j + 1 < len(s):
            out.append(s[j + 1])
            j += 2
            continue
        if c == '"':
            return "".join(out), j + 1
        out.append(c)
        j += 1
    return "".join(out), j


def _skip(s: str, i: int, chars: str = " \t") -> int:
    while i < len(s) and s[i] in chars:
        i += 1
    return i


def parse_challenges(header: str) -> list[Challenge]:
    """Every challenge in a ``WWW-Authenticate`` value (several may share one header:
    ``Basic realm="a", Bearer realm="b",service="c"``). Malformed parts are skipped."""
    out: list[Challenge] = []
    s = header
    i = 0
    current: Challenge | None = None
    while i < len(s):
        i = _skip(s, i, " \t,")
        if i >= len(s):
            break
        tok, j = _token(s, i)
        if not tok:
            # a stray quote or '=': skip one character
            i = j + 1 if j == i else j
            continue
        k = _skip(s, j)
        if k < len(s) and s[k] == "=" and current is not None:
            k = _skip(s, k + 1)
            if k < len(s) and s[k] == '"':
                value, i = _quoted(s, k)
            else:
                value, i = _token(s, k)
            current.params[tok.lower()] = value
            continue
        current = Challenge(tok.lower(), {})
        out.append(current)
        i = j
    return out


@dataclass
class _Token:
    value: str
    expires_at: float


class TokenCache:
    """Bearer tokens by key until they expire (minus a margin). Thread-safe: layer
    transfers share it."""

    MARGIN = 10.0

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tokens: dict[tuple[str, ...], _Token] = {}

    def get(self, key: tuple[str, ...]) -> str | None:
        with self._lock:
            t = self._tokens.get(key)
            if t is None:
                return None
            if t.expires_at <= time.monotonic():
                del self._tokens[key]
                return None
            return t.value

    def put(self, key: tuple[str, ...], token: str, expires_in: float) -> None:
        # distribution: a token without expires_in lasts 60 seconds.
        life = max(expires_in if expires_in > 0 else 60.0, 0.0)
        with self._lock:
            self._tokens[key] = _Token(token, time.monotonic() + max(life - self.MARGIN, life / 2))

    def clear(self) -> None:
        with self._lock:
            self._tokens.clear()
