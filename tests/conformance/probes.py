"""Helpers for the confinement tests: cgroup files of a test container, the host's root
disk, a reader for ``events`` output, and a one-syscall probe program.

busybox has no strace and no way to make an arbitrary system call, so
:func:`syscall_probe` writes a tiny static x86-64 ELF executable (no libc, ~60 bytes of
code) that makes exactly one system call with constant arguments and exits with the
errno it got (0 on success). That lets a test ask the kernel "is ptrace / init_module
refused in here, and with which errno?" from inside a busybox container.
"""

from __future__ import annotations

import json
import os
import platform
import select
import struct
import subprocess
import time
from typing import Any

import pytest

CGROUP_ROOT = "/sys/fs/cgroup"

# x86-64 system call numbers (arch/x86/entry/syscalls/syscall_64.tbl).
SYS_PTRACE = 101
SYS_INIT_MODULE = 175
SYS_DELETE_MODULE = 176
SYS_FINIT_MODULE = 313
PTRACE_TRACEME = 0
PTRACE_ATTACH = 16

EPERM = 1
ESRCH = 3


def cgroup_file(ctr: Any, controller: str, name: str) -> str:
    with open(f"{CGROUP_ROOT}/{controller}{ctr.cgroup}/{name}") as f:
        return f.read().strip()


def flat(text: str) -> dict[str, int]:
    out = {}
    for line in text.splitlines():
        k, _, v = line.partition(" ")
        if v.strip().lstrip("-").isdigit():
            out[k] = int(v)
    return out


def root_disk() -> tuple[int, int]:
    """major:minor of the whole disk that holds the host's root filesystem (blkio
    throttles apply to disks, not partitions); skips when / is not on a block device."""
    st = os.stat("/")
    dev = f"{os.major(st.st_dev)}:{os.minor(st.st_dev)}"
    sys_dev = f"/sys/dev/block/{dev}"
    if not os.path.exists(sys_dev):
        pytest.skip(f"the root filesystem ({dev}) is not on a block device")
    if os.path.exists(f"{sys_dev}/partition"):
        with open(os.path.join(os.path.dirname(os.path.realpath(sys_dev)), "dev")) as f:
            dev = f.read().strip()
    major, minor = dev.split(":")
    return int(major), int(minor)


def wait_for(pred: Any, timeout: float = 10.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.02)


class Events:
    """``RUNTIME events …`` running in the background; :meth:`next` returns the next
    JSON event (or raises after ``timeout``). Always stopped by :meth:`close`."""

    def __init__(self, rt: Any, *args: str) -> None:
        self.p = subprocess.Popen(
            [rt.binary, "--root", rt.root, "events", *args],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        self.buf = b""
        self.seen: list[dict[str, Any]] = []

    def next(self, timeout: float = 10.0) -> dict[str, Any]:
        assert self.p.stdout is not None
        fd = self.p.stdout.fileno()
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no event within {timeout}s; seen {self.seen}")
            r, _, _ = select.select([fd], [], [], left)
            if r:
                chunk = os.read(fd, 65536)
                if not chunk:
                    err = self.p.stderr.read().decode() if self.p.stderr else ""
                    raise AssertionError(f"events exited ({self.p.wait()}): {err}; seen {self.seen}")
                self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\n")
        ev: dict[str, Any] = json.loads(line)
        self.seen.append(ev)
        return ev

    def until(self, kind: str, timeout: float = 10.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            ev = self.next(max(0.01, deadline - time.monotonic()))
            if ev.get("type") == kind:
                return ev

    def close(self) -> None:
        if self.p.poll() is None:
            self.p.kill()
        self.p.wait(timeout=10)
        for f in (self.p.stdout, self.p.stderr):
            if f is not None:
                f.close()


def syscall_probe(path: str, nr: int, *args: int) -> None:
    """Write at ``path`` a static x86-64 program that calls syscall ``nr`` with ``args``
    (at most six 32-bit constants) and exits with the errno (0 when it succeeded)."""
    if platform.machine() != "x86_64":
        pytest.skip("the syscall probe is x86-64 machine code")
    regs = (b"\x48\xc7\xc7", b"\x48\xc7\xc6", b"\x48\xc7\xc2", b"\x49\xc7\xc2", b"\x49\xc7\xc0", b"\x49\xc7\xc1")
    code = b"\x48\xc7\xc0" + struct.pack("<i", nr)  # mov rax, nr
    for reg, a in zip(regs, list(args) + [0] * (6 - len(args)), strict=True):
        code += reg + struct.pack("<i", a)  # mov rdi/rsi/rdx/r10/r8/r9, a
    code += b"\x0f\x05"  # syscall
    code += b"\xf7\xd8"  # neg eax: -errno -> errno
    code += b"\x89\xc7"  # mov edi, eax
    code += b"\xb8\xe7\x00\x00\x00"  # mov eax, exit_group
    code += b"\x0f\x05"  # syscall
    base, headers = 0x400000, 64 + 56
    size = headers + len(code)
    ehdr = b"\x7fELF\x02\x01\x01" + b"\x00" * 9 + struct.pack(
        "<HHIQQQIHHHHHH", 2, 0x3E, 1, base + headers, 64, 0, 0, 64, 56, 1, 0, 0, 0
    )  # ET_EXEC, EM_X86_64, entry after the headers, one program header
    phdr = struct.pack("<IIQQQQQQ", 1, 5, 0, base, base, size, size, 0x1000)  # PT_LOAD r-x
    with open(path, "wb") as f:
        f.write(ehdr + phdr + code)
    os.chmod(path, 0o755)
