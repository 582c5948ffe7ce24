"""What berth leaves on a machine: mounts, cgroup directories, network namespaces, links,
nft tables and processes. The pytest plugin snapshots these at the start of a session and
fails the run if the end has more."""

from __future__ import annotations

import os
import subprocess

__all__ = ["Snapshot", "snapshot"]

CGROUP_ROOT = "/sys/fs/cgroup"
MARK = "berth"


class Snapshot:
    def __init__(self) -> None:
        self.mounts: set[str] = set()
        self.cgroups: set[str] = set()
        self.netns: set[str] = set()
        self.links: set[str] = set()
        self.nft: set[str] = set()
        self.procs: set[str] = set()

    def new_since(self, before: Snapshot) -> dict[str, list[str]]:
        out = {}
        for k in ("mounts", "cgroups", "netns", "links", "nft", "procs"):
            extra = sorted(getattr(self, k) - getattr(before, k))
            if extra:
                out[k] = extra
        return out


def _cgroup_dirs() -> set[str]:
    found: set[str] = set()
    for top in os.listdir(CGROUP_ROOT) if os.path.isdir(CGROUP_ROOT) else []:
        base = os.path.join(CGROUP_ROOT, top)
        if not os.path.isdir(base) or os.path.islink(base):
            continue
        for dirpath, dirnames, _ in os.walk(base):
            depth = dirpath[len(base) :].count("/")
            if depth >= 3:
                dirnames[:] = []
            for d in dirnames:
                if MARK in d:
                    found.add(os.path.join(dirpath, d))
    return found


def _run(*cmd: str) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=10, check=False).stdout
    except (OSError, subprocess.TimeoutExpired):
        return ""


def snapshot() -> Snapshot:
    s = Snapshot()
    with open("/proc/self/mountinfo") as f:
        s.mounts = {line.split()[4] for line in f if MARK in line}
    s.cgroups = _cgroup_dirs()
    s.netns = {ln.split()[0] for ln in _run("ip", "netns", "list").splitlines() if MARK in ln}
    names = [ln.split(":")[1].strip().split("@")[0] for ln in _run("ip", "-o", "link", "show").splitlines()]
    # berth's own names, the host-side veths / ifbs of berth.network.links (vb…, ib…) and
    # user-defined networks' bridges (br-<id>)
    s.links = {
        n for n in names if MARK in n or (len(n) == 12 and n[:2] in ("vb", "ib")) or (len(n) == 15 and n.startswith("br-"))
    }
    s.nft = {ln.strip() for ln in _run("nft", "list", "tables").splitlines() if MARK in ln}
    me = os.getpid()
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == me:
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode("utf-8", "replace").strip()
        except OSError:
            continue
        if "berth-test" in cmd or any(n in cmd for n in ("berth-runtime ", "berth-shim", "berthd")):
            if "pytest" not in cmd:
                s.procs.add(f"{pid} {cmd[:120]}")
    return s
