"""stop, kill, restart, pause, unpause, rm, rename, update, top, port, diff, commit,
export, inspect, container prune and system prune against a scripted daemon: requests
as the traces record them, output and errors as docker prints them."""

from __future__ import annotations

import io
import json

import pytest

from berth.cli.commands import port, system_prune, top, update
from berth.cli.context import CliError

from . import traces
from .apifake import FakeDaemon, daemon

INSPECT = {
    "Id": "2349caa2d0f7" + "0" * 52,
    "Name": "/apic-x2",
    "NetworkSettings": {
        "Ports": {
            "80/tcp": [
                {"HostIp": "0.0.0.0", "HostPort": "8080"},
                {"HostIp": "::", "HostPort": "8080"},
            ],
            "9000/udp": [{"HostIp": "127.0.0.1", "HostPort": "9000"}],
            "443/tcp": None,
        }
    },
}


@pytest.fixture(scope="module")
def fake() -> FakeDaemon:
    f = FakeDaemon()
    for action in ("stop", "kill", "restart", "pause", "unpause", "rename"):
        f.on("POST", "/containers/{id}/" + action, status=204)
    f.error("DELETE", "/containers/apic-busy", 409, json.loads(traces.RM_RUNNING)["message"])
    for name in ("apic-nosuch", "gone"):
        f.error("DELETE", f"/containers/{name}", 404, f"No such container: {name}")
        f.error("GET", f"/containers/{name}/json", 404, f"No such container: {name}")
        f.error("GET", f"/images/{name}/json", 404, f"no such image: {name}")
        f.error("GET", f"/networks/{name}", 404, f"network {name} not found")
        f.error("GET", f"/volumes/{name}", 404, f"get {name}: no such volume")
        f.error("GET", f"/plugins/{name}/json", 404, f'plugin "{name}" not found')
    f.on("DELETE", "/containers/{id}", status=204)
    f.on("POST", "/containers/{id}/update", '{"Warnings":["careful"]}')
    f.on("GET", "/containers/{id}/top", traces.TOP)
    f.on("GET", "/containers/{id}/changes", traces.DIFF)
    f.on("GET", "/containers/{id}/json", json.dumps(INSPECT))
    f.on("GET", "/images/{name}/json", '{"Id":"sha256:85136dcba8bf"}')
    f.on("POST", "/commit", traces.COMMIT, 201)
    f.on("GET", "/containers/{id}/export", b"TARBYTES", content_type="application/x-tar")
    f.on("POST", "/containers/prune", '{"ContainersDeleted":["abc","def"],"SpaceReclaimed":2048}')
    f.on(
        "POST",
        "/images/prune",
        '{"ImagesDeleted":[{"Untagged":"x:1"},{"Deleted":"sha256:ff"}],"SpaceReclaimed":1000}',
    )
    f.on("POST", "/volumes/prune", '{"VolumesDeleted":["v1"],"SpaceReclaimed":5}')
    with daemon(f):
        yield f  # type: ignore[misc]


def _go(fake: FakeDaemon, *argv: str) -> int:
    fake.seen.clear()
    return fake.run(*argv)


