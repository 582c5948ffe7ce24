"""berth-shim in exec mode for real: processes exec'd into a running container (under its
own init shim) through berth-runtime and runc, with output held for the first attach,
exit codes, stdin, a terminal with resize, kill, and the runtime's refusal reported."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

from berth import errdefs
from berth.shim.client import OCIRuntimeError, ShimClient, launch, launch_exec, read_exit
from berth.testing.bundles import make_bundle
from berth.testing.runtimes import find

pytestmark = [pytest.mark.root, pytest.mark.skipif(os.geteuid() != 0, reason="needs root")]

VENV_BIN = os.path.dirname(sys.executable)
SHIM = os.path.join(VENV_BIN, "berth-shim")
RUNTIMES = {"berth-runtime": os.path.join(VENV_BIN, "berth-runtime"), "runc": find("runc")}


class Exec:
    """One exec'd process: its state dir, shim pid and client."""

    def __init__(self, state_dir: str, shim_pid: int) -> None:
        self.state_dir = state_dir
        self.shim_pid = shim_pid
        self.client = ShimClient(state_dir, timeout=20)


class Running:
    """A running ``sleep`` container under a shim, named after the test, and the execs
    made in it; everything is removed however the test ends."""

    def __init__(self, base: str, name: str, runtime: str, template: str) -> None:
        self.base = base
        self.id = name
        self.runtime = runtime
        self.bundle = os.path.join(base, "bundle")
        self.state_dir = os.path.join(base, "state")
        self.runtime_root = os.path.join(base, "rroot")
        self.cgroup = f"/berth-test-{name}"
        self.client = ShimClient(self.state_dir, timeout=20)
        self.spec = make_bundle(self.bundle, template, ["sleep", "600"], cgroups_path=self.cgroup)
        self.shim_pid = 0
        self.execs: list[Exec] = []

    def start(self) -> None:
        self.shim_pid = launch(
            [SHIM], id=self.id, bundle=self.bundle, state_dir=self.state_dir,
            runtime=self.runtime, runtime_root=self.runtime_root,
        )  # fmt: skip
        self.client.start()

    def process_file(self, name: str, args: list[str], tty: bool = False, **kw: Any) -> str:
        """A process.json as berthd derives it: the container's process, other args."""
        proc = dict(self.spec["process"], args=args, terminal=tty, **kw)
        proc.pop("consoleSize", None)
        path = os.path.join(self.base, f"{name}.process.json")
        with open(path, "w") as f:
            json.dump(proc, f)
        return path

    def exec(self, args: list[str], *, tty: bool = False, env: list[str] | None = None,
             user: dict[str, int] | None = None, cwd: str = "", **kw: Any) -> Exec:  # fmt: skip
        name = f"e{len(self.execs) + 1}"
        extra: dict[str, Any] = {}
        if env:
            extra["env"] = [*self.spec["process"]["env"], *env]
        if user:
            extra["user"] = user
        if cwd:
            extra["cwd"] = cwd
        pf = self.process_file(name, args, tty, **extra)
        sd = os.path.join(self.base, "execs", name)
        pid = launch_exec(
            [SHIM], exec_id=f"{self.id}-{name}", process=pf, id=self.id, state_dir=sd,
            runtime=self.runtime, runtime_root=self.runtime_root, tty=tty, **kw,
        )  # fmt: skip
        e = Exec(sd, pid)
        self.execs.append(e)
        return e

    def cleanup(self) -> None:
        for e in self.execs:
            if e.client.alive():
                try:
                    e.client.delete(force=True)
                except Exception:
                    pass
            _end(e.shim_pid)
        if self.shim_pid and self.client.alive():
            try:
                self.client.delete(force=True)
            except Exception:
                pass
        _end(self.shim_pid)
        subprocess.run([self.runtime, "--root", self.runtime_root, "delete", "--force", self.id],
                       capture_output=True, check=False)  # fmt: skip


