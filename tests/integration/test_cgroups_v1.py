"""berth.cgroups on this host's real v1 (or hybrid) hierarchies, as root.

Every test makes its groups as ``/berth-test-<test>-<pid>`` and removes them before and
after (killing and thawing whatever is left inside), so runs never see each other.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator

import pytest

from berth import cgroups
from berth.errdefs import BerthError

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root"),
]


def _setup() -> cgroups.Setup:
    setup = cgroups.detect()
    if setup.mode == "v2":
        pytest.skip("no cgroup v1 hierarchies on this host")
    return setup


def purge(setup: cgroups.Setup, path: str) -> None:
    """Remove ``path`` everywhere, killing (and thawing) any process still inside."""
    mounts = list(setup.v1.values()) + ([setup.unified] if setup.unified else [])
    for mount in dict.fromkeys(mounts):
        top = f"{mount}{path}"
        if not os.path.isdir(top):
            continue
        for sub, _, _ in os.walk(top, topdown=False):
            for attempt in range(50):
                try:
                    with open(f"{sub}/cgroup.procs") as f:
                        pids = [int(p) for p in f.read().split()]
                except FileNotFoundError:
                    break
                for pid in pids:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                for thaw in ("freezer.state", "cgroup.freeze"):
                    if os.path.exists(f"{sub}/{thaw}"):
                        with open(f"{sub}/{thaw}", "w") as f:
                            f.write("THAWED" if thaw == "freezer.state" else "0")
                try:
                    os.rmdir(sub)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    if attempt == 49:
                        raise
                    time.sleep(0.02)


@pytest.fixture
def group(request: pytest.FixtureRequest) -> Iterator[tuple[cgroups.Setup, str]]:
    setup = _setup()
    name = "".join(c if c.isalnum() or c in "-_" else "_" for c in request.node.name)
    path = f"/berth-test-{name}-{os.getpid()}"
    purge(setup, path)
    yield setup, path
    purge(setup, path)


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    p = subprocess.Popen(["sleep", "600"])
    yield p
    p.kill()
    p.wait()


@pytest.fixture
def worker() -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """A child that, once told (a byte on its pipe), touches 8 MiB, burns some CPU,
    says "ready" and sleeps: its usage is charged to the group it is in by then."""
    import sys

    r, w = os.pipe()
    script = (
        f"import os, time; os.read({r}, 1); b = bytearray(8 << 20)\n"
        "for i in range(0, len(b), 4096): b[i] = 1\n"
        "t = time.process_time()\nwhile time.process_time() - t < 0.05: pass\n"
        "print('ready', flush=True); time.sleep(600)"
    )
    p = subprocess.Popen([sys.executable, "-c", script], pass_fds=(r,), stdout=subprocess.PIPE)
    os.close(r)
    yield p, w
    os.close(w)
    p.kill()
    p.wait()


def read(directory: str, name: str) -> str:
    with open(f"{directory}/{name}") as f:
        return f.read().strip()


def in_group(directory: str, script: str) -> tuple[int, str]:
    """Run ``script`` (python) in a child moved into ``directory`` before it starts."""
    import sys

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


def test_v1_limits_pids_freeze_stats_and_destroy(
    group: tuple[cgroups.Setup, str], worker: tuple[subprocess.Popen[bytes], int]
) -> None:
    setup, path = group
    sleeper, go = worker
    resources = {
        "memory": {"limit": 64 << 20},
        "pids": {"limit": 20},
        "cpu": {"shares": 512, "quota": 50000, "period": 100000},
    }
    m = cgroups.Manager.create(setup, path, resources)
    assert read(m.paths["memory"], "memory.limit_in_bytes") == str(64 << 20)
    assert read(m.paths["pids"], "pids.max") == "20"
    assert read(m.paths["cpu"], "cpu.cfs_quota_us") == "50000"
    assert read(m.paths["cpu"], "cpu.cfs_period_us") == "100000"
    assert read(m.paths["cpu"], "cpu.shares") == "512"

    m.add(sleeper.pid)
    os.write(go, b"x")
    assert sleeper.stdout is not None
    assert sleeper.stdout.readline() == b"ready\n"
    with open(f"/proc/{sleeper.pid}/cgroup") as f:
        own = f.read()
    assert f":memory:{path}\n" in own and f":pids:{path}\n" in own
    assert m.pids() == [sleeper.pid]

    m.freeze()
    assert m.frozen()
    assert read(m.paths["freezer"], "freezer.state") == "FROZEN"
    m.thaw()
    assert not m.frozen()
    assert read(m.paths["freezer"], "freezer.state") == "THAWED"

    st = m.stats()
    assert st["pids"] == {"current": 1, "limit": 20}
    assert st["memory"]["usage"]["limit"] == 64 << 20
    assert st["memory"]["usage"]["usage"] >= 8 << 20
    assert st["cpu"]["usage"]["total"] >= 40_000_000  # ns
    assert st["cpu"]["throttling"]["periods"] > 0
    assert m.oom_count() == 0

    sleeper.kill()
    sleeper.wait()
    m.destroy()
    assert [d for d in m.paths.values() if os.path.exists(d)] == []
    m.destroy()


def test_v1_destroy_of_a_busy_group_fails_naming_it(
    group: tuple[cgroups.Setup, str], sleeper: subprocess.Popen[bytes]
) -> None:
    setup, path = group
    m = cgroups.Manager.create(setup, path, None)
    m.add(sleeper.pid)
    with pytest.raises(
        BerthError, match=r"remove cgroup '.*berth-test-.*': device or resource busy"
    ):
        m.destroy()


def test_v1_pids_limit_stops_forks(group: tuple[cgroups.Setup, str]) -> None:
    setup, path = group
    m = cgroups.Manager.create(setup, path, {"pids": {"limit": 1}})
    code, out = in_group(
        m.paths["pids"],
        "import errno\ntry:\n  pid = os.fork()\nexcept OSError as e:\n  print(errno.errorcode[e.errno])\n"
        "else:\n  os._exit(0) if pid == 0 else print('forked')",
    )
    assert (code, out.strip()) == (0, "EAGAIN")


def test_v1_devices_allow_list(group: tuple[cgroups.Setup, str]) -> None:
    setup, path = group
    if "devices" not in setup.v1:
        pytest.skip("no v1 devices controller")
    m = cgroups.Manager.create(
        setup,
        path,
        {
            "devices": [
                {"allow": False, "access": "rwm"},
                {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rwm"},
                {"allow": True, "type": "c", "major": 1, "minor": 5, "access": "rwm"},
                {"allow": False, "type": "c", "major": 1, "minor": 5, "access": "r"},
            ]
        },
    )
    assert read(m.paths["devices"], "devices.list").splitlines() == ["c 1:3 rwm", "c 1:5 wm"]
    code, out = in_group(
        m.paths["devices"],
        "res = []\nfor p, fl in (('/dev/null', os.O_RDWR), ('/dev/zero', os.O_RDONLY), ('/dev/zero', os.O_WRONLY), ('/dev/full', os.O_WRONLY)):\n"
        "  try: os.close(os.open(p, fl)); res.append('ok')\n"
        "  except OSError as e: res.append(e.strerror)\nprint(res)",
    )
    assert code == 0
    assert out.strip() == "['ok', 'Operation not permitted', 'ok', 'Operation not permitted']"


def test_v1_nested_group_inherits_cpuset(
    group: tuple[cgroups.Setup, str], sleeper: subprocess.Popen[bytes]
) -> None:
    setup, path = group
    if "cpuset" not in setup.v1:
        pytest.skip("no v1 cpuset controller")
    m = cgroups.Manager.create(setup, f"{path}/ctr", None)
    root = setup.v1["cpuset"]
    for directory in (f"{root}{path}", m.paths["cpuset"]):
        assert read(directory, "cpuset.cpus") == read(root, "cpuset.cpus")
        assert read(directory, "cpuset.mems") == read(root, "cpuset.mems")
    m.add(sleeper.pid)  # an empty cpuset would refuse it (ENOSPC)
    assert m.pids() == [sleeper.pid]
    m2 = cgroups.Manager.load(setup, path)
    assert m2.pids() == [sleeper.pid]  # recursive


def test_v1_cpuset_limits(group: tuple[cgroups.Setup, str]) -> None:
    setup, path = group
    m = cgroups.Manager.create(setup, path, {"cpu": {"cpus": "0", "mems": "0"}})
    assert read(m.paths["cpuset"], "cpuset.cpus") == "0"
    _code, out = in_group(m.paths["cpuset"], "print(sorted(os.sched_getaffinity(0)))")
    assert out.strip() == "[0]"


def test_v1_memory_and_swap_grow_and_shrink(group: tuple[cgroups.Setup, str]) -> None:
    setup, path = group
    m = cgroups.Manager.create(setup, path, {"memory": {"limit": 64 << 20}})
    if not os.path.exists(f"{m.paths['memory']}/memory.memsw.limit_in_bytes"):
        pytest.skip("no swap accounting")
    m.apply({"memory": {"limit": 64 << 20, "swap": 128 << 20}})
    m.apply({"memory": {"limit": 256 << 20, "swap": 512 << 20}})  # needs memsw first
    assert read(m.paths["memory"], "memory.limit_in_bytes") == str(256 << 20)
    assert read(m.paths["memory"], "memory.memsw.limit_in_bytes") == str(512 << 20)
    m.apply({"memory": {"limit": 32 << 20, "swap": 64 << 20}})  # needs memory first
    assert read(m.paths["memory"], "memory.limit_in_bytes") == str(32 << 20)
    assert read(m.paths["memory"], "memory.memsw.limit_in_bytes") == str(64 << 20)
    m.apply({"memory": {"limit": -1}})
    assert int(read(m.paths["memory"], "memory.limit_in_bytes")) > 1 << 60


def test_v1_create_failure_leaves_nothing(group: tuple[cgroups.Setup, str]) -> None:
    setup, path = group
    with pytest.raises(BerthError, match=r"linux.resources.cpu.cpus"):
        cgroups.Manager.create(setup, path, {"cpu": {"cpus": "999"}})
    mounts = list(setup.v1.values()) + ([setup.unified] if setup.unified else [])
    assert [m for m in mounts if os.path.exists(f"{m}{path}")] == []
