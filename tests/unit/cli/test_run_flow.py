"""run, create, start, attach, exec, wait and logs against a scripted daemon: the
requests in the order the traces record them, hijacked streams, exit statuses."""

from __future__ import annotations

import importlib
import io
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from berth.api.stdcopy import frame
from berth.cli.args import parse
from berth.cli.context import Cli, CliError

from .hijackd import CID, Conn, Container, FakeDaemon, Request


def invoke(d: FakeDaemon, command: str, argv: list[str]) -> tuple[int, bytes, bytes]:
    """Run one command module against ``d``: (status, stdout, stderr) as main() would."""
    mod = importlib.import_module(f"berth.cli.commands.{command}")
    raw_out, raw_err = io.BytesIO(), io.BytesIO()
    out = io.TextIOWrapper(raw_out, write_through=True)
    err = io.TextIOWrapper(raw_err, write_through=True)
    cli = Cli(f"unix://{d.path}", out=out, err=err)
    try:
        opts, args = parse(argv, mod.COMMAND.flags, mod.COMMAND.interspersed)
        status = int(mod.run(cli, opts, args))
    except CliError as exc:
        if exc.args[0]:
            err.write(exc.args[0] + "\n")
        status = exc.status
    finally:
        cli.close()
    return status, raw_out.getvalue(), raw_err.getvalue()


@pytest.fixture
def d() -> Iterator[FakeDaemon]:
    with FakeDaemon() as daemon:
        yield daemon


def created(d: FakeDaemon, cid: str = CID) -> None:
    d.route("POST", "/containers/create", lambda r, c: c.reply(201, {"Id": cid, "Warnings": []}))


def test_run_foreground_rm_follows_the_trace_and_exits_with_the_status(d: FakeDaemon) -> None:
    created(d)
    box = Container(d, [(1, b"hello-out\n"), (2, b"hello-err\n")], 7)
    status, out, err = invoke(d, "run", ["--rm", "busybox", "sh", "-c", "exit 7"])
    assert (status, out, err) == (7, b"hello-out\n", b"hello-err\n")
    assert d.requests() == [
        "POST /v1.41/containers/create",
        f"POST /v1.41/containers/{CID}/attach?stderr=1&stdout=1&stream=1",
        f"POST /v1.41/containers/{CID}/wait?condition=removed",
        f"POST /v1.41/containers/{CID}/start",
    ]
    attach = d.calls()[1]
    assert (attach.headers["connection"], attach.headers["upgrade"], attach.headers["content-type"]) == ("Upgrade", "tcp", "text/plain")
    assert box.stdin_seen == b""  # no stdin: the CLI half-closed at once, output still came
    body = json.loads(d.calls()[0].body)
    assert body["HostConfig"]["AutoRemove"] is True and body["AttachStdout"] is True


def test_run_detached_prints_the_id_and_does_not_attach(d: FakeDaemon) -> None:
    created(d)
    Container(d, [], 0)
    status, out, err = invoke(d, "run", ["-d", "--name", "apic-d", "busybox", "sleep", "300"])
    assert (status, out, err) == (0, CID.encode() + b"\n", b"")
    assert d.requests() == [
        "POST /v1.41/containers/create?name=apic-d",
        f"POST /v1.41/containers/{CID}/wait?condition=next-exit",
        f"POST /v1.41/containers/{CID}/start",
    ]


def test_run_pipes_stdin_with_i_and_half_closes_at_eof(d: FakeDaemon, monkeypatch: pytest.MonkeyPatch) -> None:
    created(d)
    box = Container(d, [(1, b"echo-stdin:")], 0)
    r, w = os.pipe()
    os.write(w, b"typed input\n")
    os.close(w)

    class Stdin:
        def fileno(self) -> int:
            return r

        def isatty(self) -> bool:
            return False

    monkeypatch.setattr(sys, "stdin", Stdin())
    try:
        status, out, _ = invoke(d, "run", ["-i", "busybox", "cat"])
    finally:
        os.close(r)
    assert status == 0
    assert box.stdin_seen == b"typed input\n"
    assert out == b"echo-stdin:typed input\n"
    assert f"POST /v1.41/containers/{CID}/attach?stderr=1&stdin=1&stdout=1&stream=1" in d.requests()


