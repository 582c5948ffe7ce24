"""Drive an OCI runtime binary by its runc command line: the same calls for berth-runtime
and for runc (the oracle), so one conformance suite runs over both."""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import subprocess
import time
from typing import Any

__all__ = ["Result", "Runtime", "become_subreaper", "reap"]


class Result:
    def __init__(self, p: subprocess.CompletedProcess[str]) -> None:
        self.code = p.returncode
        self.out = p.stdout
        self.err = p.stderr

    def __repr__(self) -> str:
        return f"Result(code={self.code}, out={self.out!r}, err={self.err!r})"


class Runtime:
    """``name`` is "berth-runtime" or "runc"; ``binary`` its path; ``root`` the state root."""

    def __init__(self, name: str, binary: str, root: str) -> None:
        self.name = name
        self.binary = binary
        self.root = root

    def __call__(self, *args: str, stdin: Any = subprocess.DEVNULL, stdout: Any = None, timeout: float = 30) -> Result:
        p = subprocess.run(
            [self.binary, "--root", self.root, *args],
            stdin=stdin,
            stdout=stdout if stdout is not None else subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            timeout=timeout,
            check=False,
        )
        return Result(p)

    def ok(self, *args: str, **kw: Any) -> Result:
        r = self(*args, **kw)
        assert r.code == 0, f"{self.name} {' '.join(args)} failed: {r}"
        return r

    def create(self, cid: str, bundle: str, out_path: str, *extra: str) -> Result:
        """create with the container's stdout going to ``out_path`` and its stderr to
        ``out_path + ".err"`` (create's own messages land there too): a pipe would keep
        subprocess.run waiting for as long as the container lives."""
        err_path = out_path + ".err"
        start = os.path.getsize(err_path) if os.path.exists(err_path) else 0
        with open(out_path, "ab") as out, open(err_path, "ab") as err:
            p = subprocess.run(
                [self.binary, "--root", self.root, "create", "--bundle", bundle, *extra, cid],
                stdin=subprocess.DEVNULL, stdout=out, stderr=err, timeout=30, check=False,
            )  # fmt: skip
        with open(err_path, "rb") as f:
            f.seek(start)
            msg = f.read().decode("utf-8", "replace")
        return Result(subprocess.CompletedProcess(p.args, p.returncode, "", msg))

    def state(self, cid: str) -> dict[str, Any]:
        r = self.ok("state", cid)
        d: dict[str, Any] = json.loads(r.out)
        return d

    def wait_status(self, cid: str, status: str, timeout: float = 10) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        st = self.state(cid)
        while st["status"] != status and time.monotonic() < deadline:
            time.sleep(0.01)
            st = self.state(cid)
        assert st["status"] == status, f"{cid}: status {st['status']} (wanted {status})"
        return st

    def cleanup(self, cid: str) -> None:
        self("delete", "--force", cid)


def find(name: str) -> str | None:
    return shutil.which(name) or (f"/usr/sbin/{name}" if os.path.exists(f"/usr/sbin/{name}") else None)


def become_subreaper() -> None:
    """Orphaned container processes become our children, so tests can reap them and read
    their exit codes (containerd's shim does the same)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER


def reap(pid: int, timeout: float = 10) -> int | None:
    """Wait for ``pid`` (a child of ours by subreaping); its shell-style exit code, or
    None when it is not our child."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            r, status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return None
        if r:
            return 128 + os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
        time.sleep(0.005)
    raise TimeoutError(f"process {pid} did not exit within {timeout}s")
