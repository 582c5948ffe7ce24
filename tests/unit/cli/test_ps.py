"""``berth ps``: the query sent, the columns rendered (recorded ``/containers/json``
bodies), ``--format`` forms, and errors."""

from __future__ import annotations

import json
import time

import pytest

from berth.cli.commands import ps

from . import traces
from .apifake import FakeDaemon, daemon

NOW = 1795813472 + 125  # two minutes after the recorded container was created


def _c(**kw: object) -> dict[str, object]:
    c = json.loads(traces.PS)[0]
    c.update(kw)
    return c


def test_recorded_container_renders_docker_columns() -> None:
    (r,) = ps.rows(json.loads(traces.PS), True, NOW)
    assert r["ID"] == "4727eca3737c"
    assert r["Image"] == "busybox"
    assert r["Command"] == '"sleep 300"'
    assert r["RunningFor"] == "2 minutes ago"
    assert r["Status"] == "Up Less than a second"
    assert r["Names"] == "apic-c1"
    assert r["Networks"] == "bridge"
    assert r["Ports"] == ""
    assert r["Size"] == "0B"


def test_long_command_is_cut_to_20_with_an_ellipsis_and_quoted_like_go() -> None:
    r = ps.row(_c(Command='sh -c "echo hello; sleep 3000"'), True, NOW)
    assert r["Command"] == '"sh -c \\"echo hello; …"'
    assert len(json.loads(r["Command"])) == 20
    full = ps.row(_c(Command='sh -c "echo hello; sleep 3000"'), False, NOW)
    assert full["Command"] == '"sh -c \\"echo hello; sleep 3000\\""'
    assert full["ID"] == _c()["Id"]


def test_image_column_familiar_name_or_short_id() -> None:
    assert ps.row(_c(Image="docker.io/library/busybox:1.36"), True, NOW)["Image"] == "busybox:1.36"
    digest = "busybox@sha256:" + "a" * 64
    assert ps.row(_c(Image=digest), True, NOW)["Image"] == "busybox"
    assert ps.row(_c(Image=digest), False, NOW)["Image"] == digest
    image_id = _c()["ImageID"]
    assert ps.row(_c(Image=image_id), True, NOW)["Image"] == "85136dcba8bf"
    assert ps.row(_c(Image=""), True, NOW)["Image"] == "<no image>"


def test_names_keep_only_the_first_plain_name_when_truncated() -> None:
    c = _c(Names=["/web/db", "/db"])
    assert ps.row(c, True, NOW)["Names"] == "db"
    assert ps.row(c, False, NOW)["Names"] == "web/db,db"


def test_ports_as_compose_ps_records_them() -> None:
    assert (
        ps.display_ports(json.loads(traces.COMPOSE_PORTS))
        == "0.0.0.0:18099->80/tcp, :::18099->80/tcp"
    )


def test_port_ranges_collapse_like_docker() -> None:
    ports = [{"PrivatePort": p, "Type": "tcp"} for p in (8002, 8000, 8001, 9000)]
    ports.append({"PrivatePort": 53, "Type": "udp"})
    # closed groups first, then the open ones in the order they were opened (DisplayablePorts)
    assert ps.display_ports(ports) == "8000-8002/tcp, 53/udp, 9000/tcp"
    same = [{"IP": "0.0.0.0", "PrivatePort": p, "PublicPort": p, "Type": "tcp"} for p in (80, 81)]
    assert ps.display_ports(same) == "0.0.0.0:80-81->80-81/tcp"


def test_size_column_with_virtual_size() -> None:
    assert ps.row(_c(SizeRw=12, SizeRootFs=4_400_000), True, NOW)["Size"] == "12B (virtual 4.4MB)"


@pytest.mark.parametrize(
    ("flags", "query"),
    [
        ((False, -1, False, False, ""), {}),
        ((True, -1, False, False, '{"a":{"b":true}}'), {"all": "1", "filters": '{"a":{"b":true}}'}),
        ((False, 3, False, True, ""), {"limit": "3", "size": "1"}),
        ((False, -1, True, False, ""), {"limit": "1"}),
    ],
)
def test_list_query(flags: tuple[bool, int, bool, bool, str], query: dict[str, str]) -> None:
    assert ps.list_query(*flags) == query


@pytest.fixture(scope="module")
def fake() -> FakeDaemon:
    f = FakeDaemon()
    f.on("GET", "/containers/json", traces.PS)
    with daemon(f):
        yield f  # type: ignore[misc]


def test_ps_a_filters_sends_the_recorded_query(
    fake: FakeDaemon, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.seen.clear()
    status = fake.run(
        "ps",
        "-a",
        "--filter",
        "name=apic",
        "--filter",
        "status=running",
        "--format",
        "{{.ID}} {{.Names}} {{.Status}}",
    )
    assert status == 0
    assert fake.targets() == [
        "GET /v1.41/containers/json?all=1&filters=%7B%22name%22%3A%7B%22apic%22%3Atrue%7D%2C%22status%22%3A%7B%22running%22%3Atrue%7D%7D"
    ]
    assert capsys.readouterr().out == "4727eca3737c apic-c1 Up Less than a second\n"


def test_ps_default_table(fake: FakeDaemon, capsys: pytest.CaptureFixture[str]) -> None:
    fake.seen.clear()
    assert fake.run("ps") == 0
    assert fake.targets() == ["GET /v1.41/containers/json"]
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split("   ")[:2] == ["CONTAINER ID", "IMAGE"]
    assert lines[0].startswith("CONTAINER ID   IMAGE     COMMAND       CREATED")
    assert lines[0].rstrip().endswith("STATUS                  PORTS     NAMES")
    assert lines[1].startswith('4727eca3737c   busybox   "sleep 300"   ')
    assert lines[1].endswith("Up Less than a second             apic-c1")


def test_ps_quiet_and_json(fake: FakeDaemon, capsys: pytest.CaptureFixture[str]) -> None:
    assert fake.run("ps", "-q") == 0
    assert capsys.readouterr().out == "4727eca3737c\n"
    fake.seen.clear()
    assert fake.run("ps", "--format", "json") == 0
    assert fake.targets() == ["GET /v1.41/containers/json?size=1"]
    doc = json.loads(capsys.readouterr().out)
    assert list(doc) == sorted(doc)
    assert (
        doc["Names"] == "apic-c1" and doc["Command"] == '"sleep 300"' and doc["State"] == "running"
    )
    assert doc["CreatedAt"] == time.strftime("%Y-%m-%d %H:%M:%S %z %Z", time.localtime(1795813472))


def test_ps_table_template_and_bad_filter(
    fake: FakeDaemon, capsys: pytest.CaptureFixture[str]
) -> None:
    assert fake.run("ps", "--format", "table {{.Names}}\t{{.State}}") == 0
    assert capsys.readouterr().out == "NAMES     STATE\napic-c1   running\n"
    assert fake.run("ps", "--filter", "oops") == 125
    assert "bad format of filter (expected name=value)" in capsys.readouterr().err


def test_ps_bad_template_is_a_parse_error(
    fake: FakeDaemon, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.seen.clear()
    assert fake.run("ps", "--format", "{{.Nope") == 64
    assert fake.seen == []
    assert fake.run("ps", "--format", "{{.Nope}}") == 1
    assert "can't evaluate field Nope" in capsys.readouterr().err
