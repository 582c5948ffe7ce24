"""``berth run -it`` and ``docker run -it`` against berthd under a real terminal: a pty from
the runtime's console socket, the CLI in raw mode, the window size at start, exit codes,
ctrl-p ctrl-q detaching."""

from __future__ import annotations

import fcntl
import json
import os
import select
import struct
import subprocess
import sys
import termios
import time

import pytest

from berth.testing.berthd import Berthd

pytestmark = pytest.mark.root

BERTH = os.path.join(os.path.dirname(sys.executable), "berth")
DOCKER = "/usr/local/bin/docker"


class Term:
    def __init__(self, argv: list[str], env: dict[str, str], rows: int = 33, cols: int = 101) -> None:
        self.master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env,
                                     start_new_session=True, preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0))  # fmt: skip
        os.close(slave)
        self.out = b""

    def send(self, data: bytes) -> None:
        os.write(self.master, data)

    def expect(self, needle: bytes, timeout: float = 15) -> bytes:
        deadline = time.monotonic() + timeout
        while needle not in self.out:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{needle!r} not seen in {self.out!r}")
            if select.select([self.master], [], [], left)[0]:
                try:
                    chunk = os.read(self.master, 4096)
                except OSError:
                    chunk = b""
                if not chunk:
                    raise AssertionError(f"terminal closed before {needle!r}: {self.out!r}")
                self.out += chunk
        return self.out

    def wait(self, timeout: float = 15) -> int:
        try:
            return self.proc.wait(timeout)
        finally:
            os.close(self.master)


def _env(d: Berthd) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DOCKER_", "BERTH_"))}
    return env | {"BERTH_HOST": d.host, "DOCKER_HOST": d.host, "DOCKER_CONFIG": os.path.join(d.dir, "dc"), "TERM": "xterm"}


@pytest.mark.parametrize("cli", ["berth", "docker"])
def test_run_it_gives_a_terminal_of_the_right_size(daemon: Berthd, busybox: str, cli: str) -> None:
    argv = [BERTH] if cli == "berth" else [DOCKER]
    if not os.access(argv[0], os.X_OK):
        pytest.skip(f"{argv[0]} is not installed")
    t = Term([*argv, "run", "--rm", "-it", "busybox", "sh"], _env(daemon))
    t.expect(b"# ")
    t.send(b"echo $((6*7)); tty; stty size\r")
    t.expect(b"33 101")
    assert b"42" in t.out and b"/dev/pts/0" in t.out
    t.send(b"exit 5\r")
    assert t.wait() == 5


def test_detach_keys_leave_the_container_running(daemon: Berthd, busybox: str) -> None:
    env = _env(daemon)
    t = Term([BERTH, "run", "-it", "--name", "detached", "busybox", "sh"], env)
    t.expect(b"# ")
    t.send(b"\x10\x11")  # ctrl-p ctrl-q
    assert t.wait() == 0
    p = subprocess.run([BERTH, "inspect", "detached"], env=env, capture_output=True, text=True, check=True)
    assert json.loads(p.stdout)[0]["State"]["Running"] is True
    subprocess.run([BERTH, "rm", "-f", "detached"], env=env, check=True, capture_output=True)
