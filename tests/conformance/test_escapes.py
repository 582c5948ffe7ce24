"""Escape attempts from a container with the default confinement (Docker's capabilities,
masked and read-only paths, berth's default seccomp profile): each must fail from inside,
and the host must be unchanged."""

from __future__ import annotations

import os
import socket

import pytest

from berth.oci.default_spec import DEFAULT_CAPS
from berth.oci.seccomp_default import default_profile
from berth.testing.bundles import write_config

from .probes import (
    EPERM,
    ESRCH,
    PTRACE_ATTACH,
    PTRACE_TRACEME,
    SYS_DELETE_MODULE,
    SYS_FINIT_MODULE,
    SYS_INIT_MODULE,
    SYS_PTRACE,
    root_disk,
    syscall_probe,
)

pytestmark = pytest.mark.root


def _err(ctr) -> str:
    with open(ctr.out + ".err") as f:
        return f.read()


def _kv(out: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in out.split() if "=" in line)


def test_mount_is_refused(ctr):
    ctr.make(["sh", "-c",
              "mount -t tmpfs none /tmp; echo tmpfs=$?; mount --bind /bin /tmp; echo bind=$?;"
              " mount -t proc proc /tmp; echo proc=$?; grep -c ' /tmp ' /proc/self/mounts"], seccomp=True)  # fmt: skip
    out = ctr.run_to_exit()[1]
    kv = _kv(out)
    assert kv == {"tmpfs": "1", "bind": "1", "proc": "1"}, out
    assert out.split()[-1] == "0"  # nothing got mounted on /tmp
    assert "permission denied" in _err(ctr)


def test_unmounting_a_masked_path_is_refused(ctr):
    masked = [p for p in ("/proc/kcore", "/proc/keys", "/proc/timer_list") if os.path.exists(p)]
    assert masked, "no masked /proc file exists on this kernel"
    script = "".join(f"umount {p}; echo u{i}=$?; umount -l {p}; echo l{i}=$?; echo c{i}=$(cat {p} | wc -c); "
                     for i, p in enumerate(masked))  # fmt: skip
    script += "umount /sys/firmware; echo fw=$?; echo fwn=$(ls -A /sys/firmware | wc -l)"
    ctr.make(["sh", "-c", script], seccomp=True)
    kv = _kv(ctr.run_ok())
    for i in range(len(masked)):
        assert (kv[f"u{i}"], kv[f"l{i}"], kv[f"c{i}"]) == ("1", "1", "0"), (masked[i], kv)
    assert (kv["fw"], kv["fwn"]) == ("1", "0")
    assert "Operation not permitted" in _err(ctr)


def test_writing_sysrq_trigger_fails(ctr):
    # Without CONFIG_MAGIC_SYSRQ (this kernel) the file does not exist and cannot be
    # created in proc; with it, /proc/sysrq-trigger is a read-only bind.
    ctr.make(["sh", "-c", "echo h > /proc/sysrq-trigger; echo w=$?; test -e /proc/sysrq-trigger; echo e=$?"], seccomp=True)
    kv = _kv(ctr.run_ok())
    assert kv["w"] == "1"
    err = _err(ctr)
    if os.path.exists("/proc/sysrq-trigger"):
        assert kv["e"] == "0" and "Read-only file system" in err
    else:
        assert kv["e"] == "1"


def test_loading_a_kernel_module_is_refused(ctr):
    rootfs = os.path.join(ctr.bundle, "rootfs")
    ctr.make(["sh", "-c",
              "insmod /evil.ko; echo insmod=$?; rmmod loop; echo rmmod=$?;"
              " /init_module; echo init=$?; /finit_module; echo finit=$?; /delete_module; echo delete=$?"], seccomp=True)  # fmt: skip
    with open(os.path.join(rootfs, "evil.ko"), "wb") as f:
        f.write(b"\x7fELF" + os.urandom(60))
    syscall_probe(os.path.join(rootfs, "init_module"), SYS_INIT_MODULE, 0, 0, 0)
    syscall_probe(os.path.join(rootfs, "finit_module"), SYS_FINIT_MODULE, 0, 0, 0)
    syscall_probe(os.path.join(rootfs, "delete_module"), SYS_DELETE_MODULE, 0, 0)
    kv = _kv(ctr.run_ok())
    # EPERM from the seccomp profile (module syscalls need CAP_SYS_MODULE), before the
    # kernel is asked at all (this kernel has no module support: ENOSYS for the host's root).
    assert kv == {"insmod": "1", "rmmod": "1", "init": str(EPERM), "finit": str(EPERM), "delete": str(EPERM)}
    assert "can't insert '/evil.ko': Operation not permitted" in _err(ctr)


