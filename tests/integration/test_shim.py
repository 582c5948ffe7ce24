"""berth-shim for real: create/start through berth-runtime and runc, output into the
json-file log, attach with stdin, exit records, a terminal with resize, and a shim that
outlives the process that started it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

from berth.logs import read
from berth.shim.client import ShimClient, launch, read_exit
from berth.testing.bundles import make_bundle
from berth.testing.runtimes import find

pytestmark = [pytest.mark.root, pytest.mark.skipif(os.geteuid() != 0, reason="needs root")]

VENV_BIN = os.path.dirname(sys.executable)
SHIM = os.path.join(VENV_BIN, "berth-shim")
RUNTIMES = {"berth-runtime": os.path.join(VENV_BIN, "berth-runtime"), "runc": find("runc")}


class Box:
    """One container under a shim, named after the test; cleaned up however it ends."""

    def __init__(self, base: str, name: str, runtime: str, template: str) -> None:
        self.name = name
        self.id = name
        self.runtime = runtime
        self.base = base
        self.bundle = os.path.join(base, "bundle")
        self.state_dir = os.path.join(base, "state")
        self.runtime_root = os.path.join(base, "rroot")
        self.log_path = os.path.join(base, f"{name}-json.log")
        self.template = template
        self.cgroup = f"/berth-test-{name}"
        self.shim_pid = 0
        self.client = ShimClient(self.state_dir, timeout=20)

    def launch(self, args: list[str], *, terminal: bool = False, **kw: Any) -> int:
        spec = make_bundle(self.bundle, self.template, args, cgroups_path=self.cgroup)
        if terminal:
            spec["process"]["terminal"] = True
            from berth.testing.bundles import write_config

            write_config(self.bundle, spec)
        self.shim_pid = launch(
            [SHIM], id=self.id, bundle=self.bundle, state_dir=self.state_dir, runtime=self.runtime,
            runtime_root=self.runtime_root, log_path=self.log_path, tty=terminal, **kw,
        )  # fmt: skip
        return self.shim_pid

    def log(self) -> list[tuple[str, bytes]]:
        return [(r.stream, r.line) for r in read(self.log_path)]

    def cleanup(self) -> None:
        if self.shim_pid and self.client.alive():
            try:
                self.client.delete(force=True)
            except Exception:
                pass
        _wait_gone(self.shim_pid)
        if self.shim_pid and os.path.exists(f"/proc/{self.shim_pid}"):
            os.kill(self.shim_pid, signal.SIGKILL)
            _wait_gone(self.shim_pid)
        subprocess.run([self.runtime, "--root", self.runtime_root, "delete", "--force", self.id],
                       capture_output=True, check=False)  # fmt: skip


def _wait_gone(pid: int, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while pid and time.monotonic() < deadline:
        if not os.path.exists(f"/proc/{pid}"):
            return True
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return True
        except OSError:
            return True
        time.sleep(0.02)
    return not pid


@pytest.fixture(params=[k for k, v in RUNTIMES.items() if v])
def box(request: Any, tmp_path: Any, busybox_template: str) -> Iterator[Box]:
    if not os.path.exists(SHIM):
        pytest.skip("berth-shim launcher missing: run scripts/install.sh")
    name = f"shim-{request.node.originalname.removeprefix('test_')[:30]}-{request.param[:5]}"
    b = Box(str(tmp_path), name.replace("_", "-"), RUNTIMES[request.param] or "", busybox_template)
    try:
        yield b
    finally:
        b.cleanup()
    assert not os.path.exists(os.path.join(b.state_dir, "shim.sock"))
    assert _cgroups_of(b) == []


def _cgroups_of(b: Box) -> list[str]:
    tops = [os.path.join("/sys/fs/cgroup", t) for t in os.listdir("/sys/fs/cgroup")]
    return [t + b.cgroup for t in tops if os.path.isdir(t + b.cgroup)]


def _recv_until(s: socket.socket, want: bytes, timeout: float = 10) -> bytes:
    s.settimeout(timeout)
    buf = b""
    while want not in buf:
        chunk = s.recv(65536)
        if not chunk:
            break
        buf += chunk
    return buf


def _demux(data: bytes) -> list[tuple[int, bytes]]:
    out = []
    while len(data) >= 8:
        n = int.from_bytes(data[4:8], "big")
        out.append((data[0], data[8 : 8 + n]))
        data = data[8 + n :]
    assert not data
    return out


def test_output_lands_in_json_file_log_and_exit_is_recorded(box: Box):
    box.launch(["sh", "-c", "echo hello; echo oops >&2; printf tail; exit 3"])
    assert box.client.state()["status"] == "created"
    box.client.start()
    ex = box.client.wait(timeout=20)
    assert ex["exit_code"] == 3 and ex["signal"] is None and ex["oom_killed"] is False
    assert read_exit(box.state_dir) == ex
    log = box.log()
    assert sorted(log) == sorted(
        [("stdout", b"hello\n"), ("stderr", b"oops\n"), ("stdout", b"tail\n")]
    )
    assert box.client.state()["status"] == "stopped"
    box.client.delete()
    assert _wait_gone(box.shim_pid)


def test_killed_container_records_signal(box: Box):
    box.launch(["sleep", "60"])
    box.client.start()
    box.client.kill(signal.SIGKILL)
    ex = box.client.wait(timeout=20)
    assert (ex["exit_code"], ex["signal"]) == (137, 9)


def test_attach_streams_output_live_and_feeds_stdin(box: Box):
    box.launch(["cat"], stdin_once=True)
    s, tty, rest = box.client.attach(stdin=True)
    try:
        assert not tty and rest == b""
        box.client.start()
        s.sendall(b"ping\n")
        got = _recv_until(s, b"ping\n")
        assert _demux(got) == [(1, b"ping\n")]
        s.sendall(b"pong\n")
        assert _demux(_recv_until(s, b"pong\n")) == [(1, b"pong\n")]
        s.shutdown(socket.SHUT_WR)  # stdin_once: cat sees EOF and exits
        assert _recv_until(s, b"never") == b""  # the shim ends the stream after the exit
    finally:
        s.close()
    assert box.client.wait(timeout=20)["exit_code"] == 0
    assert box.log() == [("stdout", b"ping\n"), ("stdout", b"pong\n")]


def test_attach_stdin_larger_than_pipe_buffers(box: Box):
    box.launch(["wc", "-c"], stdin_once=True)
    s, _, _ = box.client.attach(stdin=True)
    try:
        box.client.start()
        s.sendall(b"x" * (3 << 20))  # the shim holds what the pipe cannot, reading no further
        s.shutdown(socket.SHUT_WR)
        out = _recv_until(s, b"never", timeout=30)
    finally:
        s.close()
    assert [p.strip() for _, p in _demux(out)] == [b"3145728"]
    assert box.client.wait(timeout=20)["exit_code"] == 0


def test_tty_with_resize(box: Box):
    box.launch(["sh", "-c", "read x; stty size; echo got-$x"], terminal=True, stdin=True)
    s, tty, _ = box.client.attach(stdin=True)
    try:
        assert tty
        box.client.start()
        box.client.resize(33, 101)
        s.sendall(b"abc\r")
        out = _recv_until(s, b"got-abc")
        assert b"33 101\r\n" in out and b"got-abc\r\n" in out
    finally:
        s.close()
    assert box.client.wait(timeout=20)["exit_code"] == 0
    assert any(line == b"33 101\r\n" for _, line in box.log())


def test_shim_survives_its_parent_being_killed(box: Box, tmp_path: Any):
    spec = make_bundle(box.bundle, box.template, ["sleep", "60"], cgroups_path=box.cgroup)
    assert spec
    parent_code = (
        "import sys, time\n"
        "from berth.shim.client import launch, ShimClient\n"
        f"pid = launch([{SHIM!r}], id={box.id!r}, bundle={box.bundle!r}, state_dir={box.state_dir!r},"
        f" runtime={box.runtime!r}, runtime_root={box.runtime_root!r}, log_path={box.log_path!r})\n"
        f"ShimClient({box.state_dir!r}).start()\n"
        "print(pid, flush=True)\n"
        "time.sleep(300)\n"
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", parent_code], stdout=subprocess.PIPE, start_new_session=True
    )
    try:
        assert parent.stdout is not None
        box.shim_pid = int(parent.stdout.readline())
        assert os.getsid(box.shim_pid) != os.getsid(parent.pid)
        parent.kill()
        parent.wait(10)
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
    time.sleep(0.2)
    again = ShimClient(box.state_dir)  # a fresh connection, as a restarted daemon makes
    st = again.state()
    assert st["status"] == "running" and os.path.exists(f"/proc/{st['pid']}")
    assert read_exit(box.state_dir) is None
    again.kill(signal.SIGKILL)  # sleep as pid 1 has no SIGTERM handler: the kernel ignores it
    assert again.wait(timeout=20)["signal"] == signal.SIGKILL
    again.delete()
    assert _wait_gone(box.shim_pid)


def test_linger_ends_an_unclaimed_shim(box: Box):
    box.launch(["true"], linger=0.3)
    box.client.start()
    assert box.client.wait(timeout=20)["exit_code"] == 0
    assert _wait_gone(box.shim_pid, timeout=5)
    assert read_exit(box.state_dir)["exit_code"] == 0  # the record outlives the shim


def test_errors_are_typed(box: Box):
    from berth import errdefs

    box.launch(["sleep", "60"])
    with pytest.raises(errdefs.Conflict):
        box.client.resize(10, 10)
    with pytest.raises(errdefs.InvalidArgument):
        box.client.call("frobnicate")
    box.client.start()
    with pytest.raises(errdefs.Conflict):
        box.client.start()
    with pytest.raises(errdefs.Conflict):
        box.client.delete()


def test_a_created_container_can_be_deleted(box: Box):
    box.launch(["sleep", "60"])
    ex = box.client.delete()
    assert ex is not None and ex["signal"] == signal.SIGKILL
    assert _wait_gone(box.shim_pid)


def test_create_failure_is_reported(tmp_path: Any, busybox_template: str):
    b = Box(str(tmp_path), "shim-create-fails", RUNTIMES["berth-runtime"] or "", busybox_template)
    from berth import errdefs

    try:
        with pytest.raises(errdefs.Internal, match="create"):
            b.launch(["/no/such/binary"])
    finally:
        b.cleanup()