def _pull_stream(r: Request, c: Conn) -> None:
    c.start_chunked()
    for msg in (
        {"status": "Pulling from library/nosuchimage-apic", "id": "1"},
        {"status": "Digest: sha256:abc"},
        {"status": "Status: Downloaded newer image for nosuchimage-apic:1"},
    ):
        c.chunk(json.dumps(msg).encode() + b"\r\n")
    c.end_chunked()


def test_run_pulls_a_missing_image_and_retries(d: FakeDaemon) -> None:
    calls = []

    def create(r: Request, c: Conn) -> None:
        calls.append(r.body)
        if len(calls) == 1:
            c.error(404, "No such image: nosuchimage-apic:1")
        else:
            c.reply(201, {"Id": CID, "Warnings": ["memory is low"]})

    d.route("POST", "/containers/create", create)
    d.route("POST", "/images/create", _pull_stream)
    Container(d, [], 0)
    status, out, err = invoke(d, "run", ["-d", "nosuchimage-apic:1", "true"])
    assert status == 0
    assert out == CID.encode() + b"\n"  # stdout carries only the id; the pull goes to stderr
    assert err == (
        b"Unable to find image 'nosuchimage-apic:1' locally\n"
        b"1: Pulling from library/nosuchimage-apic\nDigest: sha256:abc\n"
        b"Status: Downloaded newer image for nosuchimage-apic:1\nWARNING: memory is low\n"
    )
    assert d.requests()[:3] == [
        "POST /v1.41/containers/create",
        "POST /v1.41/images/create?fromImage=docker.io%2Flibrary%2Fnosuchimage-apic&tag=1",
        "POST /v1.41/containers/create",
    ]
    assert calls[0] == calls[1]


def test_run_pull_failure_exits_125(d: FakeDaemon) -> None:
    d.route("POST", "/containers/create", lambda r, c: c.error(404, "No such image: nosuchimage-apic:1"))
    msg = 'Get "https://registry-1.docker.io/v2/": dial tcp: lookup registry-1.docker.io: no such host'
    d.route("POST", "/images/create", lambda r, c: c.error(500, msg))
    status, out, err = invoke(d, "run", ["--rm", "nosuchimage-apic:1", "true"])
    assert status == 125 and out == b""
    assert err == (
        b"Unable to find image 'nosuchimage-apic:1' locally\n"
        + f"berth: Error response from daemon: {msg}\n\nRun 'berth run --help' for more information\n".encode()
    )


def test_run_pull_never_does_not_pull(d: FakeDaemon) -> None:
    d.route("POST", "/containers/create", lambda r, c: c.error(404, "No such image: x:1"))
    status, _, err = invoke(d, "run", ["--pull", "never", "x:1"])
    assert status == 125
    assert err.startswith(b"berth: Error response from daemon: No such image: x:1\n")
    assert d.requests() == ["POST /v1.41/containers/create"]


@pytest.mark.parametrize(
    ("message", "status"),
    [
        ('failed to create task: exec: "nosuch": executable file not found in $PATH: unknown', 127),
        ("exec /etc/passwd: permission denied", 126),
        ("cannot start: something else broke", 125),
    ],
)
def test_run_start_errors_map_to_docker_statuses(d: FakeDaemon, message: str, status: int) -> None:
    created(d)
    box = Container(d, [], 0)
    box.start_error = (400, message)
    got, _, err = invoke(d, "run", ["busybox", "nosuch"])
    assert got == status
    assert err == f"berth: Error response from daemon: {message}\n\nRun 'berth run --help' for more information\n".encode()


def test_run_writes_the_cidfile_and_refuses_an_existing_one(d: FakeDaemon, tmp_path: Path) -> None:
    created(d)
    Container(d, [], 0)
    cidfile = tmp_path / "cid"
    assert invoke(d, "run", ["-d", "--cidfile", str(cidfile), "busybox"])[0] == 0
    assert cidfile.read_text() == CID
    status, _, err = invoke(d, "run", ["-d", "--cidfile", str(cidfile), "busybox"])
    assert status == 125
    assert b"container ID file found" in err


