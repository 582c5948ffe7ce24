"""Fake cgroup trees for the cgroups unit tests: plain directories holding the control
files the kernel would show, so each controller's apply can be checked by the exact
content it leaves."""

from __future__ import annotations

from pathlib import Path

V1_FILES: dict[str, dict[str, str]] = {
    "cpu": {
        "cpu.shares": "1024",
        "cpu.cfs_period_us": "100000",
        "cpu.cfs_quota_us": "-1",
        "cpu.cfs_burst_us": "0",
        "cpu.idle": "0",
        "cpu.rt_period_us": "1000000",
        "cpu.rt_runtime_us": "0",
        "cpu.stat": "nr_periods 0\nnr_throttled 0\nthrottled_time 0\n",
    },
    "cpuacct": {
        "cpuacct.usage": "0",
        "cpuacct.usage_percpu": "0 0 \n",
        "cpuacct.stat": "user 0\nsystem 0\n",
    },
    "cpuset": {"cpuset.cpus": "\n", "cpuset.mems": "\n"},
    "memory": {
        "memory.limit_in_bytes": "9223372036854771712",
        "memory.memsw.limit_in_bytes": "9223372036854771712",
        "memory.soft_limit_in_bytes": "9223372036854771712",
        "memory.usage_in_bytes": "0",
        "memory.max_usage_in_bytes": "0",
        "memory.failcnt": "0",
        "memory.oom_control": "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n",
        "memory.swappiness": "60",
        "memory.stat": "cache 0\nrss 0\n",
    },
    "devices": {"devices.allow": "", "devices.deny": "", "devices.list": "a *:* rwm\n"},
    "freezer": {"freezer.state": "THAWED\n"},
    "blkio": {
        "blkio.weight": "500",
        "blkio.weight_device": "",
        "blkio.leaf_weight": "500",
        "blkio.leaf_weight_device": "",
        "blkio.throttle.read_bps_device": "",
        "blkio.throttle.write_bps_device": "",
        "blkio.throttle.read_iops_device": "",
        "blkio.throttle.write_iops_device": "",
    },
    "pids": {"pids.max": "max\n", "pids.current": "0\n"},
    "hugetlb": {
        "hugetlb.2MB.limit_in_bytes": "9223372036854771712",
        "hugetlb.2MB.rsvd.limit_in_bytes": "9223372036854771712",
        "hugetlb.2MB.usage_in_bytes": "0",
        "hugetlb.2MB.max_usage_in_bytes": "0",
        "hugetlb.2MB.failcnt": "0",
        "hugetlb.1GB.limit_in_bytes": "9223372036854771712",
    },
    "net_cls": {"net_cls.classid": "0"},
    "net_prio": {"net_prio.ifpriomap": "lo 0\n"},
    "name=systemd": {},
}

V2_FILES: dict[str, str] = {
    "cgroup.controllers": "cpuset cpu io memory hugetlb pids\n",
    "cgroup.subtree_control": "\n",
    "cgroup.freeze": "0\n",
    "cgroup.events": "populated 0\nfrozen 0\n",
    "cpu.weight": "100\n",
    "cpu.max": "max 100000\n",
    "cpu.max.burst": "0\n",
    "cpu.idle": "0\n",
    "cpu.stat": "usage_usec 0\nuser_usec 0\nsystem_usec 0\n",
    "cpuset.cpus": "\n",
    "cpuset.mems": "\n",
    "memory.max": "max\n",
    "memory.swap.max": "max\n",
    "memory.low": "0\n",
    "memory.current": "0\n",
    "memory.events": "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n",
    "memory.stat": "anon 0\nfile 0\n",
    "io.weight": "default 100\n",
    "io.max": "",
    "io.stat": "",
    "pids.max": "max\n",
    "pids.current": "0\n",
    "hugetlb.2MB.max": "max\n",
    "hugetlb.2MB.rsvd.max": "max\n",
    "hugetlb.2MB.current": "0\n",
    "hugetlb.2MB.events": "max 0\n",
}

V1_MOUNT_DIRS = {
    "cpu": "cpu,cpuacct",
    "cpuacct": "cpu,cpuacct",
    "cpuset": "cpuset",
    "memory": "memory",
    "devices": "devices",
    "freezer": "freezer",
    "blkio": "blkio",
    "pids": "pids",
    "hugetlb": "hugetlb",
    "net_cls": "net_cls,net_prio",
    "net_prio": "net_cls,net_prio",
    "name=systemd": "systemd",
}


def write_files(directory: Path, files: dict[str, str]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (directory / name).write_text(content)
    (directory / "cgroup.procs").touch()
    return directory


def v1_group(directory: Path, *controllers: str) -> Path:
    """A fake v1 group directory with the files of ``controllers``."""
    files: dict[str, str] = {}
    for c in controllers:
        files.update(V1_FILES[c])
    return write_files(directory, files)


def v2_group(directory: Path, **override: str) -> Path:
    return write_files(directory, {**V2_FILES, **override})


def read(directory: Path | str, name: str) -> str:
    return (Path(directory) / name).read_text()


class FakeHost:
    """A fake /sys/fs/cgroup with a mountinfo describing it."""

    def __init__(self, root: Path, mode: str) -> None:
        self.root = root
        self.mode = mode
        lines = []
        n = 30
        if mode in ("v1", "hybrid"):
            for mount in sorted(set(V1_MOUNT_DIRS.values())):
                controllers = [c for c, d in V1_MOUNT_DIRS.items() if d == mount]
                v1_group(root / mount, *controllers)
                if "cpuset" in controllers:
                    (root / mount / "cpuset.cpus").write_text("0-3\n")
                    (root / mount / "cpuset.mems").write_text("0\n")
                n += 1
                opts = ",".join(controllers)
                lines.append(f"{n} 29 0:{n} / {root}/{mount} rw,nosuid - cgroup cgroup rw,{opts}")
        if mode == "hybrid":
            v2_group(root / "unified", **{"cgroup.controllers": "hugetlb\n"})
            lines.append(f"99 29 0:99 / {root}/unified rw,nosuid shared:9 - cgroup2 cgroup2 rw")
        if mode == "v2":
            v2_group(root)
            lines.append(f"99 29 0:99 / {root} rw,nosuid shared:9 - cgroup2 cgroup2 rw,nsdelegate")
        self.mountinfo = root.parent / f"mountinfo-{mode}"
        self.mountinfo.write_text("\n".join(lines) + "\n")

    def populate(self, path: str) -> None:
        """Make the group ``path`` and its ancestors with their files, as the kernel
        does on mkdir."""
        parts = path.strip("/").split("/")
        for i in range(1, len(parts) + 1):
            self._group("/".join(parts[:i]))

    def _group(self, rel: str) -> None:
        if self.mode == "v2":
            v2_group(self.root / rel)
            return
        for mount in set(V1_MOUNT_DIRS.values()):
            controllers = [c for c, d in V1_MOUNT_DIRS.items() if d == mount]
            v1_group(self.root / mount / rel, *controllers)
        if self.mode == "hybrid":
            v2_group(self.root / "unified" / rel, **{"cgroup.controllers": "hugetlb\n"})
