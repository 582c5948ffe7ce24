"""Docker's volume filters (``docker volume ls --filter``, ``volume prune --filter``).

- ``name=<re>``      the name matches (exactly, or as an unanchored regular expression,
                     as moby's ``filters.Args.Match``)
- ``driver=<name>``  the driver is (exactly) this one
- ``label=<k>`` / ``label=<k>=<v>``   has the label (with that value)
- ``label!=<k>`` / ``label!=<k>=<v>`` has not (several: not all of them, as moby)
- ``dangling=true|false|1|0``          no container uses it / some container does
- ``all=true``       (prune only) every unused volume, not only anonymous ones

Values of ``name``, ``driver`` are alternatives (any may match), those of ``label`` must
all match; different filters must all match.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence

from berth.errdefs import InvalidArgument
from berth.volumes._types import Volume

__all__ = ["LIST_FILTERS", "PRUNE_FILTERS", "check", "dangling_value", "matches", "parse_bool"]

LIST_FILTERS = ("dangling", "driver", "label", "label!", "name")
PRUNE_FILTERS = ("label", "label!", "all")

Filters = Mapping[str, Sequence[str]]


def check(filters: Filters, accepted: Sequence[str]) -> None:
    for key in filters:
        if key not in accepted:
            raise InvalidArgument(f"invalid filter '{key}'")


def _go_list(values: Sequence[str]) -> str:
    return "[" + " ".join(values) + "]"


def parse_bool(key: str, values: Sequence[str]) -> bool:
    """A boolean filter's value; moby accepts ``true``/``1`` and ``false``/``0``."""
    if any(v.lower() in ("true", "1") for v in values):
        return True
    if all(v.lower() in ("false", "0") for v in values):
        return False
    raise InvalidArgument(f"invalid filter '{key}={_go_list(values)}'")


def dangling_value(filters: Filters) -> bool | None:
    values = filters.get("dangling")
    return None if not values else parse_bool("dangling", values)


def _name_matches(pattern: str, name: str) -> bool:
    if pattern == name:
        return True
    try:
        return re.search(pattern, name) is not None
    except re.error:
        return False


def _label_matches(want: str, labels: Mapping[str, str]) -> bool:
    key, eq, value = want.partition("=")
    if key not in labels:
        return False
    return not eq or labels[key] == value


def matches(filters: Filters, v: Volume, in_use: Callable[[str], bool]) -> bool:
    """Whether ``v`` passes every filter; ``in_use`` is asked only when ``dangling``
    is given."""
    names = filters.get("name")
    if names and not any(_name_matches(p, v.name) for p in names):
        return False
    drivers = filters.get("driver")
    if drivers and v.driver not in drivers:
        return False
    labels = filters.get("label")
    if labels and not all(_label_matches(w, v.labels) for w in labels):
        return False
    not_labels = filters.get("label!")
    if not_labels and all(_label_matches(w, v.labels) for w in not_labels):
        return False
    dangling = dangling_value(filters)
    return dangling is None or dangling != in_use(v.name)