def test_run_bad_flag_value_is_a_125_usage_error(d: FakeDaemon) -> None:
    status, _, err = invoke(d, "run", ["-m", "lots", "busybox"])
    assert status == 125
    assert err.startswith(b"""invalid argument "lots" for "-m, --memory" flag: invalid size: 'lots'\n\nUsage:""")
    assert d.requests() == []


def test_create_prints_the_id_and_daemon_errors_exit_1(d: FakeDaemon) -> None:
    created(d)
    assert invoke(d, "create", ["--name", "apic-c1", "busybox", "sleep", "300"]) == (0, CID.encode() + b"\n", b"")
    assert d.requests() == ["POST /v1.41/containers/create?name=apic-c1"]
    d.routes.clear()
    d.route("POST", "/containers/create", lambda r, c: c.error(400, "Minimum memory limit allowed is 6MB"))
    assert invoke(d, "create", ["--memory", "10k", "busybox"]) == (1, b"", b"Error response from daemon: Minimum memory limit allowed is 6MB\n")


def test_start_several_reports_failures_like_docker(d: FakeDaemon) -> None:
    d.route("POST", "/containers/apic-c1/start", lambda r, c: c.reply(204))
    d.route("POST", "/containers/up/start", lambda r, c: c.reply(304))
    d.route("POST", "/containers/apic-nosuch/start", lambda r, c: c.error(404, "No such container: apic-nosuch"))
    status, out, err = invoke(d, "start", ["apic-c1", "apic-nosuch", "up"])
    assert (status, out) == (1, b"apic-c1\nup\n")
    assert err == b"Error response from daemon: No such container: apic-nosuch\nError: failed to start containers: apic-nosuch\n"


def _inspect(cid: str, tty: bool = False, running: bool = True, open_stdin: bool = False) -> dict[str, object]:
    return {
        "Id": cid,
        "Config": {"Tty": tty, "OpenStdin": open_stdin},
        "State": {"Running": running, "Paused": False, "Restarting": False},
        "HostConfig": {"AutoRemove": False},
    }


def test_start_attach_streams_and_returns_the_status(d: FakeDaemon) -> None:
    d.route("GET", "/containers/apic-x/json", lambda r, c: c.reply(200, _inspect(CID)))
    Container(d, [(1, b"out\n")], 3)
    assert invoke(d, "start", ["-a", "apic-x"]) == (3, b"out\n", b"")
    assert d.requests() == [
        "GET /v1.41/containers/apic-x/json",
        f"POST /v1.41/containers/{CID}/attach?stderr=1&stdout=1&stream=1",
        f"POST /v1.41/containers/{CID}/wait?condition=next-exit",
        f"POST /v1.41/containers/{CID}/start",
    ]
    assert invoke(d, "start", ["-a", "a", "b"])[0:3:2] == (1, b"you cannot start and attach multiple containers at once\n")


def test_attach_follows_the_trace_and_returns_the_status(d: FakeDaemon) -> None:
    d.route("GET", "/containers/apic-att/json", lambda r, c: c.reply(200, _inspect(CID)))
    box = Container(d, [(1, b"tick\n"), (2, b"oops\n")], 2, cid="apic-att")
    box.started.set()
    assert invoke(d, "attach", ["apic-att"]) == (2, b"tick\n", b"oops\n")
    assert d.requests() == [
        "POST /v1.41/containers/apic-att/wait",
        "GET /v1.41/containers/apic-att/json",
        "POST /v1.41/containers/apic-att/attach?stderr=1&stdout=1&stream=1",
        "GET /v1.41/containers/apic-att/json",
    ]


def test_attach_refuses_a_stopped_container(d: FakeDaemon) -> None:
    d.route("GET", "/containers/s/json", lambda r, c: c.reply(200, _inspect(CID, running=False)))
    d.route("POST", "/containers/s/wait", lambda r, c: c.start_chunked())
    status, _, err = invoke(d, "attach", ["s"])
    assert (status, err) == (1, b"You cannot attach to a stopped container, start it first\n")


EXEC_ID = "00c01978f2d65af63c44f059339890fb46bca68a57631348690996c6be009984"


