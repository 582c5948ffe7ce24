"""Typed reads of parsed JSON with errors that name the field.

``_Obj(doc, "manifest").obj("config").digest("digest")`` raises
``InvalidArgument("manifest: config.digest: invalid checksum digest format: 'x'")``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from berth.errdefs import InvalidArgument
from berth.oci.digest import Digest


def _kind(v: object) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int | float):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    if isinstance(v, dict):
        return "object"
    return type(v).__name__


class _Obj:
    __slots__ = ("_d", "_path", "_root")

    def __init__(self, value: object, root: str, path: str = "") -> None:
        self._root = root
        self._path = path
        if not isinstance(value, dict):
            self.fail(f"must be an object, got {_kind(value)}")
        self._d: dict[str, Any] = value  # type: ignore[assignment]

    def where(self, key: str = "") -> str:
        p = f"{self._path}.{key}" if self._path and key else (self._path or key)
        return f"{self._root}: {p}" if p else self._root

    def fail(self, problem: str, key: str = "") -> None:
        raise InvalidArgument(f"{self.where(key)}: {problem}")

    @property
    def doc(self) -> dict[str, Any]:
        return self._d

    def has(self, key: str) -> bool:
        return self._d.get(key) is not None

    def raw(self, key: str) -> Any:
        return self._d.get(key)

    def string(self, key: str, required: bool = False) -> str:
        v = self._d.get(key)
        if v is None:
            if required:
                self.fail("is required", key)
            return ""
        if not isinstance(v, str):
            self.fail(f"must be a string, got {_kind(v)}", key)
        return v  # type: ignore[no-any-return]

    def integer(self, key: str, required: bool = False) -> int:
        v = self._d.get(key)
        if v is None:
            if required:
                self.fail("is required", key)
            return 0
        if isinstance(v, bool) or not isinstance(v, int):
            self.fail(f"must be an integer, got {_kind(v)}", key)
        return v  # type: ignore[no-any-return]

    def boolean(self, key: str) -> bool:
        v = self._d.get(key)
        if v is None:
            return False
        if not isinstance(v, bool):
            self.fail(f"must be a boolean, got {_kind(v)}", key)
        return v  # type: ignore[no-any-return]

    def digest(self, key: str) -> Digest:
        s = self.string(key, required=True)
        try:
            return Digest(s)
        except InvalidArgument as exc:
            raise InvalidArgument(f"{self.where(key)}: {exc.message}") from None

    def str_list(self, key: str) -> tuple[str, ...] | None:
        """None when absent or null (Docker tells null and [] apart for Cmd)."""
        v = self._d.get(key)
        if v is None:
            return None
        if not isinstance(v, list):
            self.fail(f"must be an array of strings, got {_kind(v)}", key)
        for i, s in enumerate(v):
            if not isinstance(s, str):
                self.fail(f"must be a string, got {_kind(s)}", f"{key}[{i}]")
        return tuple(v)

    def str_map(self, key: str) -> dict[str, str]:
        v = self._d.get(key)
        if v is None:
            return {}
        if not isinstance(v, dict):
            self.fail(f"must be an object of strings, got {_kind(v)}", key)
        for k, s in v.items():
            if not isinstance(s, str):
                self.fail(f"must be a string, got {_kind(s)}", f"{key}[{k!r}]")
        return dict(v)

    def set_map(self, key: str) -> tuple[str, ...]:
        """Go's ``map[string]struct{}`` (ExposedPorts, Volumes): the keys, sorted."""
        v = self._d.get(key)
        if v is None:
            return ()
        if not isinstance(v, dict):
            self.fail(f"must be an object, got {_kind(v)}", key)
        return tuple(sorted(v))

    def obj(self, key: str, required: bool = False) -> _Obj | None:
        v = self._d.get(key)
        if v is None:
            if required:
                self.fail("is required", key)
            return None
        return _Obj(v, self._root, self._sub(key))

    def objs(self, key: str, required: bool = False) -> Iterator[_Obj]:
        v = self._d.get(key)
        if v is None:
            if required:
                self.fail("is required", key)
            return
        if not isinstance(v, list):
            self.fail(f"must be an array, got {_kind(v)}", key)
        for i, item in enumerate(v):
            yield _Obj(item, self._root, self._sub(f"{key}[{i}]"))

    def _sub(self, key: str) -> str:
        return f"{self._path}.{key}" if self._path else key
