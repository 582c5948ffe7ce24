"""User namespaces: root inside is uid 100000 outside, mounts that a user namespace
still allows, joining an existing user namespace by path, exec into one.

The bundle lives in a 0755 directory (pytest's tmp_path is below a 0700 one): the
container's root is host uid 100000, which must be able to walk to the rootfs before
pivot_root."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from typing import Any

import pytest

from berth.testing.bundles import write_config
from berth.testing.runtimes import Runtime, reap

from .conftest import Ctr, _rmdir_cgroups

pytestmark = pytest.mark.root

HOST_ID = 100000
MAP = [{"containerID": 0, "hostID": HOST_ID, "size": 65536}]


def _userns(spec: dict[str, Any], path: str = "") -> dict[str, Any]:
    ns = {"type": "user", "path": path} if path else {"type": "user"}
    spec["linux"]["namespaces"].append(ns)
    spec["linux"]["uidMappings"] = MAP
    spec["linux"]["gidMappings"] = MAP
    return spec


@pytest.fixture
def uctrs(rt: Runtime, request: Any, busybox_template: str) -> Iterator[Any]:
    """A factory of containers whose bundles host uid 100000 can reach."""
    top = tempfile.mkdtemp(prefix="berth-test-userns-")
    os.chmod(top, 0o755)
    made: list[Ctr] = []
    base = request.node.name.replace("[", "-").replace("]", "").replace("_", "-")[:50]

    def make(suffix: str = "") -> Ctr:
        d = os.path.join(top, f"c{len(made)}")
        os.mkdir(d, 0o755)
        c = Ctr(rt, d, base + suffix, busybox_template)
        made.append(c)
        return c

    try:
        yield make
    finally:
        for c in reversed(made):
            rt("delete", "--force", c.id)
            if c.pid:
                try:
                    reap(c.pid, timeout=5)
                except TimeoutError:
                    pass
            _rmdir_cgroups(c.id)
        shutil.rmtree(top, ignore_errors=True)


def test_root_inside_is_the_mapped_uid_outside(uctrs):
    ctr = uctrs()
    spec = ctr.make(["sh", "-c", "id -u; id -g; cat /proc/self/uid_map /proc/self/gid_map; touch /tmp/made-inside; stat -c %u:%g /tmp/made-inside"])
    write_config(ctr.bundle, _userns(spec))
    lines = [" ".join(line.split()) for line in ctr.run_ok().splitlines()]
    assert lines == ["0", "0", f"0 {HOST_ID} 65536", f"0 {HOST_ID} 65536", "0:0"]
    st = os.stat(os.path.join(ctr.bundle, "rootfs", "tmp", "made-inside"))
    assert (st.st_uid, st.st_gid) == (HOST_ID, HOST_ID)


def test_mounts_that_work_in_a_user_namespace(uctrs):
    ctr = uctrs()
    share = os.path.join(os.path.dirname(ctr.bundle), "share")
    os.mkdir(share, 0o755)
    with open(os.path.join(share, "hello"), "w") as f:
        f.write("from the host\n")
    caps = ["CAP_SYS_ADMIN", "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_SETUID", "CAP_SETGID"]
    spec = ctr.make(["sh", "-c",
                     "grep ' /data ' /proc/self/mounts | cut -d' ' -f4 | cut -d, -f1;"
                     " for m in /scratch /proc2 /sys2; do grep \" $m \" /proc/self/mounts | cut -d' ' -f1,3; done;"
                     " cat /data/hello; touch /data/x 2>/dev/null || echo data-ro;"
                     " mkdir /scratch/t /scratch/p /scratch/b;"
                     " mount -t tmpfs inner /scratch/t && echo tmpfs-ok;"
                     " mount -t proc proc /scratch/p && test -e /scratch/p/self/status && echo proc-ok;"
                     " mount --bind /data /scratch/b && cat /scratch/b/hello"])  # fmt: skip
    # Mount points must exist: the rootfs is root-owned and root inside is uid 100000.
    for d in ("data", "scratch", "proc2", "sys2"):
        os.mkdir(os.path.join(ctr.bundle, "rootfs", d), 0o755)
    spec["mounts"] += [
        {"destination": "/data", "type": "bind", "source": share, "options": ["rbind", "ro"]},
        {"destination": "/scratch", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev", "size=1m"]},
        {"destination": "/proc2", "type": "proc", "source": "proc", "options": ["nosuid", "nodev", "noexec"]},
        {"destination": "/sys2", "type": "sysfs", "source": "sysfs", "options": ["ro", "nosuid", "nodev", "noexec"]},
    ]
    spec["process"]["capabilities"] = {"bounding": caps, "effective": caps, "permitted": caps}
    write_config(ctr.bundle, _userns(spec))
    before = open("/proc/self/mountinfo").read()
    out = ctr.run_ok()
    assert out.splitlines() == [
        "ro", "tmpfs tmpfs", "proc proc", "sysfs sysfs",
        "from the host", "data-ro", "tmpfs-ok", "proc-ok", "from the host",
    ]  # fmt: skip
    # The mounts made inside stayed in the container's mount namespace.
    after = open("/proc/self/mountinfo").read()
    assert "/scratch/" not in after.replace(before, "")


def test_joining_an_existing_user_namespace_by_path(uctrs):
    holder = uctrs("-holder")
    spec = holder.make(["sleep", "30"])
    write_config(holder.bundle, _userns(spec))
    assert holder.create().code == 0
    theirs = os.readlink(f"/proc/{holder.pid}/ns/user")
    joiner = uctrs("-joiner")
    spec = joiner.make(["sh", "-c", "readlink /proc/self/ns/user; cat /proc/self/uid_map; id -u; touch /tmp/joined"])
    # runc 1.1 wants the mappings repeated even when joining; berth accepts both
    write_config(joiner.bundle, _userns(spec, f"/proc/{holder.pid}/ns/user"))
    lines = [" ".join(line.split()) for line in joiner.run_ok().splitlines()]
    assert lines == [theirs, f"0 {HOST_ID} 65536", "0"]
    assert theirs != os.readlink("/proc/self/ns/user")
    assert os.stat(os.path.join(joiner.bundle, "rootfs", "tmp", "joined")).st_uid == HOST_ID


def test_exec_enters_the_user_namespace(uctrs):
    ctr = uctrs()
    spec = ctr.make(["sleep", "30"])
    spec["process"]["user"] = {"uid": 1000, "gid": 1000}
    write_config(ctr.bundle, _userns(spec))
    assert ctr.create().code == 0
    ctr.rt.ok("start", ctr.id)
    r = ctr.rt.ok("exec", ctr.id, "sh", "-c", "id -u; cat /proc/self/uid_map; readlink /proc/self/ns/user")
    lines = [" ".join(line.split()) for line in r.out.splitlines()]
    assert lines == ["1000", f"0 {HOST_ID} 65536", os.readlink(f"/proc/{ctr.pid}/ns/user")]
    with open(f"/proc/{ctr.pid}/status") as f:
        uid_line = next(line for line in f if line.startswith("Uid:"))
    assert uid_line.split()[1] == str(HOST_ID + 1000)  # the init's uid, seen from the host