def _gone(pid: int, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return True
        except OSError:
            return True
        time.sleep(0.02)
    return False


def _end(pid: int) -> None:
    if pid and not _gone(pid):
        os.kill(pid, signal.SIGKILL)
        _gone(pid)


@pytest.fixture(params=[k for k, v in RUNTIMES.items() if v])
def ctr(request: Any, tmp_path: Any, busybox_template: str) -> Iterator[Running]:
    if not os.path.exists(SHIM):
        pytest.skip("berth-shim launcher missing: run scripts/install.sh")
    name = f"shimx-{request.node.originalname.removeprefix('test_')[:28]}-{request.param[:5]}"
    c = Running(
        str(tmp_path), name.replace("_", "-"), RUNTIMES[request.param] or "", busybox_template
    )
    try:
        c.start()
        yield c
    finally:
        c.cleanup()
    for sd in [c.state_dir, *(e.state_dir for e in c.execs)]:
        assert not os.path.exists(os.path.join(sd, "shim.sock"))
    tops = [os.path.join("/sys/fs/cgroup", t) for t in os.listdir("/sys/fs/cgroup")]
    assert [t for t in tops if os.path.isdir(t + c.cgroup)] == []


def _recv_all(s: socket.socket, timeout: float = 20, until: bytes = b"") -> bytes:
    """Read until the shim closes the stream (or ``until`` has arrived)."""
    s.settimeout(timeout)
    buf = b""
    while not until or until not in buf:
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


def _streams(data: bytes) -> tuple[bytes, bytes]:
    frames = _demux(data)
    return (b"".join(p for s, p in frames if s == 1), b"".join(p for s, p in frames if s == 2))


def test_output_is_held_for_the_first_attach_and_exit_is_recorded(ctr: Running):
    e = ctr.exec(["sh", "-c", "echo hello; echo oops >&2"])
    ex = e.client.wait(timeout=20)  # exited and drained before anyone attached
    assert ex["exit_code"] == 0 and ex["signal"] is None and ex["exec_id"] == f"{ctr.id}-e1"
    assert read_exit(e.state_dir) == ex
    s, tty, rest = e.client.attach()
    try:
        assert not tty
        assert _streams(rest + _recv_all(s)) == (b"hello\n", b"oops\n")
    finally:
        s.close()
    # No json-file log of exec output (Docker logs none).
    assert set(os.listdir(e.state_dir)) <= {"exec.pid", "exit.json", "runtime.log", "shim.log", "shim.sock"}  # fmt: skip
    assert e.client.state()["status"] == "stopped"
    assert ctr.client.state()["status"] == "running"  # the container lives on
    assert e.client.delete() == ex
    assert _gone(e.shim_pid)
    assert ctr.client.state()["status"] == "running"


def test_exit_code_comes_back(ctr: Running):
    e = ctr.exec(["sh", "-c", "exit 3"])
    assert e.client.wait(timeout=20)["exit_code"] == 3
    st = e.client.state()
    assert st["status"] == "stopped" and st["exec_id"] == f"{ctr.id}-e1" and st["id"] == ctr.id


def test_env_user_and_cwd_apply(ctr: Running):
    e = ctr.exec(["sh", "-c", "echo $X $(pwd) $(id -u):$(id -g)"], env=["X=y"],
                 user={"uid": 1000, "gid": 1001}, cwd="/tmp")  # fmt: skip
    s, _, rest = e.client.attach()
    try:
        assert _streams(rest + _recv_all(s)) == (b"y /tmp 1000:1001\n", b"")
    finally:
        s.close()
    assert e.client.wait(timeout=20)["exit_code"] == 0


def test_stdin_reaches_the_process_and_half_close_ends_it(ctr: Running):
    e = ctr.exec(["cat"], stdin_once=True)
    s, _, rest = e.client.attach(stdin=True)
    try:
        assert rest == b""
        s.sendall(b"ping\n")
        assert _demux(_recv_all(s, until=b"ping\n")) == [(1, b"ping\n")]
        assert e.client.state()["status"] == "running"
        s.sendall(b"pong\n")
        s.shutdown(socket.SHUT_WR)  # cat sees EOF and exits
        assert _streams(_recv_all(s)) == (b"pong\n", b"")
    finally:
        s.close()
    assert e.client.wait(timeout=20)["exit_code"] == 0


def test_terminal_with_resize(ctr: Running):
    e = ctr.exec(["sh", "-c", "tty; read x; stty size; echo got-$x"], tty=True, stdin=True)
    s, tty, rest = e.client.attach(stdin=True)
    try:
        assert tty
        e.client.resize(33, 101)
        s.sendall(b"abc\r")
        out = rest + _recv_all(s)
    finally:
        s.close()
    # (?m): the terminal may echo "abc" before the shell prints its tty
    assert re.search(rb"(?m)^/dev/pts/\d+\r\n", out), out
    assert b"33 101\r\n" in out and b"got-abc\r\n" in out
    assert e.client.wait(timeout=20)["exit_code"] == 0


@pytest.mark.parametrize(
    ("args", "needle"),
    [(["nope"], 'exec: "nope": executable file not found in $PATH'),
     (["/etc/passwd"], 'exec: "/etc/passwd": permission denied')],
)  # fmt: skip
def test_runtime_refusal_comes_back_from_launch(ctr: Running, args: list[str], needle: str):
    with pytest.raises(OCIRuntimeError) as info:
        ctr.exec(args)
    err = info.value
    assert err.runtime_message.endswith(needle), err.runtime_message
    assert needle in str(err) and f"exec '{ctr.id}-e1' in '{ctr.id}'" in str(err)
    sd = os.path.join(ctr.base, "execs", "e1")
    assert not os.path.exists(os.path.join(sd, "shim.sock")) and read_exit(sd) is None
    assert ctr.client.state()["status"] == "running"


def test_tty_must_agree_with_the_process_file(ctr: Running):
    pf = ctr.process_file("mismatch", ["true"], tty=True)
    with pytest.raises(errdefs.Internal, match="terminal is true but --tty is not given"):
        launch_exec([SHIM], exec_id="mismatch", process=pf, id=ctr.id,
                    state_dir=os.path.join(ctr.base, "mismatch"), runtime=ctr.runtime,
                    runtime_root=ctr.runtime_root)  # fmt: skip


def test_kill_signals_the_exec_not_the_container(ctr: Running):
    e = ctr.exec(["sleep", "60"])
    st = e.client.state()
    assert st["status"] == "running" and st["pid"] != ctr.client.state()["pid"]
    with pytest.raises(errdefs.Conflict):
        e.client.delete()  # running: needs force
    e.client.kill(signal.SIGTERM)
    ex = e.client.wait(timeout=20)
    assert (ex["exit_code"], ex["signal"]) == (143, signal.SIGTERM)
    assert ctr.client.state()["status"] == "running"
    with pytest.raises(errdefs.Conflict):
        e.client.kill(signal.SIGKILL)


def test_forced_delete_kills_a_running_exec(ctr: Running):
    e = ctr.exec(["sleep", "60"])
    pid = e.client.state()["pid"]
    with pytest.raises(errdefs.Conflict):
        e.client.start()  # an exec starts at launch
    with pytest.raises(errdefs.Conflict):
        e.client.resize(10, 10)  # no terminal
    ex = e.client.delete(force=True)
    assert ex is not None and ex["signal"] == signal.SIGKILL
    assert _gone(e.shim_pid) and not os.path.exists(f"/proc/{pid}")
    assert ctr.client.state()["status"] == "running"


def test_unattached_output_is_capped_and_never_blocks(ctr: Running):
    e = ctr.exec(["sh", "-c", "head -c 3000000 /dev/zero; echo done >&2"])
    assert e.client.wait(timeout=30)["exit_code"] == 0  # it did not block on a full pipe
    s, _, rest = e.client.attach()
    try:
        out, _ = _streams(rest + _recv_all(s))
    finally:
        s.close()
    assert 0 < len(out) <= 1 << 20 and set(out) == {0}


def test_linger_ends_an_unclaimed_exec_shim(ctr: Running):
    e = ctr.exec(["true"], linger=0.3)
    assert e.client.wait(timeout=20)["exit_code"] == 0
    assert _gone(e.shim_pid, timeout=5)
    assert read_exit(e.state_dir)["exit_code"] == 0
    assert ctr.client.state()["status"] == "running"


def test_exec_dies_with_its_container(ctr: Running):
    e = ctr.exec(["sleep", "60"])
    ctr.client.kill(signal.SIGKILL)
    assert ctr.client.wait(timeout=20)["signal"] == signal.SIGKILL
    assert e.client.wait(timeout=20)["signal"] == signal.SIGKILL
