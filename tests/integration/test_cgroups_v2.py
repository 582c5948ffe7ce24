"""berth.cgroups on a real cgroup2 hierarchy, as root: the eBPF device program and a v2
Manager. On a hybrid host the cgroup2 mount (/sys/fs/cgroup/unified) has few or no
controllers, but every group there has cgroup.procs, cgroup.freeze and cpu.stat, and
accepts device programs, which is what these tests need. Groups are named
``berth-test-<test>-<pid>`` and removed before and after.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from berth import cgroups
from berth.cgroups.v2 import bpf, devices

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root"),
]

PROBE = (
    "res = []\n"
    "for p, fl in (('/dev/null', os.O_RDONLY), ('/dev/null', os.O_WRONLY), ('/dev/null', os.O_RDWR), ('/dev/zero', os.O_RDONLY)):\n"
    "  try: os.close(os.open(p, fl)); res.append('ok')\n"
    "  except OSError as e: res.append(e.strerror)\n"
    "print(res)"
)


def _unified() -> str:
    setup = cgroups.detect()
    if setup.unified is None:
        pytest.skip("no cgroup2 mount on this host")
    return setup.unified


def _purge(directory: str) -> None:
    import signal
    import time

    if not os.path.isdir(directory):
        return
    for sub, _, _ in os.walk(directory, topdown=False):
        for attempt in range(50):
            try:
                with open(f"{sub}/cgroup.procs") as f:
                    for pid in f.read().split():
                        try:
                            os.kill(int(pid), signal.SIGKILL)
                        except ProcessLookupError:
                            pass
                with open(f"{sub}/cgroup.freeze", "w") as f:
                    f.write("0")
                os.rmdir(sub)
                break
            except FileNotFoundError:
                break
            except OSError:
                if attempt == 49:
                    raise
                time.sleep(0.02)


@pytest.fixture
def v2_dir(request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    unified = _unified()
    name = "".join(c if c.isalnum() or c in "-_" else "_" for c in request.node.name)
    path = f"/berth-test-{name}-{os.getpid()}"
    _purge(unified + path)
    yield unified, path
    _purge(unified + path)


def in_group(directory: str, script: str) -> tuple[int, str]:
    r, w = os.pipe()
    p = subprocess.Popen(
        [sys.executable, "-c", f"import os; os.read({r}, 1); {script}"],
        pass_fds=(r,),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    os.close(r)
    try:
        with open(f"{directory}/cgroup.procs", "w") as f:
            f.write(str(p.pid))
    finally:
        os.write(w, b"x")
        os.close(w)
    out, _ = p.communicate(timeout=30)
    return p.returncode, out.decode()


def test_bpf_program_denies_dev_null_reads(v2_dir: tuple[str, str]) -> None:
    unified, path = v2_dir
    directory = unified + path
    os.mkdir(directory)
    devices.apply(
        {
            "devices": [
                {"allow": True, "access": "rwm"},
                {"allow": False, "type": "c", "major": 1, "minor": 3, "access": "r"},
            ]
        },
        directory,
    )
    code, out = in_group(directory, PROBE)
    assert code == 0, out
    assert out.strip() == "['Operation not permitted', 'ok', 'Operation not permitted', 'ok']"


def test_bpf_program_update_replaces_the_old_one(v2_dir: tuple[str, str]) -> None:
    unified, path = v2_dir
    directory = unified + path
    os.mkdir(directory)
    devices.apply({"devices": [{"allow": False, "access": "rwm"}]}, directory)
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        first = bpf.attached(fd)
        devices.apply(
            {
                "devices": [
                    {"allow": False, "access": "rwm"},
                    {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rw"},
                ]
            },
            directory,
        )
        second = bpf.attached(fd)
    finally:
        os.close(fd)
    assert len(first) == 1 and len(second) == 1 and first != second
    _code, out = in_group(directory, PROBE)
    assert out.strip() == "['ok', 'ok', 'ok', 'Operation not permitted']"


def test_v2_manager_lifecycle(v2_dir: tuple[str, str]) -> None:
    unified, path = v2_dir
    # Only the unified mount, with no controllers enabled: nothing at the root changes.
    setup = cgroups.Setup("v2", unified, {}, unified, frozenset())
    m = cgroups.Manager.create(
        setup,
        path,
        {
            "devices": [
                {"allow": True, "access": "rwm"},
                {"allow": False, "type": "c", "major": 1, "minor": 5, "access": "rwm"},
            ]
        },
    )
    assert m.paths == {"unified": unified + path}
    p = subprocess.Popen(["sleep", "600"])
    try:
        m.add(p.pid)
        assert m.pids() == [p.pid]
        m.freeze()
        assert m.frozen()
        with open(f"{unified}{path}/cgroup.events") as f:
            assert "frozen 1" in f.read()
        m.thaw()
        assert not m.frozen()
        st = m.stats()
        assert set(st) == {"cpu", "cpuset", "memory", "pids", "blkio", "hugetlb"}
        assert st["cpu"]["usage"]["total"] >= 0
        code, out = in_group(unified + path, "os.open('/dev/zero', os.O_RDONLY)")
        assert code != 0 and "Operation not permitted" in out
    finally:
        p.kill()
        p.wait()
    m.destroy()
    assert not os.path.exists(unified + path)
