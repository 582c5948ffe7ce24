"""berth.cgroups.prime: which cgroup.procs file it writes (its own cgroup, a move to
where the process already is)."""

from __future__ import annotations

import os

from berth.cgroups.prime import prime


def _tree(tmp_path, lines: str) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    proc = tmp_path / "cgroup"
    proc.write_text(lines)
    return str(tmp_path / "fs"), str(proc)


def test_writes_own_pid_into_its_own_v1_cgroup(tmp_path) -> None:  # type: ignore[no-untyped-def]
    root, proc = _tree(tmp_path, "12:pids:/user.slice/x\n1:name=systemd:/user.slice/x\n0::/user.slice/x\n")
    d = tmp_path / "fs" / "pids" / "user.slice" / "x"
    d.mkdir(parents=True)
    (d / "cgroup.procs").write_text("")
    assert prime(root, proc) is True
    assert (d / "cgroup.procs").read_text() == str(os.getpid())


def test_v2_only_host(tmp_path) -> None:  # type: ignore[no-untyped-def]
    root, proc = _tree(tmp_path, "0::/system.slice/berthd.service\n")
    d = tmp_path / "fs" / "system.slice" / "berthd.service"
    d.mkdir(parents=True)
    (d / "cgroup.procs").write_text("")
    assert prime(root, proc) is True
    assert (d / "cgroup.procs").read_text() == str(os.getpid())


def test_nothing_to_write_is_harmless(tmp_path) -> None:  # type: ignore[no-untyped-def]
    root, proc = _tree(tmp_path, "3:cpu,cpuacct:/a\n")
    assert prime(root, proc) is False
    assert prime(root, str(tmp_path / "missing")) is False
