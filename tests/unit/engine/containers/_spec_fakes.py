"""A described host (device nodes, /proc/sys files) and container builders for the spec tests."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from typing import Any

from berth.engine.containers.model import Container, ContainerConfig, HostConfig
from berth.engine.containers.spec import SpecInput


@dataclass
class FakeStat:
    st_mode: int
    st_rdev: int = 0
    st_uid: int = 0
    st_gid: int = 0


def chr_dev(major: int, minor: int, perm: int = 0o666, uid: int = 0, gid: int = 0) -> FakeStat:
    return FakeStat(stat.S_IFCHR | perm, os.makedev(major, minor), uid, gid)


def blk_dev(major: int, minor: int, perm: int = 0o660) -> FakeStat:
    return FakeStat(stat.S_IFBLK | perm, os.makedev(major, minor), 0, 6)


DIR = FakeStat(stat.S_IFDIR | 0o755)
FILE = FakeStat(stat.S_IFREG | 0o644)


@dataclass
class FakeHost:
    """Paths → stat results; directories list the entries below them; ``links`` maps a
    symlink to its target."""

    nodes: dict[str, FakeStat] = field(default_factory=dict)
    links: dict[str, str] = field(default_factory=dict)
    existing: set[str] = field(
        default_factory=lambda: {
            "/proc/sys/net/ipv4/ping_group_range",
            "/proc/sys/net/ipv4/ip_unprivileged_port_start",
        }
    )

    def _get(self, path: str) -> FakeStat:
        if path in self.nodes:
            return self.nodes[path]
        raise FileNotFoundError(2, "No such file or directory", path)

    def stat(self, path: str) -> FakeStat:
        return self._get(self.realpath(path))

    def lstat(self, path: str) -> FakeStat:
        if path in self.links:
            return FakeStat(stat.S_IFLNK | 0o777)
        return self._get(path)

    def realpath(self, path: str) -> str:
        while path in self.links:
            path = self.links[path]
        return path

    def listdir(self, path: str) -> list[str]:
        if path not in self.nodes or not stat.S_ISDIR(self.nodes[path].st_mode):
            raise NotADirectoryError(20, "Not a directory", path)
        prefix = path.rstrip("/") + "/"
        names = {
            p[len(prefix) :].split("/")[0]
            for p in [*self.nodes, *self.links]
            if p.startswith(prefix)
        }
        return sorted(names)

    def exists(self, path: str) -> bool:
        return path in self.existing or path in self.nodes


def container(**hc: Any) -> Container:
    cfg = hc.pop("config", None) or ContainerConfig(hostname="c0ffee000001")
    return Container(
        id="c0ffee000001" + "0" * 52,
        name="t",
        created="2024-01-01T00:00:00.000000000Z",
        path=hc.pop("path", "sh"),
        args=hc.pop("args", ["-c", "true"]),
        config=cfg,
        host_config=HostConfig(**hc),
        image="sha256:" + "1" * 64,
    )


def spec_input(c: Container | None = None, **kw: Any) -> SpecInput:
    kw.setdefault("rootfs", "/nonexistent/rootfs")
    kw.setdefault("host", FakeHost())
    kw.setdefault("arch", "x86_64")
    kw.setdefault("kernel_release", "6.1.0-13-amd64")
    return SpecInput(container=c or container(), **kw)
