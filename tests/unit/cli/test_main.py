"""``berth`` end to end in-process: commands, output, exit codes, host selection."""

from __future__ import annotations

import os
import tempfile

import pytest

from berth.api import system
from berth.api.router import Router
from berth.cli.main import main

from ..api.helpers import serve
from ..api.test_system import FakeSystem


@pytest.fixture(scope="module")
def host() -> str:
    r = Router()
    system.register(r, FakeSystem())
    with serve(r) as path:
        yield f"unix://{path}"  # type: ignore[misc]


NOWHERE = "unix://" + os.path.join(tempfile.gettempdir(), "berth-test-nowhere.sock")


def berth(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_version(host: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = berth(capsys, "-H", host, "version")
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0] == "Client:"
    assert lines[1].startswith(" Version:           ")
    assert " API version:       1.41" in lines
    assert "Server:" in lines
    assert " Engine:" in lines
    assert "  API version:      1.41 (minimum version 1.24)" in lines
    assert " berth-runtime:" in lines


def test_version_format(host: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = berth(capsys, "-H", host, "version", "--format", "{{.Server.Version}} {{.Client.APIVersion}}")
    assert (code, out) == (0, "0.1.0 1.41\n")
    code, out, _ = berth(capsys, "-H", host, "version", "-f", "json")
    assert code == 0 and out.startswith('{"Client":{"Version":') and '"Server":{"Platform"' in out


def test_info(host: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = berth(capsys, "-H", host, "info")
    assert code == 0
    assert out.startswith("Client:\n Version:    ")
    for line in (
        "Server:", " Containers: 3", "  Running: 1", "  Stopped: 2", " Images: 4", " Storage Driver: overlay2",
        "  Backing Filesystem: extfs", " Cgroup Version: 2", " Swarm: inactive",
        " Runtimes: berth-runtime runc", " Default Runtime: berth-runtime", "  seccomp", "   Profile: default",
        " Operating System: Debian GNU/Linux 12 (bookworm)", " CPUs: 2", " Total Memory: 23.54GiB",
        " Labels:", "  a=b", " Insecure Registries:", "  reg.local:5000", "  127.0.0.0/8", "  10.0.0.0/8",
        " Registry Mirrors:", "  https://mirror.example", " Live Restore Enabled: true",
    ):
        assert line in out.splitlines(), line
    assert err == ""


def test_info_format_and_alias(host: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = berth(capsys, "-H", host, "system", "info", "--format", "{{.Swarm.LocalNodeState}} {{.ClientInfo.Context}}")
    assert (code, out) == (0, "inactive default\n")


def test_unreachable_daemon(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = berth(capsys, "-H", NOWHERE, "version")
    assert code == 1
    assert out.startswith("Client:\n") and "Server:" not in out
    assert err == f"Cannot connect to the berth daemon at {NOWHERE}. Is berthd running?\n"
    code, out, err = berth(capsys, "-H", NOWHERE, "info")
    assert code == 1 and out.endswith("Server:\n") and "Is berthd running?" in err


def test_host_from_berth_host_and_not_docker_host(host: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BERTH_HOST", host)
    monkeypatch.setenv("DOCKER_HOST", NOWHERE)
    assert berth(capsys, "version", "-f", "{{.Server.Version}}")[0] == 0
    monkeypatch.setenv("BERTH_HOST", NOWHERE)
    assert berth(capsys, "version")[0] == 1
    assert berth(capsys, "-H", host, "version")[0] == 0  # -H wins over the environment


def test_pinned_api_version(host: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BERTH_API_VERSION", "1.99")
    code, _, err = berth(capsys, "-H", host, "info")
    assert code == 1
    assert err == "Error response from daemon: client version 1.99 is too new. Maximum supported API version is 1.41\n"


def test_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = berth(capsys, "version", "--nope")
    assert code == 125
    assert err == "unknown flag: --nope\n\nUsage:  berth version [OPTIONS]\n\nRun 'berth version --help' for more information\n"
    code, _, err = berth(capsys, "info", "extra")
    assert code == 1
    assert err.startswith("berth: 'berth info' accepts no arguments\n\nUsage:  berth info [OPTIONS]\n")
    code, _, err = berth(capsys, "nosuch")
    assert code == 1 and err.startswith("berth: unknown command: berth nosuch\n")
    code, _, err = berth(capsys, "system", "nosuch")
    assert code == 1 and "unknown command: berth system nosuch" in err
    code, _, err = berth(capsys, "--nope")
    assert code == 125 and err.startswith("unknown flag: --nope")


def test_template_errors(host: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = berth(capsys, "-H", host, "version", "--format", "{{.Nope}}")
    assert code == 1 and "can't evaluate field Nope" in err
    code, _, err = berth(capsys, "-H", host, "info", "--format", "{{.Nope")
    assert code == 64 and err.startswith("template parsing error:")


def test_help_everywhere(capsys: pytest.CaptureFixture[str]) -> None:
    for args in (["--help"], [], ["version", "--help"], ["info", "-h"], ["system", "--help"], ["system", "info", "--help"], ["system"]):
        code, out, _ = berth(capsys, *args)
        assert code == 0, args
        assert out.startswith("Usage:  berth"), args
    code, out, _ = berth(capsys, "-v")
    assert code == 0 and out.startswith("berth version ")