@pytest.mark.parametrize(
    ("argv", "target"),
    [
        (["stop", "apic-c1"], "POST /v1.41/containers/apic-c1/stop"),
        (["stop", "-t", "1", "apic-busy"], "POST /v1.41/containers/apic-busy/stop?t=1"),
        (
            ["stop", "-s", "SIGUSR1", "-t", "3", "a"],
            "POST /v1.41/containers/a/stop?t=3",
        ),  # no signal at 1.41
        (["restart", "-t", "1", "apic-x"], "POST /v1.41/containers/apic-x/restart?t=1"),
        (["kill", "apic-d"], "POST /v1.41/containers/apic-d/kill"),
        (["kill", "-s", "HUP", "apic-d"], "POST /v1.41/containers/apic-d/kill?signal=HUP"),
        (["pause", "apic-x"], "POST /v1.41/containers/apic-x/pause"),
        (["unpause", "apic-x"], "POST /v1.41/containers/apic-x/unpause"),
        (["rm", "apic-c1"], "DELETE /v1.41/containers/apic-c1"),
        (["rm", "-f", "-v", "apic-d"], "DELETE /v1.41/containers/apic-d?force=1&v=1"),
        (["container", "rm", "-l", "x"], "DELETE /v1.41/containers/x?link=1"),
    ],
)
def test_verbs_send_the_recorded_request_and_echo_the_name(
    fake: FakeDaemon, capsys: pytest.CaptureFixture[str], argv: list[str], target: str
) -> None:
    assert _go(fake, *argv) == 0
    assert fake.targets() == [target]
    assert capsys.readouterr().out == argv[-1] + "\n"


def test_stop_signal_is_sent_from_api_1_42() -> None:
    from berth.cli.commands.stop import stop_query

    assert stop_query("SIGUSR1", "3", "1.41") == {"t": "3"}
    assert stop_query("SIGUSR1", "3", "1.43") == {"signal": "SIGUSR1", "t": "3"}
    with pytest.raises(CliError, match='invalid argument "x" for "-t, --time" flag'):
        stop_query("", "x", "1.41")


