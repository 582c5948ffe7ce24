"""What a process sees from inside: namespaces, mounts, masked and read-only paths,
devices, hostname, environment, user."""

from __future__ import annotations

import os

import pytest

pytestmark = pytest.mark.root


def _ns(name: str, pid: str = "self") -> str:
    return os.readlink(f"/proc/{pid}/ns/{name}")


def test_each_namespace_is_new(ctr):
    ctr.make(["sh", "-c", "for n in pid mnt uts ipc net cgroup; do echo $n $(readlink /proc/self/ns/$n); done; echo pid1 $$"])
    code, out = ctr.run_to_exit()
    assert code == 0, out
    seen = dict(line.split(" ", 1) for line in out.splitlines())
    assert seen["pid1"] == "1"
    for n in ("pid", "mnt", "uts", "ipc", "net", "cgroup"):
        assert seen[n] != _ns(n), f"{n} namespace is the host's"


def test_joining_a_namespace_by_path(ctr, tmp_path):
    spec = ctr.make(["sh", "-c", "readlink /proc/self/ns/uts; readlink /proc/self/ns/net"])
    for ns in spec["linux"]["namespaces"]:
        if ns["type"] == "network":
            ns["path"] = "/proc/1/ns/net"
    spec["linux"]["namespaces"] = [n for n in spec["linux"]["namespaces"] if n["type"] != "network"]
    spec["linux"]["namespaces"].append({"type": "network", "path": f"/proc/{os.getpid()}/ns/net"})
    from berth.testing.bundles import write_config

    write_config(ctr.bundle, spec)
    code, out = ctr.run_to_exit()
    assert code == 0, out
    uts, net = out.split()
    assert net == _ns("net") and uts != _ns("uts")


def test_hostname_and_domainname(ctr):
    if ctr.rt.name == "runc":
        pytest.skip("runc 1.1 ignores domainname (it came with runc 1.2)")
    spec = ctr.make(["sh", "-c", "hostname; cat /proc/sys/kernel/domainname"])
    spec["hostname"] = "berth-box"
    spec["domainname"] = "example.test"
    from berth.testing.bundles import write_config

    write_config(ctr.bundle, spec)
    out = ctr.run_ok()
    assert out.split() == ["berth-box", "example.test"]


def test_network_namespace_has_only_loopback(ctr):
    ctr.make(["sh", "-c", "ls /sys/class/net"])
    out = ctr.run_ok()
    assert out.split() == ["lo"]


def test_mounts_inside(ctr):
    ctr.make(["cat", "/proc/self/mounts"])
    out = ctr.run_ok()
    mounts = {line.split()[1]: line.split() for line in out.splitlines()}
    assert mounts["/"]
    assert mounts["/proc"][2] == "proc"
    assert mounts["/dev"][2] == "tmpfs"
    assert mounts["/dev/pts"][2] == "devpts"
    assert mounts["/dev/shm"][2] == "tmpfs"
    assert mounts["/sys"][2] == "sysfs" and "ro" in mounts["/sys"][3].split(",")
    assert "/sys/fs/cgroup" in mounts
    # none of the host's mounts is visible
    assert not any(m.startswith(("/work", "/run", "/tmp/")) for m in mounts), sorted(mounts)


def test_bind_mount_read_only(ctr, tmp_path):
    host = tmp_path / "shared"
    host.mkdir()
    (host / "hello.txt").write_text("from the host\n")
    spec = ctr.make(["sh", "-c", "cat /data/hello.txt; touch /data/new 2>/dev/null && echo writable || echo readonly"])
    spec["mounts"].append({"destination": "/data", "type": "bind", "source": str(host), "options": ["rbind", "ro"]})
    from berth.testing.bundles import write_config

    write_config(ctr.bundle, spec)
    out = ctr.run_ok()
    assert out == "from the host\nreadonly\n"
    assert not (host / "new").exists()


