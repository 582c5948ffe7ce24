"""The ``filters`` query parameter (moby ``api/types/filters``; README §3.4).

Clients send a JSON object mapping a filter name to its values, in one of two forms:

- map form (the docker CLI): ``{"label": {"a=b": true}, "status": {"running": true}}``;
- list form (docker-py, compose, old CLIs at API < 1.22): ``{"label": ["a=b", "c"]}``.

Both become one ``dict[str, list[str]]`` (values in the order sent, without duplicates).
As in moby the map form's booleans are not consulted: a listed value is a wanted value.
:func:`encode` writes the map form, which every client and dockerd accepts.
"""

from __future__ import annotations

from berth.errdefs import InvalidArgument
from berth.oci.fastjson import dumps, loads

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

__all__ = ["Filters", "check_keys", "encode", "parse"]

Filters = dict[str, list[str]]


def parse(raw: str) -> Filters:
    """Normalise a ``filters`` value; an empty value means no filters."""
    if not raw.strip():
        return {}
    try:
        doc = loads(raw)
    except ValueError as exc:
        raise InvalidArgument(f"invalid filters {raw!r}: {exc}") from None
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise InvalidArgument(f"invalid filters {raw!r}: expected a JSON object")
    out: Filters = {}
    for key, values in doc.items():
        if isinstance(values, dict):
            items: Iterable[object] = values.keys()
        elif isinstance(values, list):
            items = values
        elif isinstance(values, str):
            items = [values]
        else:
            raise InvalidArgument(f"invalid filter {key!r}: values must be a list or an object")
        seen = out.setdefault(key, [])
        for v in items:
            if not isinstance(v, str):
                raise InvalidArgument(f"invalid filter {key!r}: value {v!r} is not a string")
            if v not in seen:
                seen.append(v)
    return out


def check_keys(filters: Mapping[str, object], accepted: Iterable[str]) -> None:
    """InvalidArgument naming the first filter not in ``accepted`` (moby's wording)."""
    ok = set(accepted)
    for key in filters:
        if key not in ok:
            raise InvalidArgument(f"invalid filter '{key}'")


def encode(filters: Mapping[str, Iterable[str]]) -> str:
    """The map form of ``filters``; empty filters encode as ``""`` (send nothing)."""
    doc = {k: dict.fromkeys(v, True) for k, v in filters.items() if v}
    return dumps(doc) if doc else ""
