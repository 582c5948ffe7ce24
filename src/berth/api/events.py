"""``GET /events``: the daemon's event log as a stream of JSON messages (dockerd 20.10 at
API 1.41; trace ``events.txt``).

Each message is Docker's ``events.Message``: ``Type``, ``Action``, ``Actor`` (``ID`` and
``Attributes``, keys sorted as Go writes a map), ``scope``, ``time`` (s) and ``timeNano``;
container and image events also carry the deprecated ``status`` (the action), ``id``
(the actor) and, for containers, ``from`` (the image as the user named it).

Query: ``since`` and ``until`` are unix seconds with an optional fraction
(``1795813579.000000000``, what the CLI sends) or RFC 3339; ``since`` replays the kept
history from that time, ``until`` ends the stream (at once after the history when it is
already past). ``filters`` (moby daemon/events/filter.go): ``container``, ``volume``,
``network``, ``plugin``, ``daemon``, ``node``, ``service``, ``secret``, ``config`` match
the actor's id or ``name`` attribute (exactly or as a prefix); ``event`` matches the
action exactly, or as a prefix when one of the values is ``health_status``,
``exec_create`` or ``exec_start`` (``health_status`` finds ``health_status: healthy``);
``type`` and ``scope`` exactly; ``image`` the actor id or image name with or without its
tag; ``label`` ``key`` or ``key=value`` on the attributes, all of them.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any, Protocol

from berth import errdefs
from berth.api.filters import Filters, check_keys
from berth.api.request import Request
from berth.api.response import Reply, StreamResponse, StreamWriter, encode_json
from berth.api.router import Router
from berth.engine.events import Event
from berth.logs.timefmt import parse_time
from berth.oci.reference import parse_normalized_named

__all__ = ["ACCEPTED_FILTERS", "EventSource", "matches", "message", "parse_timestamp", "register"]

ACCEPTED_FILTERS = (
    "config", "container", "daemon", "event", "image", "label", "network", "node",
    "plugin", "scope", "secret", "service", "type", "volume",
)  # fmt: skip
_FUZZY_EVENTS = ("health_status", "exec_create", "exec_start")
_BY_NAME = (
    "container",
    "plugin",
    "volume",
    "network",
    "daemon",
    "node",
    "service",
    "secret",
    "config",
)


class EventSource(Protocol):
    """What the route needs of :class:`berth.engine.events.EventBus`."""

    def subscribe(self, since_ns: int = 0, until_ns: int = 0) -> AsyncIterator[Event]: ...


def parse_timestamp(value: str, what: str) -> int:
    """``since``/``until`` in ns since the epoch; 0 when not given."""
    if not value:
        return 0
    sec, dot, frac = value.partition(".")
    if sec.lstrip("-").isdigit() and (not dot or frac.isdigit()):
        ns = int(sec) * 1_000_000_000
        return ns + int((frac + "000000000")[:9]) if frac else ns
    try:
        return parse_time(value)
    except ValueError:
        raise errdefs.InvalidArgument(
            f"invalid value for {what}: {value!r}: not a unix timestamp or RFC 3339 time"
        ) from None


def message(ev: Event) -> dict[str, Any]:
    """The event as dockerd 20.10 writes it."""
    attrs = dict(sorted(ev.attributes.items()))
    out: dict[str, Any] = {}
    if ev.type in ("container", "image"):
        out["status"] = ev.action
        out["id"] = ev.actor_id
        if ev.type == "container" and attrs.get("image"):
            out["from"] = attrs["image"]
    out.update(
        {
            "Type": ev.type,
            "Action": ev.action,
            "Actor": {"ID": ev.actor_id, "Attributes": attrs},
            "scope": ev.scope,
            "time": ev.time_ns // 1_000_000_000,
            "timeNano": ev.time_ns,
        }
    )
    return out


def _exact(values: Sequence[str] | None, source: str) -> bool:
    return not values or source in values


def _fuzzy(values: Sequence[str] | None, source: str) -> bool:
    return not values or source in values or any(source.startswith(v) for v in values)


def _strip_tag(image: str) -> str:
    try:
        return parse_normalized_named(image).familiar_name
    except errdefs.BerthError:
        return image


def _match_labels(wanted: Sequence[str] | None, attrs: Mapping[str, str]) -> bool:
    for item in wanted or ():
        key, eq, value = item.partition("=")
        if key not in attrs or (eq and attrs[key] != value):
            return False
    return True


def matches(ev: Event, filters: Filters) -> bool:
    """Whether ``ev`` passes ``filters`` (moby's events Filter.Include)."""
    attrs = ev.attributes
    wanted_events = filters.get("event")
    if wanted_events and any(v in _FUZZY_EVENTS for v in wanted_events):
        if not _fuzzy(wanted_events, ev.action):
            return False
    elif not _exact(wanted_events, ev.action):
        return False
    if not _exact(filters.get("type"), ev.type) or not _exact(filters.get("scope"), ev.scope):
        return False
    for key in _BY_NAME:
        values = filters.get(key)
        if values and not (_fuzzy(values, ev.actor_id) or _fuzzy(values, attrs.get("name", ""))):
            return False
    images = filters.get("image")
    if images:
        name = attrs.get("name" if ev.type == "image" else "image", "")
        candidates = {ev.actor_id, name, _strip_tag(ev.actor_id), _strip_tag(name)} - {""}
        if not any(c in images for c in candidates):
            return False
    return _match_labels(filters.get("label"), attrs)


def register(router: Router, events: EventSource) -> None:
    async def stream(req: Request) -> Reply:
        since_s, until_s = req.q("since"), req.q("until")
        since = parse_timestamp(since_s, "since")
        until = parse_timestamp(until_s, "until")
        if until and since and until < since:
            raise errdefs.InvalidArgument(
                f"`since` time ({since_s}) cannot be after `until` time ({until_s})"
            )
        filters = req.filters()
        check_keys(filters, ACCEPTED_FILTERS)

        async def produce(w: StreamWriter) -> None:
            it = events.subscribe(since, until)
            try:
                async for ev in it:
                    if matches(ev, filters):
                        await w.write(encode_json(message(ev)))
            finally:
                close = getattr(it, "aclose", None)
                if close is not None:
                    with contextlib.suppress(RuntimeError):
                        await close()

        return StreamResponse(produce)

    router.add("GET", "/events", stream)
