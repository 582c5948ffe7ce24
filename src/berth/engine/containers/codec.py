"""Dataclass ↔ plain JSON values, driven by the type hints, with a naming function for
the keys. The store uses the field names as they are; the API layer passes Docker's
PascalCase names (:mod:`berth.api.container_wire`).

Supported field types: ``str``, ``int``, ``bool``, ``float``, nested dataclasses,
``list[T]``, ``dict[str, T]`` and ``T | None`` of those. Unknown keys are ignored when
decoding (a newer client's field must not break an older daemon); a key matches a field
case-insensitively when no key matches exactly (Go's ``encoding/json``: docker-py sends
``CPURealtimePeriod`` for ``CpuRealtimePeriod``); wrong types raise
:class:`berth.errdefs.InvalidArgument` naming the field.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable
from typing import Any, TypeVar

from berth import errdefs

__all__ = ["decode", "encode", "same_name"]

T = TypeVar("T")
Namer = Callable[[str], str]

_HINTS: dict[type, dict[str, Any]] = {}


def same_name(name: str) -> str:
    return name


def _hints(cls: type) -> dict[str, Any]:
    h = _HINTS.get(cls)
    if h is None:
        h = _HINTS[cls] = typing.get_type_hints(cls)
    return h


def encode(obj: Any, namer: Namer = same_name) -> Any:
    """A dataclass (or list/dict of them) as plain JSON values."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {namer(f.name): encode(getattr(obj, f.name), namer) for f in dataclasses.fields(obj)}
    if isinstance(obj, list | tuple):
        return [encode(v, namer) for v in obj]
    if isinstance(obj, dict):
        return {k: encode(v, namer) for k, v in obj.items()}
    return obj


def decode(cls: type[T], data: Any, namer: Namer = same_name, where: str = "") -> T:
    """``data`` (a JSON object) as ``cls``; missing keys take the field's default."""
    out: T = _value(cls, data, namer, where or cls.__name__)
    return out


def _value(tp: Any, v: Any, namer: Namer, where: str) -> Any:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if v is None:
            return None
        return _value(args[0], v, namer, where)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        if v is None:
            return tp()
        if not isinstance(v, dict):
            raise errdefs.InvalidArgument(f"{where}: expected an object")
        kw = {}
        hints = _hints(tp)
        folded: dict[str, str] | None = None
        for f in dataclasses.fields(tp):
            key = namer(f.name)
            if key not in v:  # as Go's encoding/json: else a key that differs only in case
                if folded is None:
                    folded = {str(k).lower(): k for k in v}
                key = folded.get(key.lower(), key)
            if key in v:
                val = v[key]
                if val is None and typing.get_origin(hints[f.name]) not in (typing.Union, types.UnionType):
                    continue  # null for a non-optional field: keep the default, as Go does
                kw[f.name] = _value(hints[f.name], val, namer, f"{where}.{key}")
        return tp(**kw)
    if origin is list:
        if v is None:
            return []
        if not isinstance(v, list):
            raise errdefs.InvalidArgument(f"{where}: expected a list")
        (item,) = typing.get_args(tp)
        return [_value(item, x, namer, f"{where}[{i}]") for i, x in enumerate(v)]
    if origin is dict:
        if v is None:
            return {}
        if not isinstance(v, dict):
            raise errdefs.InvalidArgument(f"{where}: expected an object")
        _, item = typing.get_args(tp)
        return {str(k): _value(item, x, namer, f"{where}.{k}") for k, x in v.items()}
    if tp is bool:
        if not isinstance(v, bool):
            raise errdefs.InvalidArgument(f"{where}: expected a boolean")
        return v
    if tp is int:
        if isinstance(v, bool) or not isinstance(v, int | float) or v != int(v):
            raise errdefs.InvalidArgument(f"{where}: expected an integer")
        return int(v)
    if tp is float:
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise errdefs.InvalidArgument(f"{where}: expected a number")
        return float(v)
    if tp is str:
        if not isinstance(v, str):
            raise errdefs.InvalidArgument(f"{where}: expected a string")
        return v
    if tp is Any:
        return v
    raise TypeError(f"codec: unsupported type {tp!r} at {where}")
