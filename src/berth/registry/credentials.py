"""Credential files: ``~/.berth/config.json`` (written by ``login``) and
``~/.docker/config.json`` (read too), both in Docker's shape::

    {"auths": {"127.0.0.1:5000": {"auth": "<base64 user:password>"},
               "https://index.docker.io/v1/": {"auth": "…", "identitytoken": "…"}}}

Keys are matched on the registry's host[:port] after dropping a scheme and a path, so
``https://index.docker.io/v1/`` is ``index.docker.io``; Docker Hub (``docker.io``) is
looked up under its historical names too. The first file that knows the registry wins.
``credsStore``/``credHelpers`` (external helpers) are not consulted.

The berth file is written atomically with mode 0600; other keys in it are kept.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import tempfile
from collections.abc import Sequence
from typing import Any

from berth.errdefs import InvalidArgument, NotFound, from_oserror
from berth.registry.auth import Credentials

__all__ = ["DOCKER_HUB_KEY", "CredentialStore", "default_paths", "registry_key"]

DOCKER_HUB_KEY = "https://index.docker.io/v1/"
_HUB_NAMES = ("docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com")


def registry_key(server: str) -> str:
    """``https://host:port/v1/`` → ``host:port``; Docker Hub's names → ``docker.io``."""
    s = server.strip()
    for scheme in ("https://", "http://"):
        if s.startswith(scheme):
            s = s[len(scheme) :]
    s = s.split("/", 1)[0].lower()
    return "docker.io" if s in _HUB_NAMES else s


def default_paths(home: str | None = None) -> tuple[str, list[str]]:
    """(the file berth writes, the files it reads in order)."""
    home = home or os.path.expanduser("~")
    berth = os.path.join(home, ".berth", "config.json")
    docker_dir = os.environ.get("DOCKER_CONFIG") or os.path.join(home, ".docker")
    return berth, [berth, os.path.join(docker_dir, "config.json")]


def _load(path: str) -> dict[str, Any]:
    try:
        with open(path, "rb") as f:
            doc = json.loads(f.read() or b"{}")
    except FileNotFoundError:
        return {}
    except ValueError as exc:
        raise InvalidArgument(f"credentials file {path!r}: invalid JSON: {exc}") from None
    except OSError as exc:
        raise from_oserror(f"read credentials file {path!r}", exc) from exc
    if not isinstance(doc, dict):
        raise InvalidArgument(f"credentials file {path!r}: not a JSON object")
    return doc


def _decode(entry: object, path: str, key: str) -> Credentials | None:
    if not isinstance(entry, dict):
        return None
    user = entry.get("username") or ""
    password = entry.get("password") or ""
    auth = entry.get("auth")
    if isinstance(auth, str) and auth:
        try:
            raw = base64.b64decode(auth, validate=False).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise InvalidArgument(f"credentials file {path!r}: {key}: invalid auth") from None
        user, sep, password = raw.partition(":")
        if not sep:
            raise InvalidArgument(f"credentials file {path!r}: {key}: invalid auth")
    token = entry.get("identitytoken") or ""
    creds = Credentials(str(user), str(password), str(token))
    return creds if creds else None


class CredentialStore:
    """Reads credentials from ``read_paths`` in order; writes to ``write_path``."""

    def __init__(
        self, write_path: str | None = None, read_paths: Sequence[str] | None = None
    ) -> None:
        default_write, default_read = default_paths()
        self.write_path = write_path or default_write
        self.read_paths = (
            list(read_paths)
            if read_paths is not None
            else (default_read if write_path is None else [self.write_path])
        )

    def get(self, registry: str) -> Credentials:
        """The credentials for ``registry`` (host[:port] or ``docker.io``); empty ones when
        none are stored."""
        want = registry_key(registry)
        for path in self.read_paths:
            auths = _load(path).get("auths")
            if not isinstance(auths, dict):
                continue
            for key, entry in auths.items():
                if registry_key(key) == want:
                    creds = _decode(entry, path, key)
                    if creds:
                        return creds
        return Credentials()

    def store(self, registry: str, creds: Credentials) -> None:
        key = registry_key(registry)
        if key == "docker.io":
            key = DOCKER_HUB_KEY
        doc = _load(self.write_path)
        auths = doc.get("auths")
        if not isinstance(auths, dict):
            auths = doc["auths"] = {}
        for k in [k for k in auths if registry_key(k) == registry_key(key)]:
            del auths[k]
        entry: dict[str, str] = {
            "auth": base64.b64encode(f"{creds.username}:{creds.password}".encode()).decode()
        }
        if creds.identity_token:
            entry["identitytoken"] = creds.identity_token
        auths[key] = entry
        self._write(doc)

    def erase(self, registry: str) -> None:
        """Forget ``registry``; NotFound when berth's file does not know it."""
        want = registry_key(registry)
        doc = _load(self.write_path)
        auths = doc.get("auths")
        keys = [k for k in auths if registry_key(k) == want] if isinstance(auths, dict) else []
        if not keys:
            raise NotFound(f"not logged in to {registry}")
        assert isinstance(auths, dict)
        for k in keys:
            del auths[k]
        self._write(doc)

    def _write(self, doc: dict[str, Any]) -> None:
        path = self.write_path
        d = os.path.dirname(path) or "."
        try:
            os.makedirs(d, 0o700, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".config-", dir=d)
            try:
                os.fchmod(fd, 0o600)
                with os.fdopen(fd, "wb") as f:
                    f.write(json.dumps(doc, indent="\t").encode() + b"\n")
                    f.flush()
                    os.fsync(f.fileno())
                os.rename(tmp, path)
            except BaseException:
                try:
                    os.unlink(tmp)
                except FileNotFoundError:
                    pass
                raise
        except OSError as exc:
            raise from_oserror(f"write credentials file {path!r}", exc) from exc
