"""A berthd for a test: its own data root, exec root and socket under one temp directory,
started as a real process and always stopped (killed and waited if need be).

    with Berthd.start("test-name") as d:
        d.request("GET", "/_ping")          # (status, headers, body) over the socket
        d.env()                             # BERTH_HOST / DOCKER_HOST pointing at it

The directory lives under /tmp with a short name: unix socket paths must fit in 108 bytes.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from types import TracebackType

__all__ = ["Berthd", "berthd_command"]


def berthd_command() -> list[str]:
    """The launcher beside this Python (what users run), else ``python -m``."""
    launcher = os.path.join(os.path.dirname(sys.executable), "berthd")
    if os.access(launcher, os.X_OK):
        return [launcher]
    return [sys.executable, "-m", "berth.daemon.main"]


class _UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self) -> None:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self.unix_path)
        self.sock = s


TEST_POOL = "base=10.213.0.0/16,size=24"  # test daemons' subnets


class Berthd:
    def __init__(self, name: str, *args: str, base: str | None = None) -> None:
        safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in name)[:24]
        self.dir = base or tempfile.mkdtemp(prefix=f"berth-test-{safe}-", dir="/tmp")
        self.root = os.path.join(self.dir, "root")
        self.exec_root = os.path.join(self.dir, "run")
        self.socket = os.path.join(self.dir, "berth.sock")
        self.host = f"unix://{self.socket}"
        self.log_path = os.path.join(self.dir, "berthd.log")
        self.args = list(args)
        self.proc: subprocess.Popen[bytes] | None = None
        self.startup_seconds = 0.0
        tag = hashlib.sha256(self.dir.encode()).hexdigest()[:6]
        self.bridge = f"berth-t{tag}"
        self.nft_table = f"berth_t{tag}"

    @classmethod
    def start(cls, name: str, *args: str, timeout: float = 10.0) -> Berthd:
        d = cls(name, *args)
        try:
            d.launch(timeout)
        except BaseException:
            d.cleanup()
            raise
        return d

    def command(self) -> list[str]:
        """The command line; a ``{}`` config file unless the test gives one, so that the
        host's /etc/berth/daemon.json never leaks into a test."""
        cmd = [*berthd_command(), "--root", self.root, "--exec-root", self.exec_root, "-H", self.host]
        if not any(a in ("-b", "--bridge") for a in self.args):
            # the test's own bridge, nftables table and subnets: never the host's berth0
            cmd += ["--bridge", self.bridge, "--nft-table", self.nft_table, "--default-address-pool", TEST_POOL]
        if not any(a == "--config-file" or a.startswith("--config-file=") for a in self.args):
            empty = os.path.join(self.dir, "daemon.json")
            if not os.path.exists(empty):
                with open(empty, "w", encoding="utf-8") as f:
                    f.write("{}\n")
            cmd += ["--config-file", empty]
        return cmd + self.args

    def launch(self, timeout: float = 10.0) -> float:
        """Start and wait until ``/_ping`` answers; the seconds that took (exec to answer)."""
        cmd = self.command()
        t0 = time.monotonic()
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"berthd exited with {self.proc.returncode}:\n{self.log()}")
            if self.ping():
                self.startup_seconds = time.monotonic() - t0
                return self.startup_seconds
            if time.monotonic() - t0 > timeout:
                raise TimeoutError(f"berthd did not answer within {timeout}s:\n{self.log()}")
            time.sleep(0.005)

    def ping(self) -> bool:
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.settimeout(1)
                s.connect(self.socket)
                s.sendall(b"HEAD /_ping HTTP/1.1\r\nHost: berth\r\nConnection: close\r\n\r\n")
                return s.recv(16).startswith(b"HTTP/1.1 200")
        except OSError:
            return False

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        c = _UnixHTTPConnection(self.socket, 10)
        try:
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            return r.status, dict(r.getheaders()), r.read()
        finally:
            c.close()

    def env(self) -> dict[str, str]:
        return dict(os.environ, BERTH_HOST=self.host, DOCKER_HOST=self.host)

    def log(self) -> str:
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> int:
        """Signal the daemon and wait; kill it if it does not go. Its exit status."""
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def cleanup(self) -> None:
        """Kill the daemon, then what it left running (shims and their containers, which
        outlive it by design), take off mounts under its directory, remove the
        containers' cgroups, and delete the directory."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        ids = self._container_ids()
        _kill_leftovers(self.dir, os.path.join(self.exec_root, "s"))
        _unmount_under(self.dir)
        if ids:
            _remove_cgroups(set(ids))
        self._remove_networking()
        from berth.cgroups.parents import remove_empty

        remove_empty("/berth")  # the daemon's default parent, once empty
        shutil.rmtree(self.dir, ignore_errors=True)

    def _remove_networking(self) -> None:
        """The bridges of the daemon's networks, its nftables tables and its FORWARD hole
        (berthd removes them itself when it stops with nothing running)."""
        import json
        import sqlite3

        from berth.network import hostfw

        bridges = {self.bridge}
        db = os.path.join(self.root, "berth.db")
        if os.path.exists(db):
            with contextlib.suppress(sqlite3.Error):
                conn = sqlite3.connect(db)
                try:
                    for (doc,) in conn.execute("SELECT doc FROM networks"):
                        with contextlib.suppress(ValueError):
                            if json.loads(doc).get("Bridge"):
                                bridges.add(json.loads(doc)["Bridge"])
                finally:
                    conn.close()
        for br in bridges:
            subprocess.run(["ip", "link", "del", br], capture_output=True, check=False)
        for family in ("inet", "bridge"):
            subprocess.run(["nft", "delete", "table", family, self.nft_table], capture_output=True, check=False)
        hostfw.remove(self.nft_table)

    def _container_ids(self) -> list[str]:
        try:
            return os.listdir(os.path.join(self.root, "containers"))
        except OSError:
            return []

    def __enter__(self) -> Berthd:
        return self

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.cleanup()


def _pids_naming(marker: str) -> set[int]:
    found = set()
    me = os.getpid()
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == me:
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                if marker.encode() in f.read():
                    found.add(int(entry))
        except OSError:
            continue
    return found


def _kill_leftovers(marker: str, shims: str) -> None:
    pids = _pids_naming(marker)
    try:
        for cid in os.listdir(shims):
            for name in ("init.pid", "exec.pid"):
                try:
                    with open(os.path.join(shims, cid, name)) as f:
                        pids.add(int(f.read().strip()))
                except (OSError, ValueError):
                    pass
    except OSError:
        pass
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    deadline = time.monotonic() + 5
    while pids and time.monotonic() < deadline:
        pids = {p for p in pids if os.path.exists(f"/proc/{p}")}
        time.sleep(0.02)


def _unmount_under(prefix: str) -> None:
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    for _ in range(3):
        with open("/proc/self/mountinfo") as f:
            points = [line.split()[4] for line in f]
        under = sorted({p for p in points if p.startswith(prefix + "/")}, key=len, reverse=True)
        if not under:
            return
        for p in under:
            libc.umount2(p.encode(), 2)  # MNT_DETACH


def _remove_cgroups(ids: set[str]) -> None:
    for base, _, _ in list(os.walk("/sys/fs/cgroup", topdown=False)):
        if os.path.basename(base) in ids:
            try:
                os.rmdir(base)
            except OSError:
                pass