def _exec_routes(d: FakeDaemon, exit_code: int, output: bytes) -> None:
    d.route("GET", "/containers/apic-d2/json", lambda r, c: c.reply(200, _inspect(CID)))
    d.route("POST", "/containers/apic-d2/exec", lambda r, c: c.reply(201, {"Id": EXEC_ID}))

    def start(r: Request, c: Conn) -> bool:
        if json.loads(r.body)["Detach"]:
            c.reply(200, b"")
            return False
        c.upgrade()
        c.read_until_eof()
        c.sock.sendall(output)
        c.sock.close()
        return True

    d.route("POST", f"/exec/{EXEC_ID}/start", start)
    d.route("GET", f"/exec/{EXEC_ID}/json", lambda r, c: c.reply(200, {"ID": EXEC_ID, "Running": False, "ExitCode": exit_code}))


def test_exec_sends_the_recorded_body_and_returns_the_exit_code(d: FakeDaemon) -> None:
    _exec_routes(d, 3, frame(1, b"exec-out\n") + frame(2, b"exec-err\n"))
    status, out, err = invoke(d, "exec_", ["apic-d2", "sh", "-c", "exit 3"])
    assert (status, out, err) == (3, b"exec-out\n", b"exec-err\n")
    assert d.requests() == [
        "GET /v1.41/containers/apic-d2/json",
        "POST /v1.41/containers/apic-d2/exec",
        f"POST /v1.41/exec/{EXEC_ID}/start",
        f"GET /v1.41/exec/{EXEC_ID}/json",
    ]
    assert d.calls()[1].body == (
        b'{"User":"","Privileged":false,"Tty":false,"AttachStdin":false,"AttachStderr":true,"AttachStdout":true,'
        b'"Detach":false,"DetachKeys":"","Env":null,"WorkingDir":"","Cmd":["sh","-c","exit 3"]}'
    )
    assert d.calls()[2].body == b'{"Detach":false,"Tty":false}' and d.calls()[2].headers["upgrade"] == "tcp"


def test_exec_passes_on_126_and_127_and_detaches_with_d(d: FakeDaemon) -> None:
    _exec_routes(d, 127, frame(1, b'OCI runtime exec failed: exec: "nope": executable file not found in $PATH\r\n'))
    assert invoke(d, "exec_", ["apic-d2", "nope"])[0] == 127
    d.seen.clear()
    assert invoke(d, "exec_", ["-d", "-e", "A=1", "-u", "nobody", "-w", "/tmp", "--privileged", "apic-d2", "sleep", "1"]) == (0, b"", b"")
    body = json.loads(d.calls()[1].body)
    assert (body["Env"], body["User"], body["WorkingDir"], body["Privileged"], body["AttachStdout"]) == (["A=1"], "nobody", "/tmp", True, False)
    assert json.loads(d.calls()[2].body) == {"Detach": True, "Tty": False}


def test_exec_missing_container_exits_1(d: FakeDaemon) -> None:
    d.route("GET", "/containers/gone/json", lambda r, c: c.error(404, "No such container: gone"))
    assert invoke(d, "exec_", ["gone", "true"]) == (1, b"", b"Error response from daemon: No such container: gone\n")


def test_wait_prints_each_code_and_reports_errors_at_the_end(d: FakeDaemon) -> None:
    def done(code: int):  # type: ignore[no-untyped-def]
        def handler(r: Request, c: Conn) -> None:
            c.start_chunked()
            c.chunk(json.dumps({"Error": None, "StatusCode": code}).encode())
            c.end_chunked()

        return handler

    d.route("POST", "/containers/a/wait", done(0))
    d.route("POST", "/containers/b/wait", done(137))
    d.route("POST", "/containers/x/wait", lambda r, c: c.error(404, "No such container: x"))
    assert invoke(d, "wait", ["a", "x", "b"]) == (1, b"0\n137\n", b"Error response from daemon: No such container: x\n")


