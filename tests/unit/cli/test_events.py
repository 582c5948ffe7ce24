"""``berth events``: the recorded query, docker's line format, ``--format``, and errors
in the stream."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from berth.cli.commands import events

from . import traces
from .apifake import FakeDaemon, daemon

CID = "6187af4ba130084cf65bcb47cadccd6c97e73e98d405a50d5a22547c75719984"


@pytest.fixture
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_line_format(utc: None) -> None:
    ev = json.loads(traces.EVENTS[3])
    assert (
        events.event_line(ev)
        == f"2026-11-27T21:06:19.619140130Z container die {CID} (exitCode=0, image=busybox, name=apic-ev)\n"
    )
    assert events.event_line(
        {"Type": "network", "Action": "create", "Actor": {"ID": "n1"}, "time": 1795813579}
    ) == ("2026-11-27T21:06:19.000000000Z network create n1\n")


def test_line_format_in_a_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Asia/Kolkata")
    time.tzset()
    try:
        line = events.event_line(json.loads(traces.EVENTS[0]))
    finally:
        monkeypatch.undo()
        time.tzset()
    assert line.startswith("2026-11-28T02:36:19.358094414+05:30 container create ")


def test_query_times() -> None:
    assert events.events_query("1795813579", "1795813580", "", 0) == {
        "since": "1795813579",
        "until": "1795813580",
    }
    q = events.events_query("10m", "", '{"type":{"container":true}}', 1_000_000.0)
    assert q["filters"] == '{"type":{"container":true}}'
    assert float(q["since"]) == 999400.0 and "until" not in q


@pytest.fixture(scope="module")
def fake() -> FakeDaemon:
    f = FakeDaemon()
    f.stream("GET", "/events", [e.encode() + b"\n" for e in traces.EVENTS])
    with daemon(f):
        yield f  # type: ignore[misc]


def test_events_matches_the_trace(
    fake: FakeDaemon, capsys: pytest.CaptureFixture[str], utc: None
) -> None:
    fake.seen.clear()
    argv = [
        "events",
        "--since",
        "1795813579",
        "--until",
        "1795813580",
        "--filter",
        "container=apic-ev",
    ]
    assert fake.run(*argv) == 0
    assert fake.targets() == [
        "GET /v1.41/events?filters=%7B%22container%22%3A%7B%22apic-ev%22%3Atrue%7D%7D&since=1795813579&until=1795813580"
    ]
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[2] for line in lines] == ["create", "attach", "start", "die", "destroy"]
    assert (
        lines[0]
        == f"2026-11-27T21:06:19.358094414Z container create {CID} (image=busybox, name=apic-ev)"
    )


def test_events_format(fake: FakeDaemon, capsys: pytest.CaptureFixture[str]) -> None:
    assert fake.run("events", "--format", "{{.Type}} {{.Status}} {{.Actor.Attributes.name}}") == 0
    assert capsys.readouterr().out.splitlines()[2] == "container start apic-ev"
    assert fake.run("events", "--format", "json") == 0
    docs = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert docs == [json.loads(e) for e in traces.EVENTS]
    assert fake.run("events", "--format", "{{.Nope}}") == 1


def test_error_message_in_the_stream(capsys: pytest.CaptureFixture[str]) -> None:
    f = FakeDaemon()
    f.stream(
        "GET", "/events", [traces.EVENTS[0].encode() + b"\n", b'{"error":"event stream broke"}\n']
    )
    with daemon(f):
        assert f.run("events", "--format", "{{.Action}}") == 1
    out = capsys.readouterr()
    assert out.out == "create\n"
    assert out.err == "event stream broke\n"