def test_bind_mount_of_a_file(ctr, tmp_path):
    f = tmp_path / "file.txt"
    f.write_text("single file\n")
    spec = ctr.make(["cat", "/etc/berth-file"])
    spec["mounts"].append({"destination": "/etc/berth-file", "type": "bind", "source": str(f), "options": ["bind"]})
    from berth.testing.bundles import write_config

    write_config(ctr.bundle, spec)
    out = ctr.run_ok()
    assert out == "single file\n"


def test_tmpfs_mount_with_options(ctr):
    spec = ctr.make(["sh", "-c", "grep ' /scratch ' /proc/self/mounts"])
    spec["mounts"].append({"destination": "/scratch", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev", "size=1m", "mode=1777"]})
    from berth.testing.bundles import write_config

    write_config(ctr.bundle, spec)
    out = ctr.run_ok()
    fields = out.split()
    assert fields[2] == "tmpfs"
    opts = fields[3].split(",")
    assert "nosuid" in opts and "nodev" in opts and "size=1024k" in opts


def test_masked_paths_are_unreadable(ctr):
    files = [p for p in ("/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/sched_debug") if os.path.exists(p)]
    assert files, "no maskable /proc file on this kernel"
    script = "".join(f"cat {p} | wc -c; " for p in files) + "ls -A /sys/firmware | wc -l"
    ctr.make(["sh", "-c", script])
    out = ctr.run_ok()
    assert out.split() == ["0"] * (len(files) + 1), out


def test_readonly_paths_refuse_writes(ctr):
    ctr.make(["sh", "-c", "echo 1 > /proc/sys/kernel/ns_last_pid 2>/dev/null && echo wrote || echo refused; echo b > /proc/sysrq-trigger 2>/dev/null && echo wrote || echo refused"])
    out = ctr.run_ok()
    assert out.split() == ["refused", "refused"]


def test_readonly_root(ctr):
    spec = ctr.make(["sh", "-c", "touch /newfile 2>/dev/null && echo wrote || echo refused; touch /dev/shm/ok && echo tmp-ok"])
    spec["root"]["readonly"] = True
    from berth.testing.bundles import write_config

    write_config(ctr.bundle, spec)
    out = ctr.run_ok()
    assert out.split() == ["refused", "tmp-ok"]


def test_default_devices(ctr):
    ctr.make(["sh", "-c", "stat -c '%n %t:%T %a' /dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/tty; for l in /dev/ptmx /dev/fd /dev/stdin; do readlink $l; done"])
    out = ctr.run_ok()
    lines = out.splitlines()
    assert lines[:6] == [
        "/dev/null 1:3 666", "/dev/zero 1:5 666", "/dev/full 1:7 666",
        "/dev/random 1:8 666", "/dev/urandom 1:9 666", "/dev/tty 5:0 666",
    ]  # fmt: skip
    assert lines[6:] == ["pts/ptmx", "/proc/self/fd", "/proc/self/fd/0"]


def test_configured_device_node(ctr):
    spec = ctr.make(["stat", "-c", "%n %F %t:%T %a %u:%g", "/dev/berth-null"])
    spec["linux"]["devices"] = [{"path": "/dev/berth-null", "type": "c", "major": 1, "minor": 3, "fileMode": 0o640, "uid": 1000, "gid": 1000}]
    from berth.testing.bundles import write_config

    write_config(ctr.bundle, spec)
    out = ctr.run_ok()
    assert out.strip() == "/dev/berth-null character special file 1:3 640 1000:1000"


def test_environment_cwd_and_user(ctr):
    spec = ctr.make(["sh", "-c", "echo $FOO; pwd; id -u; id -g; id -G; echo $HOME"])
    spec["process"]["env"].append("FOO=bar baz")
    spec["process"]["cwd"] = "/tmp"
    spec["process"]["user"] = {"uid": 1000, "gid": 1000, "additionalGids": [5, 1000]}
    from berth.testing.bundles import write_config

    write_config(ctr.bundle, spec)
    out = ctr.run_ok()
    lines = out.splitlines()
    assert lines[:4] == ["bar baz", "/tmp", "1000", "1000"]
    assert set(lines[4].split()) == {"5", "1000"}
    assert lines[5] == "/home/user"


def test_sysctl_in_the_container_namespace(ctr):
    spec = ctr.make(["cat", "/proc/sys/net/ipv4/ip_forward", "/proc/sys/kernel/shmmni"])
    spec["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1", "kernel.shmmni": "1234"}
    from berth.testing.bundles import write_config

    write_config(ctr.bundle, spec)
    out = ctr.run_ok()
    assert out.split() == ["1", "1234"]
    with open("/proc/sys/kernel/shmmni") as f:
        assert f.read().strip() != "1234"


def test_rlimits_applied(ctr):
    spec = ctr.make(["sh", "-c", "ulimit -n; ulimit -Hn"])
    spec["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": 512, "hard": 900}]
    from berth.testing.bundles import write_config

    write_config(ctr.bundle, spec)
    out = ctr.run_ok()
    assert out.split() == ["512", "900"]


def test_cgroup_namespace_root(ctr):
    ctr.make(["cat", "/proc/self/cgroup"])
    out = ctr.run_ok()
    for line in out.splitlines():
        _, ctrl, path = line.split(":", 2)
        if ctrl in ("memory", "pids", "cpu", ""):
            assert path == "/", line


def test_no_pivot_still_jails(ctr):
    ctr.make(["sh", "-c", "ls /; test -e /work && echo host-visible || echo jailed"])
    out = ctr.run_ok("--no-pivot")
    assert out.splitlines()[-1] == "jailed"


def test_umask_and_no_new_privileges(ctr):
    spec = ctr.make(["sh", "-c", "umask; grep NoNewPrivs /proc/self/status"])
    spec["process"]["user"]["umask"] = 0o027
    spec["process"]["noNewPrivileges"] = True
    from berth.testing.bundles import write_config

    write_config(ctr.bundle, spec)
    out = ctr.run_ok()
    lines = out.split("\n")
    assert lines[0] == "0027"
    assert lines[1].split() == ["NoNewPrivs:", "1"]


def test_without_no_new_privileges_the_flag_is_clear(ctr):
    spec = ctr.make(["grep", "NoNewPrivs", "/proc/self/status"])
    spec["process"]["noNewPrivileges"] = False
    from berth.testing.bundles import write_config

    write_config(ctr.bundle, spec)
    assert ctr.run_ok().split() == ["NoNewPrivs:", "0"]


def test_readonly_proc_sys_keeps_nosuid_nodev_noexec(ctr):
    ctr.make(["grep", " /proc/sys ", "/proc/self/mounts"])
    opts = ctr.run_ok().split()[3].split(",")
    assert "ro" in opts and {"nosuid", "nodev", "noexec"} <= set(opts), opts


def test_oom_score_adj_is_the_containers_not_the_hosts(ctr):
    with open("/proc/1/oom_score_adj") as f:
        host_before = f.read()
    spec = ctr.make(["cat", "/proc/self/oom_score_adj"])
    spec["process"]["oomScoreAdj"] = 500
    from berth.testing.bundles import write_config

    write_config(ctr.bundle, spec)
    assert ctr.run_ok().strip() == "500"
    with open("/proc/1/oom_score_adj") as f:
        assert f.read() == host_before


def test_bind_mount_propagation_option(ctr, tmp_path):
    host = tmp_path / "prop"
    host.mkdir()
    spec = ctr.make(["grep", " /data ", "/proc/self/mountinfo"])
    spec["mounts"].append({"destination": "/data", "type": "bind", "source": str(host), "options": ["rbind", "rshared"]})
    from berth.testing.bundles import write_config

    write_config(ctr.bundle, spec)
    line = ctr.run_ok()
    assert "shared:" in line, line
