"""Where this berth was built from: the version and, when running from a git checkout,
the commit (read from ``.git`` directly, no ``git`` process: the CLI asks on every
``berth version``)."""

from __future__ import annotations

import os

import berth

__all__ = ["VERSION", "git_commit", "go_arch", "python_version"]

VERSION = berth.__version__

_HEX = frozenset("0123456789abcdef")

_GO_ARCH = {
    "x86_64": "amd64",
    "aarch64": "arm64",
    "armv7l": "arm",
    "armv6l": "arm",
    "i386": "386",
    "i686": "386",
    "ppc64le": "ppc64le",
    "s390x": "s390x",
    "riscv64": "riscv64",
}


def go_arch(machine: str | None = None) -> str:
    """uname(2)'s machine as Go's GOARCH spells it (x86_64 → amd64); this host's by default."""
    if machine is None:
        machine = os.uname().machine
    return _GO_ARCH.get(machine, machine)


def python_version() -> str:
    """What berth reports where Go programs report their Go version: ``python3.11.2``."""
    import sys

    v = sys.version_info
    return f"python{v[0]}.{v[1]}.{v[2]}"


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read().strip()
    except OSError:
        return ""


def git_commit() -> str:
    """The checkout's HEAD commit abbreviated to 7 hex digits, or "" outside a checkout."""
    git = os.path.join(os.path.dirname(os.path.abspath(berth.__file__)), "..", "..", ".git")
    head = _read(os.path.join(git, "HEAD"))
    if head.startswith("ref: "):
        ref = head[5:]
        head = _read(os.path.join(git, ref))
        if not head:
            for line in _read(os.path.join(git, "packed-refs")).splitlines():
                if line.endswith(" " + ref):
                    head = line.split()[0]
    return head[:7] if len(head) >= 7 and set(head) <= _HEX else ""
