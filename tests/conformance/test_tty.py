"""A terminal through the console socket: the runtime sends the pty master over
SCM_RIGHTS; the container's stdio is the slave with the requested size."""

from __future__ import annotations

import array
import os
import socket
import threading
import time

import pytest

from berth.testing.bundles import write_config
from berth.testing.runtimes import reap

pytestmark = pytest.mark.root


def _serve_console(path: str, got: list[int]) -> socket.socket:
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(1)

    def accept() -> None:
        conn, _ = srv.accept()
        fds = array.array("i")
        _, anc, _, _ = conn.recvmsg(4096, socket.CMSG_LEN(4 * fds.itemsize))
        for level, typ, data in anc:
            if level == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
                fds.frombytes(data[: len(data) - (len(data) % fds.itemsize)])
        got.extend(fds)
        conn.close()

    threading.Thread(target=accept, daemon=True).start()
    return srv


def _read_all(fd: int, timeout: float = 5) -> bytes:
    import select

    out = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r, _, _ = select.select([fd], [], [], 0.1)
        if not r:
            continue
        try:
            data = os.read(fd, 4096)
        except OSError:
            break
        if not data:
            break
        out += data
    return out


def test_terminal_through_console_socket(ctr, tmp_path):
    spec = ctr.make(["sh", "-c", "tty; stty size; echo TERM=$TERM"])
    spec["process"]["terminal"] = True
    spec["process"]["consoleSize"] = {"height": 33, "width": 101}
    write_config(ctr.bundle, spec)
    sock = str(tmp_path / "console.sock")
    got: list[int] = []
    srv = _serve_console(sock, got)
    try:
        r = ctr.create("--console-socket", sock)
        assert r.code == 0, r
        deadline = time.monotonic() + 5
        while not got and time.monotonic() < deadline:
            time.sleep(0.01)
        assert got, "no pty master received"
        master = got[0]
        ctr.rt.ok("start", ctr.id)
        out = _read_all(master).decode()
        os.close(master)
        assert reap(ctr.pid) == 0
    finally:
        srv.close()
    lines = [ln for ln in out.replace("\r", "").splitlines() if ln]
    assert lines[0].startswith("/dev/pts/")
    assert lines[1] == "33 101"
    assert lines[2] == "TERM=xterm"


def test_terminal_without_console_socket_is_an_error(ctr):
    spec = ctr.make(["sh"])
    spec["process"]["terminal"] = True
    write_config(ctr.bundle, spec)
    r = ctr.create()
    assert r.code != 0
    assert ctr.rt("state", ctr.id).code != 0
