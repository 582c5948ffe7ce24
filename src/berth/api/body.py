"""Fields of a JSON request body, checked: a wrong type is a 400 naming the key."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from berth.errdefs import InvalidArgument

__all__ = ["field_bool", "field_str", "field_str_list", "field_str_map", "json_object"]


def json_object(doc: Any, what: str) -> dict[str, Any]:
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise InvalidArgument(f"invalid {what}: expected a JSON object")
    return doc


def field_str(doc: Mapping[str, Any], key: str) -> str:
    value = doc.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidArgument(f"invalid {key}: expected a string")
    return value


def field_bool(doc: Mapping[str, Any], key: str) -> bool:
    value = doc.get(key)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise InvalidArgument(f"invalid {key}: expected a boolean")
    return value


def field_str_map(doc: Mapping[str, Any], key: str) -> dict[str, str]:
    value = doc.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise InvalidArgument(f"invalid {key}: expected an object of strings")
    return {str(k): v for k, v in value.items()}


def field_str_list(doc: Mapping[str, Any], key: str) -> list[str]:
    value = doc.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidArgument(f"invalid {key}: expected a list of strings")
    return list(value)
