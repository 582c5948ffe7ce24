"""``berth volume …`` commands against a fake client: what they send, what they print,
docker's wording and exit statuses."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from berth import errdefs
from berth.cli.args import parse
from berth.cli.commands import volume_create, volume_inspect, volume_ls, volume_prune, volume_rm
from berth.cli.context import Cli, CliError

VOLS = [
    {"CreatedAt": "2026-11-27T20:58:47Z", "Driver": "local", "Labels": {"a": "b", "c": "d"},
     "Mountpoint": "/r/volumes/zeta/_data", "Name": "zeta", "Options": {}, "Scope": "local"},
    {"CreatedAt": "2026-11-27T20:58:47Z", "Driver": "local", "Labels": {},
     "Mountpoint": "/r/volumes/alpha/_data", "Name": "alpha", "Options": {}, "Scope": "local"},
]


def daemon_error(cls: type[errdefs.BerthError], message: str) -> errdefs.BerthError:
    err = cls(message)
    err.from_daemon = True  # type: ignore[attr-defined]
    return err


class _Resp:
    def read(self) -> bytes:
        return b""


class FakeClient:
    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def get_json(self, path: str, query: Any = None) -> Any:
        self.calls.append(("GET", path, query))
        if path == "/volumes":
            return {"Volumes": VOLS, "Warnings": None}
        name = path.rsplit("/", 1)[1]
        for v in VOLS:
            if v["Name"] == name:
                return v
        raise daemon_error(errdefs.NotFound, f"get {name}: no such volume")

    def post_json(self, path: str, query: Any = None, body: Any = None) -> Any:
        self.calls.append(("POST", path, query, body))
        if path == "/volumes/create":
            return {"Name": body["Name"] or "e" * 64}
        return {"VolumesDeleted": ["v1", "v2"], "SpaceReclaimed": 1536}

    def request(self, method: str, path: str, query: Any = None) -> _Resp:
        self.calls.append((method, path, query))
        if path.endswith("/busy"):
            raise daemon_error(errdefs.Conflict, "remove busy: volume is in use - [abc]")
        return _Resp()

    def close(self) -> None:
        pass


def run(module: Any, argv: list[str]) -> tuple[int, str, FakeClient]:
    out = io.StringIO()
    cli = Cli("unix:///nonexistent", out=out, err=io.StringIO())
    fake = FakeClient()
    cli._client = fake  # type: ignore[assignment]
    opts, args = parse(argv, module.COMMAND.flags, module.COMMAND.interspersed)
    status = module.run(cli, opts, args)
    return status, out.getvalue(), fake


def test_volume_create_sends_options_and_labels_and_prints_the_name() -> None:
    status, out, fake = run(volume_create, ["-o", "type=tmpfs", "-o", "device=tmpfs", "--label", "k=v", "--label", "bare", "myvol"])
    assert status == 0 and out == "myvol\n"
    assert fake.calls == [("POST", "/volumes/create", None, {
        "Name": "myvol", "Driver": "local", "DriverOpts": {"type": "tmpfs", "device": "tmpfs"},
        "Labels": {"k": "v", "bare": ""}})]


def test_volume_create_without_a_name_prints_the_generated_one() -> None:
    _, out, _ = run(volume_create, ["-d", "local"])
    assert out == "e" * 64 + "\n"


def test_volume_create_name_flag_and_argument_conflict() -> None:
    with pytest.raises(CliError, match="either specify --name or provide positional arg"):
        run(volume_create, ["--name", "a1", "b1"])


def test_volume_ls_table_sorted_by_name() -> None:
    status, out, _ = run(volume_ls, [])
    assert status == 0
    assert out == "DRIVER    VOLUME NAME\nlocal     alpha\nlocal     zeta\n"


def test_volume_ls_quiet_filters_and_format() -> None:
    _, out, fake = run(volume_ls, ["-q", "-f", "dangling=true", "--filter", "label=a"])
    assert out == "alpha\nzeta\n"
    assert json.loads(fake.calls[0][2]["filters"]) == {"dangling": {"true": True}, "label": {"a": True}}
    _, out, _ = run(volume_ls, ["--format", "{{.Name}} {{.Labels}} {{.Mountpoint}}"])
    assert out == "alpha  /r/volumes/alpha/_data\nzeta a=b,c=d /r/volumes/zeta/_data\n"


def test_volume_ls_bad_filter_is_a_flag_error() -> None:
    with pytest.raises(CliError) as ei:
        run(volume_ls, ["-f", "dangling"])
    assert ei.value.status == 125
    assert str(ei.value) == 'invalid argument "dangling" for "-f, --filter" flag: bad format of filter (expected name=value)'


def test_volume_inspect_json_array_and_missing() -> None:
    _, out, _ = run(volume_inspect, ["alpha"])
    assert json.loads(out) == [VOLS[1]] and out.startswith("[\n    {\n        \"CreatedAt\"")
    with pytest.raises(CliError, match=r"^Error: No such volume: nope$"):
        run(volume_inspect, ["zeta", "nope"])
    _, out, _ = run(volume_inspect, ["-f", "{{.Mountpoint}}", "zeta"])
    assert out == "/r/volumes/zeta/_data\n"


def test_volume_rm_prints_removed_and_collects_errors() -> None:
    out = io.StringIO()
    cli = Cli("unix:///nonexistent", out=out, err=io.StringIO())
    fake = FakeClient()
    cli._client = fake  # type: ignore[assignment]
    opts, args = parse(["-f", "v1", "busy", "v2"], volume_rm.COMMAND.flags)
    with pytest.raises(CliError) as ei:
        volume_rm.run(cli, opts, args)
    assert out.getvalue() == "v1\nv2\n"
    assert str(ei.value) == "Error response from daemon: remove busy: volume is in use - [abc]"
    assert ei.value.status == 1
    assert fake.calls[0] == ("DELETE", "/volumes/v1", {"force": "1"})


def test_volume_prune_forced_with_all_and_filter(monkeypatch: pytest.MonkeyPatch) -> None:
    status, out, fake = run(volume_prune, ["-f", "-a", "--filter", "label=x"])
    assert status == 0
    assert out == "Deleted Volumes:\nv1\nv2\n\nTotal reclaimed space: 1.536kB\n"
    assert json.loads(fake.calls[0][2]["filters"]) == {"label": {"x": True}, "all": {"true": True}}


def test_volume_prune_asks_first_and_stops_on_no(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("n\n"))
    status, out, fake = run(volume_prune, [])
    assert status == 0 and fake.calls == []
    assert out == volume_prune.WARNING + "\nAre you sure you want to continue? [y/N] "
    monkeypatch.setattr("sys.stdin", io.StringIO("y\n"))
    _, out, fake = run(volume_prune, [])
    assert fake.calls == [("POST", "/volumes/prune", None, None)]
    assert out.endswith("Total reclaimed space: 1.536kB\n")