def test_rm_several_reports_each_error_on_its_own_line(
    fake: FakeDaemon, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _go(fake, "rm", "a", "apic-busy", "apic-nosuch", "b") == 1
    assert len(fake.seen) == 4
    out = capsys.readouterr()
    assert out.out == "a\nb\n"
    assert out.err.splitlines() == [
        "Error response from daemon: " + json.loads(traces.RM_RUNNING)["message"],
        "Error response from daemon: No such container: apic-nosuch",
    ]


def test_rm_force_tolerates_missing(fake: FakeDaemon, capsys: pytest.CaptureFixture[str]) -> None:
    assert _go(fake, "rm", "-f", "apic-nosuch", "a") == 0
    out = capsys.readouterr()
    assert out.out == "a\n"
    assert out.err == "Error response from daemon: No such container: apic-nosuch\n"


def test_rename(fake: FakeDaemon, capsys: pytest.CaptureFixture[str]) -> None:
    assert _go(fake, "rename", "apic-x", "apic-x2") == 0
    assert fake.targets() == ["POST /v1.41/containers/apic-x/rename?name=apic-x2"]
    assert capsys.readouterr().out == ""
    assert _go(fake, "rename", "apic-x", " ") == 1
    assert capsys.readouterr().err == "Error: Neither old nor new names may be empty\n"


def test_update_body_and_flags(fake: FakeDaemon, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        _go(
            fake,
            "update",
            "-m",
            "64m",
            "--cpus",
            "0.5",
            "--restart",
            "on-failure:3",
            "--pids-limit",
            "-1",
            "a",
            "b",
        )
        == 0
    )
    assert [t for _, t, _ in fake.seen] == [
        "/v1.41/containers/a/update",
        "/v1.41/containers/b/update",
    ]
    body = json.loads(fake.seen[0][2])
    assert body == {
        "Memory": 67108864,
        "NanoCpus": 500000000,
        "PidsLimit": -1,
        "RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 3},
    }
    out = capsys.readouterr()
    assert out.out == "a\nb\n"
    assert out.err == "careful\ncareful\n"
    assert _go(fake, "update", "a") == 1
    assert capsys.readouterr().err == "you must provide one or more flags when using this command\n"
    assert fake.seen == []


def test_update_rejects_bad_values() -> None:
    with pytest.raises(
        CliError, match=r"""invalid argument "lots" for "-m, --memory" flag: invalid size: 'lots'"""
    ):
        update.update_body({"memory": "lots"})
    with pytest.raises(CliError, match="maximum retry count can only be used with 'on-failure'"):
        update.parse_restart("always:3")
    assert update.update_body({"memory_swap": "-1"})["MemorySwap"] == -1


def test_top_layout_matches_docker_tabwriter(
    fake: FakeDaemon, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _go(fake, "top", "apic-c1") == 0
    assert fake.targets() == ["GET /v1.41/containers/apic-c1/top"]
    assert capsys.readouterr().out == (
        "UID                 PID                 PPID                C                   STIME               TTY                 TIME                CMD\n"
        "root                6875                6845                0                   21:04               ?                   00:00:00            sleep 300\n"
    )
    assert _go(fake, "top", "apic-c1", "-o", "pid,comm") == 0
    assert fake.targets() == ["GET /v1.41/containers/apic-c1/top?ps_args=-o+pid%2Ccomm"]
    assert top.render({"Titles": ["A"], "Processes": []}) == "A\n"


def test_port_lists_and_selects(fake: FakeDaemon, capsys: pytest.CaptureFixture[str]) -> None:
    assert _go(fake, "port", "apic-x2") == 0
    assert fake.targets() == ["GET /v1.41/containers/apic-x2/json"]
    assert (
        capsys.readouterr().out
        == "80/tcp -> 0.0.0.0:8080\n80/tcp -> [::]:8080\n9000/udp -> 127.0.0.1:9000\n"
    )
    assert _go(fake, "port", "apic-x2", "80") == 0
    assert capsys.readouterr().out == "0.0.0.0:8080\n[::]:8080\n"
    assert _go(fake, "port", "apic-x2", "443/tcp") == 1
    assert capsys.readouterr().err == "Error: No public port '443/tcp' published for apic-x2\n"


def test_port_natural_order() -> None:
    ports = {
        "10000/tcp": [{"HostIp": "", "HostPort": "1"}],
        "9/tcp": [{"HostIp": "", "HostPort": "2"}],
    }
    assert port.mappings(ports) == ["9/tcp -> :2", "10000/tcp -> :1"]


def test_diff_and_commit(fake: FakeDaemon, capsys: pytest.CaptureFixture[str]) -> None:
    assert _go(fake, "diff", "apic-x2") == 0
    assert capsys.readouterr().out == "A /f.txt\nC /tmp\nA /home/user/hello.txt\n"
    assert _go(fake, "commit", "apic-x2", "apic/committed:1") == 0
    assert fake.seen == [
        (
            "POST",
            "/v1.41/commit?author=&comment=&container=apic-x2&repo=docker.io%2Fapic%2Fcommitted&tag=1",
            b"",
        )
    ]
    assert capsys.readouterr().out == json.loads(traces.COMMIT)["Id"] + "\n"
    assert (
        _go(
            fake,
            "commit",
            "-a",
            "me",
            "-m",
            "msg",
            "-c",
            "ENV A=1",
            "-c",
            "CMD sh",
            "--pause=false",
            "c",
        )
        == 0
    )
    assert fake.targets() == [
        "POST /v1.41/commit?author=me&changes=ENV+A%3D1&changes=CMD+sh&comment=msg&container=c&pause=0&repo=&tag="
    ]


def test_export_refuses_terminal_and_writes_file(
    fake: FakeDaemon, tmp_path: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    out = os.path.join(str(tmp_path), "c.tar")
    assert _go(fake, "export", "-o", out, "apic-x") == 0
    assert fake.targets() == ["GET /v1.41/containers/apic-x/export"]
    with open(out, "rb") as f:
        assert f.read() == b"TARBYTES"

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    err = io.StringIO()
    monkeypatch.setattr("sys.stdout", Tty())
    monkeypatch.setattr("sys.stderr", err)
    assert _go(fake, "export", "apic-x") == 1
    assert (
        err.getvalue() == "cowardly refusing to save to a terminal. Use the -o flag or redirect\n"
    )
    assert fake.seen == []


def test_inspect_falls_through_types(fake: FakeDaemon, capsys: pytest.CaptureFixture[str]) -> None:
    assert _go(fake, "inspect", "gone") == 1
    assert fake.targets() == [
        "GET /v1.41/containers/gone/json",
        "GET /v1.41/images/gone/json",
        "GET /v1.41/networks/gone",
        "GET /v1.41/volumes/gone",
        "GET /v1.41/plugins/gone/json",
    ]
    out = capsys.readouterr()
    assert out.out == "[]\n"
    assert out.err == "Error: No such object: gone\n"
    assert _go(fake, "inspect", "-f", "{{.Name}}", "apic-x2", "gone") == 1
    out = capsys.readouterr()
    assert out.out == "/apic-x2\n"
    assert out.err == "Error: No such object: gone\n"
    assert _go(fake, "inspect", "--type", "image", "-f", "{{.Id}}", "busybox") == 0
    assert fake.targets() == ["GET /v1.41/images/busybox/json"]
    assert capsys.readouterr().out == "sha256:85136dcba8bf\n"


def test_container_inspect(fake: FakeDaemon, capsys: pytest.CaptureFixture[str]) -> None:
    assert _go(fake, "container", "inspect", "-s", "apic-x2", "apic-nosuch") == 1
    assert fake.targets() == [
        "GET /v1.41/containers/apic-x2/json?size=1",
        "GET /v1.41/containers/apic-nosuch/json?size=1",
    ]
    out = capsys.readouterr()
    assert json.loads(out.out) == [INSPECT]
    assert out.out.startswith('[\n    {\n        "Id": ')
    assert out.err == "Error response from daemon: No such container: apic-nosuch\n"


def test_container_prune_prompt_and_report(
    fake: FakeDaemon, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("n\n"))
    assert _go(fake, "container", "prune") == 0
    assert fake.seen == []
    assert (
        capsys.readouterr().out
        == "WARNING! This will remove all stopped containers.\nAre you sure you want to continue? [y/N] "
    )
    monkeypatch.setattr("sys.stdin", io.StringIO("y\n"))
    assert _go(fake, "container", "prune", "--filter", "until=24h") == 0
    assert fake.targets() == [
        "POST /v1.41/containers/prune?filters=%7B%22until%22%3A%7B%2224h%22%3Atrue%7D%7D"
    ]
    assert capsys.readouterr().out.endswith(
        "[y/N] Deleted Containers:\nabc\ndef\n\nTotal reclaimed space: 2.048kB\n"
    )


def test_system_prune(fake: FakeDaemon, capsys: pytest.CaptureFixture[str]) -> None:
    assert _go(fake, "system", "prune", "-f", "--volumes") == 0
    assert fake.targets() == [
        "POST /v1.41/containers/prune",
        "POST /v1.41/volumes/prune",
        "POST /v1.41/images/prune?filters=%7B%22dangling%22%3A%7B%22true%22%3Atrue%7D%7D",
    ]  # networks and build cache are not served by this daemon: skipped
    assert capsys.readouterr().out == (
        "Deleted Containers:\nabc\ndef\n\n"
        "Deleted Volumes:\nv1\n\n"
        "Deleted Images:\nuntagged: x:1\ndeleted: sha256:ff\n\n"
        "Total reclaimed space: 3.053kB\n"
    )


def test_system_prune_confirmation_text() -> None:
    assert system_prune.confirmation(False, False, []) == (
        "WARNING! This will remove:\n"
        "  - all stopped containers\n"
        "  - all networks not used by at least one container\n"
        "  - all dangling images\n"
        "  - unused build cache\n"
        "\nAre you sure you want to continue?"
    )
    text = system_prune.confirmation(True, True, ["label=a"])
    assert "  - all anonymous volumes not used by at least one container\n" in text
    assert (
        "  - all images without at least one container associated to them\n  - all build cache\n"
        in text
    )
    assert "  Items to be pruned will be filtered with:\n  - label=a\n" in text