def test_host_processes_cannot_be_signalled_or_traced(ctr):
    host_pid = os.getpid()  # this test process, alive on the host
    rootfs = os.path.join(ctr.bundle, "rootfs")
    ctr.make(["sh", "-c",
              f"kill -0 {host_pid}; echo kill=$?; test -e /proc/{host_pid}; echo proc=$?;"
              " /attach; echo attach=$?; /traceme; echo traceme=$?; echo pids=$(ls /proc | grep -c '^[0-9]')"], seccomp=True)  # fmt: skip
    syscall_probe(os.path.join(rootfs, "attach"), SYS_PTRACE, PTRACE_ATTACH, host_pid)
    syscall_probe(os.path.join(rootfs, "traceme"), SYS_PTRACE, PTRACE_TRACEME)
    kv = _kv(ctr.run_ok())
    assert kv["kill"] == "1" and kv["proc"] == "1"  # the host pid is not in this pid namespace
    # ptrace itself is refused by the default profile (it needs CAP_SYS_PTRACE)
    assert kv["attach"] == str(EPERM) and kv["traceme"] == str(EPERM)
    assert int(kv["pids"]) <= 4  # sh, the $(…) subshell, ls, grep: nothing of the host


def test_ptrace_without_seccomp_still_cannot_find_host_processes(ctr):
    # The pid namespace alone: attaching to a host pid finds no such process.
    host_pid = os.getpid()
    rootfs = os.path.join(ctr.bundle, "rootfs")
    ctr.make(["sh", "-c", "/attach; echo attach=$?"])
    syscall_probe(os.path.join(rootfs, "attach"), SYS_PTRACE, PTRACE_ATTACH, host_pid)
    assert _kv(ctr.run_ok()) == {"attach": str(ESRCH)}


def test_setting_the_hostname_does_not_reach_the_host(ctr):
    host = socket.gethostname()
    ctr.make(["sh", "-c", "hostname evil; echo rc=$?; hostname"], seccomp=True)
    out = ctr.run_ok()
    assert out.split() == ["rc=1", "berth"]  # sethostname needs CAP_SYS_ADMIN
    assert socket.gethostname() == host


def test_hostname_with_cap_sys_admin_changes_only_the_container(ctr):
    host = socket.gethostname()
    caps = [*DEFAULT_CAPS, "CAP_SYS_ADMIN"]
    spec = ctr.make(["sh", "-c", "hostname evil; echo rc=$?; hostname"], seccomp=True)
    spec["process"]["capabilities"] = {"bounding": caps, "effective": caps, "permitted": caps}
    spec["linux"]["seccomp"] = default_profile(caps)
    write_config(ctr.bundle, spec)
    assert ctr.run_ok().split() == ["rc=0", "evil"]
    assert socket.gethostname() == host  # a UTS namespace of its own


def test_sys_firmware_is_unreadable(ctr):
    host = os.listdir("/sys/firmware")
    assert host, "the host has no /sys/firmware entries to hide"
    probe = f"/sys/firmware/{host[0]}"
    ctr.make(["sh", "-c", f"echo n=$(ls -A /sys/firmware | wc -l); ls {probe}; echo ls=$?; touch /sys/firmware/x; echo touch=$?"], seccomp=True)
    assert _kv(ctr.run_ok()) == {"n": "0", "ls": "1", "touch": "1"}


def test_block_device_node_gives_no_access_to_the_disk(ctr):
    # CAP_MKNOD is in Docker's default set and the device cgroup allows "m" for every
    # node (runc's and Docker's defaults), so mknod itself may succeed; reading or
    # writing the node is what the device cgroup refuses.
    major, minor = root_disk()
    ctr.make(["sh", "-c",
              f"mknod /tmp/disk b {major} {minor}; echo mknod=$?; head -c 512 /tmp/disk >/dev/null; echo read=$?;"
              " echo x > /tmp/disk; echo write=$?; mknod /tmp/mem c 1 1; head -c 1 /tmp/mem >/dev/null; echo mem=$?"],
             seccomp=True)  # fmt: skip
    kv = _kv(ctr.run_ok())
    assert (kv["read"], kv["write"], kv["mem"]) == ("1", "1", "1"), kv
    assert kv["mknod"] in ("0", "1")
    assert "Operation not permitted" in _err(ctr)


def test_raising_the_hard_open_files_limit_fails(ctr):
    ctr.make(["sh", "-c", "ulimit -Hn 30000; echo rc=$?; ulimit -Hn; ulimit -Hn 1025; echo up=$?"], seccomp=True)
    out = ctr.run_ok()
    assert out.split() == ["rc=1", "1024", "up=1"]  # no CAP_SYS_RESOURCE inside


def test_cgroup_files_are_read_only_and_release_agent_is_absent(ctr):
    ctr.make(["sh", "-c",
              "echo 9223372036854771712 > /sys/fs/cgroup/memory/memory.limit_in_bytes; echo limit=$?;"
              " echo $$ > /sys/fs/cgroup/pids/cgroup.procs; echo procs=$?;"
              " test -e /sys/fs/cgroup/memory/release_agent; echo agent=$?;"
              " mkdir -p /tmp/cg; mount -t cgroup -o memory cgroup /tmp/cg; echo mount=$?"], seccomp=True)  # fmt: skip
    assert _kv(ctr.run_ok()) == {"limit": "1", "procs": "1", "agent": "1", "mount": "1"}