def test_logs_demuxes_unless_tty_and_sends_the_docker_query(d: FakeDaemon) -> None:
    full = "3c0ba8408ee135a9d78fd9abc147d8d7e7685fc8d899812f12a7a55cc51c5f25"
    d.route("GET", "/containers/apic-logs/json", lambda r, c: c.reply(200, _inspect(full)))
    d.route("GET", "/containers/apic-tty/json", lambda r, c: c.reply(200, _inspect(full, tty=True)))

    def logs(r: Request, c: Conn) -> None:
        c.start_chunked()
        c.chunk(frame(1, b"out-line\n"))
        c.chunk(frame(2, b"err-line\n"))
        c.end_chunked()

    d.route("GET", f"/containers/{full}/logs", logs)
    assert invoke(d, "logs", ["apic-logs"]) == (0, b"out-line\n", b"err-line\n")
    assert d.requests() == ["GET /v1.41/containers/apic-logs/json", f"GET /v1.41/containers/{full}/logs?stderr=1&stdout=1&tail=all"]
    d.seen.clear()
    status, out, err = invoke(d, "logs", ["-f", "-t", "-n", "5", "--since", "1700000000", "--until", "2026-11-27T21:05:05Z", "apic-tty"])
    assert (status, err) == (0, b"")
    assert out == frame(1, b"out-line\n") + frame(2, b"err-line\n")  # a TTY log is raw bytes
    assert d.requests()[1] == (
        f"GET /v1.41/containers/{full}/logs?follow=1&since=1700000000&stderr=1&stdout=1&tail=5&timestamps=1&until=1795813505.000000000"
    )
    status, _, err = invoke(d, "logs", ["--since", "soon", "apic-logs"])
    assert (status, err) == (1, b'invalid value for "since": failed to parse value as time or duration: "soon"\n')


def test_run_it_raw_terminal_resize_and_detach_keys(d: FakeDaemon, monkeypatch: pytest.MonkeyPatch) -> None:
    import fcntl
    import pty
    import struct
    import termios

    from berth.cli.commands import run as run_cmd

    created(d)
    box = Container(d, [(1, b"/ # ")], 0, tty=True)
    in_master, in_slave = pty.openpty()
    out_master, out_slave = pty.openpty()
    fcntl.ioctl(out_slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    cooked = termios.tcgetattr(in_slave)
    cooked[0] &= ~(termios.IXON | termios.ICRNL)  # let ctrl-q and \r through before raw mode is set
    cooked[3] &= ~termios.ICANON
    termios.tcsetattr(in_slave, termios.TCSANOW, cooked)
    before = termios.tcgetattr(in_slave)

    class Stdin:
        def fileno(self) -> int:
            return in_slave

        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(sys, "stdin", Stdin())
    out = io.TextIOWrapper(io.FileIO(os.dup(out_slave), "w"), write_through=True)
    cli = Cli(f"unix://{d.path}", out=out, err=io.StringIO())
    os.write(in_master, b"ls\r\x10\x11")  # typed, then ctrl-p ctrl-q
    try:
        opts, args = parse(["-it", "--rm", "--name", "apic-it", "busybox", "sh"], run_cmd.COMMAND.flags, False)
        assert run_cmd.run(cli, opts, args) == 0  # detached: nothing printed, exit 0
        assert termios.tcgetattr(in_slave) == before  # the terminal is restored
    finally:
        cli.close()
        out.close()
        for fd in (in_master, in_slave, out_master, out_slave):
            os.close(fd)
    assert box.stdin_done.wait(5)
    assert box.stdin_seen == b"ls\r"  # the detach keys are not sent
    assert f"POST /v1.41/containers/{CID}/resize?h=40&w=120" in d.requests()
    assert json.loads(d.calls()[0].body)["HostConfig"]["ConsoleSize"] == [40, 120]
    assert f"POST /v1.41/containers/{CID}/attach?stderr=1&stdin=1&stdout=1&stream=1" in d.requests()


def test_client_hijack_raises_the_daemon_error_and_accepts_a_plain_raw_stream(d: FakeDaemon) -> None:
    from berth import errdefs
    from berth.client.api import Client

    d.route("POST", "/containers/gone/attach", lambda r, c: c.error(404, "No such container: gone"))

    def plain(r: Request, c: Conn) -> bool:  # dockerd's answer to a request without Upgrade headers
        c.sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.raw-stream\r\n\r\nraw-bytes")
        c.sock.close()
        return True

    d.route("POST", "/containers/plain/attach", plain)
    with Client(f"unix://{d.path}") as client:
        with pytest.raises(errdefs.NotFound, match="No such container: gone"):
            client.container_attach("gone")
        conn = client.container_attach("plain")
        assert conn.status == 200
        assert conn.recv() + conn.recv() == b"raw-bytes"
        conn.close()
