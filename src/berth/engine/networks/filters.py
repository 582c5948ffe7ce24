"""The filters of ``GET /networks`` and ``POST /networks/prune``, as dockerd applies them
(moby ``daemon/network/filter.go``, ``daemon/prune.go``, ``api/types/filters``). Pure:
networks in, networks out; what is in use is told by the caller.

List filters (values of one key are alternatives, keys must all hold):

- ``driver``, ``scope`` — exact;
- ``name``, ``id`` — dockerd's ``Match``: the exact value, else the value as an unanchored
  regular expression, so ``name=web`` finds ``myweb1`` and ``id=3f2a`` any id containing it;
- ``label`` — ``key`` or ``key=value``; *every* value must hold;
- ``dangling`` — one of ``true``/``1`` (user networks no container uses) or
  ``false``/``0`` (networks in use, and the built-in ones, which are never dangling);
- ``type`` — ``custom`` (user-defined) or ``builtin`` (``bridge``, ``host``, ``none``).

Prune filters: ``until`` (one value; resolved by the API into a cutoff in nanoseconds
since the epoch, sent as a decimal string: networks created after it are kept),
``label`` (as above) and ``label!`` (a network matching *all* of them is kept).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence

from berth.engine.networks.model import Network
from berth.errdefs import InvalidArgument
from berth.logs.timefmt import parse_time

__all__ = [
    "LIST_FILTERS",
    "PRUNE_FILTERS",
    "match_kv",
    "match_list",
    "prune_match",
    "select",
    "validate_list",
    "validate_prune",
]

LIST_FILTERS = ("dangling", "driver", "id", "label", "name", "scope", "type")
PRUNE_FILTERS = ("label", "label!", "until")

_DANGLING = {"1": True, "true": True, "0": False, "false": False}


def _check_keys(filters: Mapping[str, object], accepted: Iterable[str]) -> None:
    ok = set(accepted)
    for key in filters:
        if key not in ok:
            raise InvalidArgument(f"invalid filter '{key}'")


def validate_list(filters: Mapping[str, Sequence[str]]) -> None:
    """InvalidArgument with dockerd's message for a filter ``GET /networks`` refuses."""
    _check_keys(filters, LIST_FILTERS)
    dangling = filters.get("dangling") or []
    if len(dangling) > 1:
        raise InvalidArgument('got more than one value for filter key "dangling"')
    if dangling and dangling[0] not in _DANGLING:
        raise InvalidArgument(
            'invalid value for filter \'dangling\', must be "true" (or "1"), or "false" (or "0")'
        )
    for t in filters.get("type") or []:
        if t not in ("custom", "builtin"):
            raise InvalidArgument(f"invalid filter: 'type'='{t}'")


def validate_prune(filters: Mapping[str, Sequence[str]]) -> None:
    """InvalidArgument for a filter ``POST /networks/prune`` refuses (the ``until``
    value itself is checked where it is parsed, in the API)."""
    _check_keys(filters, PRUNE_FILTERS)
    if len(filters.get("until") or []) > 1:
        raise InvalidArgument("more than one until filter specified")


def match_list(values: Sequence[str], source: str) -> bool:
    """moby's ``Args.Match``: a value equal to ``source`` or, as a regular expression,
    found in it (a value that is not a valid expression only matches exactly)."""
    for v in values:
        if v == source:
            return True
        try:
            if re.search(v, source):
                return True
        except re.error:
            continue
    return False


def match_kv(values: Sequence[str], labels: Mapping[str, str]) -> bool:
    """moby's ``Args.MatchKVList``: every ``key`` present, every ``key=value`` equal."""
    for v in values:
        key, eq, want = v.partition("=")
        if key not in labels or (eq and labels[key] != want):
            return False
    return True


def _keep(n: Network, filters: Mapping[str, Sequence[str]]) -> bool:
    if "driver" in filters and n.driver not in filters["driver"]:
        return False
    if "name" in filters and not match_list(filters["name"], n.name):
        return False
    if "id" in filters and not match_list(filters["id"], n.id):
        return False
    if "label" in filters and not match_kv(filters["label"], n.labels):
        return False
    return not ("scope" in filters and n.scope not in filters["scope"])


def select(
    networks: Iterable[Network],
    filters: Mapping[str, Sequence[str]],
    in_use: Callable[[Network], bool] = lambda n: False,
) -> list[Network]:
    """The networks ``filters`` keep, in their order; ``in_use`` is asked only when a
    ``dangling`` filter is given. Call :func:`validate_list` first."""
    out = [n for n in networks if _keep(n, filters)]
    dangling = filters.get("dangling") or []
    if dangling:
        want = _DANGLING[dangling[0]]
        out = [n for n in out if (not n.builtin and not in_use(n)) == want]
    types = filters.get("type") or []
    if types:
        out = [n for n in out if ("builtin" if n.builtin else "custom") in types]
    return out


def prune_match(n: Network, filters: Mapping[str, Sequence[str]]) -> bool:
    """Whether the prune ``filters`` let ``n`` go (whether it is built-in or in use is
    the caller's question). ``until`` is a cutoff in ns since the epoch."""
    until = filters.get("until") or []
    if until and n.created and parse_time(n.created) > int(until[0]):
        return False
    if not match_kv(filters.get("label") or [], n.labels):
        return False
    return not (filters.get("label!") and match_kv(filters["label!"], n.labels))
