"""``GET /events``: message shape (trace events.txt), filters (moby's events Filter) and
since/until, against a real EventBus."""

from __future__ import annotations

import json
import time
import urllib.parse
from collections.abc import Iterator

import pytest

from berth import errdefs
from berth.api import events as events_api
from berth.api.response import encode_json
from berth.api.router import Router
from berth.engine.events import Event, EventBus

from .helpers import exchange, serve

CID = "6187af4ba130084cf65bcb47cadccd6c97e73e98d405a50d5a22547c75719984"


def _ev(type_: str = "container", action: str = "create", actor: str = CID, **attrs: str) -> Event:
    return Event(type_, action, actor, attrs, 1795813579358094414)


def test_container_message_is_byte_for_byte_dockerd() -> None:
    ev = _ev(action="die", exitCode="0", name="apic-ev", image="busybox")
    want = (
        '{"status":"die","id":"' + CID + '","from":"busybox","Type":"container","Action":"die",'
        '"Actor":{"ID":"'
        + CID
        + '","Attributes":{"exitCode":"0","image":"busybox","name":"apic-ev"}},'
        '"scope":"local","time":1795813579,"timeNano":1795813579358094414}\n'
    )
    assert encode_json(events_api.message(ev)).decode() == want


def test_image_message_has_status_and_id_but_no_from() -> None:
    msg = events_api.message(_ev("image", "pull", "busybox:latest", name="busybox:latest"))
    assert msg["status"] == "pull" and msg["id"] == "busybox:latest"
    assert "from" not in msg


def test_volume_message_has_no_deprecated_fields() -> None:
    msg = events_api.message(_ev("volume", "create", "v1", driver="local"))
    assert not {"status", "id", "from"} & msg.keys()
    assert msg["Actor"] == {"ID": "v1", "Attributes": {"driver": "local"}}


def _m(ev: Event, **filters: list[str]) -> bool:
    return events_api.matches(ev, dict(filters))


def test_container_filter_by_name_id_and_prefix() -> None:
    ev = _ev(name="web", image="busybox")
    assert _m(ev, container=["web"])
    assert _m(ev, container=[CID[:12]])
    assert _m(ev, container=[CID])
    assert not _m(ev, container=["other"])
    assert not _m(_ev("volume", "create", "v1", driver="local"), container=["web"])


def test_event_filter_exact_and_health_status_prefix() -> None:
    healthy = _ev(action="health_status: healthy", name="web")
    assert _m(healthy, event=["health_status"])
    assert _m(healthy, event=["health_status: healthy"])
    assert not _m(healthy, event=["health_status: unhealthy"])
    assert not _m(_ev(action="start"), event=["health_status"])
    assert not _m(_ev(action="started"), event=["start"])
    assert _m(_ev(action="start"), event=["die", "start"])


def test_type_label_image_volume_network_filters() -> None:
    c = _ev(name="web", image="busybox:latest", tier="front")
    assert _m(c, type=["container"]) and not _m(c, type=["image"])
    assert _m(c, label=["tier"]) and _m(c, label=["tier=front"])
    assert not _m(c, label=["tier=back"]) and not _m(c, label=["tier", "nope"])
    assert _m(c, image=["busybox"]) and _m(c, image=["busybox:latest"])
    assert not _m(c, image=["alpine"])
    img = _ev("image", "tag", "sha256:abc", name="busybox:v2")
    assert _m(img, image=["busybox"]) and _m(img, image=["sha256:abc"])
    vol = _ev("volume", "destroy", "data1", driver="local")
    assert _m(vol, volume=["data1"]) and not _m(vol, volume=["data2"])
    net = _ev("network", "connect", "n" * 64, name="mynet", container=CID)
    assert _m(net, network=["mynet"]) and not _m(net, network=["other"])


def test_parse_timestamp_unix_fraction_and_rfc3339() -> None:
    assert events_api.parse_timestamp("", "since") == 0
    assert events_api.parse_timestamp("1795813579", "since") == 1795813579 * 10**9
    assert events_api.parse_timestamp("1795813579.5", "since") == 1795813579 * 10**9 + 500_000_000
    assert events_api.parse_timestamp("2026-11-27T21:06:19Z", "since") == 1795813579 * 10**9
    with pytest.raises(errdefs.InvalidArgument):
        events_api.parse_timestamp("yesterday", "since")


# -- the route ---------------------------------------------------------------------------


@pytest.fixture
def bus_sock() -> Iterator[tuple[EventBus, str]]:
    bus = EventBus()
    r = Router()
    events_api.register(r, bus)
    with serve(r) as path:
        yield bus, path


def _get(path: str, query: dict[str, str]) -> tuple[int, list[dict[str, object]], bytes]:
    q = urllib.parse.urlencode(query)
    raw = exchange(
        path, f"GET /v1.41/events?{q} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode()
    )
    head, _, body = raw.partition(b"\r\n\r\n")
    status = int(head.split()[1])
    msgs = []
    if b"chunked" in head.lower():
        rest = body
        data = b""
        while rest:
            size_s, _, rest = rest.partition(b"\r\n")
            size = int(size_s, 16)
            if size == 0:
                break
            data += rest[:size]
            rest = rest[size + 2 :]
        msgs = [json.loads(line) for line in data.splitlines() if line.strip()]
        return status, msgs, data
    return status, msgs, body


def test_history_between_since_and_until_in_the_past_then_the_stream_ends(
    bus_sock: tuple[EventBus, str],
) -> None:
    bus, path = bus_sock
    t0 = time.time()
    bus.publish("container", "create", CID, {"name": "a", "image": "busybox"})
    bus.publish("container", "start", CID, {"name": "a", "image": "busybox"})
    bus.publish("volume", "create", "v1", {"driver": "local"})
    t1 = time.time()
    filters = json.dumps({"container": {"a": True}})
    status, msgs, _ = _get(
        path, {"since": f"{t0 - 1:.9f}", "until": f"{t1:.9f}", "filters": filters}
    )
    assert status == 200
    assert [m["Action"] for m in msgs] == ["create", "start"]
    assert msgs[0]["from"] == "busybox"
    status, msgs, _ = _get(
        path,
        {
            "since": f"{t0 - 1:.9f}",
            "until": f"{t1:.9f}",
            "filters": json.dumps({"type": ["volume"]}),
        },
    )
    assert [m["Actor"]["ID"] for m in msgs] == ["v1"]  # type: ignore[index]


def test_live_events_until_a_near_future(bus_sock: tuple[EventBus, str]) -> None:
    import threading

    bus, path = bus_sock
    until = time.time() + 0.6
    timer = threading.Timer(
        0.2, lambda: bus.publish("image", "pull", "busybox:latest", {"name": "busybox:latest"})
    )
    timer.start()
    status, msgs, _ = _get(path, {"until": f"{until:.9f}"})
    timer.join()
    assert status == 200
    assert [(m["Type"], m["Action"], m["id"]) for m in msgs] == [
        ("image", "pull", "busybox:latest")
    ]


def test_since_after_until_and_unknown_filter_are_400(bus_sock: tuple[EventBus, str]) -> None:
    _, path = bus_sock
    status, _, body = _get(path, {"since": "20", "until": "10"})
    assert status == 400
    assert b"cannot be after `until` time" in body
    status, _, body = _get(path, {"until": "10", "filters": json.dumps({"colour": ["red"]})})
    assert status == 400
    assert b"invalid filter 'colour'" in body
