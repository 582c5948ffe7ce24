"""The ``filters`` query parameter (moby ``api/types/filters``; README §3.4).

Clients send a JSON object mapping a filter name to its values, in one of two forms:

- map form (the docker CLI): ``{"label": {"a=b": true}, "status": {"running": true}}``;
- list form (docker-py, compose, old CLIs at API < 1.22): ``{"label": ["a=b", "c"]}``.

Both become one ``dict[str, list[str]]`` (values in the order sent, without duplicates).
As in moby the map form's booleans are not consulted: a listed value is a wanted value.
:func:`encode` writes the map form, which every client and dockerd accepts.
"""

from __future__ import annotations

import re
import time

from berth import errdefs
from berth.errdefs import InvalidArgument
from berth.logs.timefmt import parse_time
from berth.oci.fastjson import dumps, loads

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

__all__ = ["Filters", "check_keys", "encode", "parse", "parse_ts", "until_cutoff"]

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


def parse_ts(value: str) -> int:
    """``since``/``until``: unix seconds with optional fraction (what the CLI sends)."""
    if not value:
        return 0
    try:
        sec, _, frac = value.partition(".")
        return int(sec) * 1_000_000_000 + int((frac + "000000000")[:9] or 0)
    except ValueError:
        try:
            return parse_time(value)
        except ValueError:
            raise errdefs.InvalidArgument(f"invalid timestamp: {value!r}") from None



_GO_DURATION = re.compile(r"(\d+(?:\.\d*)?(?:ns|us|µs|ms|s|m|h))+")
_GO_UNITS = {"ns": 1, "us": 1_000, "µs": 1_000, "ms": 1_000_000, "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9}


def until_cutoff(value: str) -> int:
    """The ``until`` prune filter as moby's ``timetypes.GetTimestamp``: a Go duration
    before now (``10m``, ``1h30m``), a unix timestamp, or an RFC 3339 date; in ns."""
    if _GO_DURATION.fullmatch(value):
        ns = sum(
            int(float(num) * _GO_UNITS[unit])
            for num, unit in re.findall(r"(\d+(?:\.\d*)?)(ns|us|µs|ms|s|m|h)", value)
        )
        return time.time_ns() - ns
    if value.replace(".", "", 1).isdigit():
        return parse_ts(value)
    try:
        return parse_time(value)
    except ValueError:
        raise errdefs.InvalidArgument(f"invalid value for until filter: {value}") from None


