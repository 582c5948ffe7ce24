"""build_spec: process, root, mounts, namespaces, sysctls, and berth-runtime's own checks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from berth.cgroups import checks
from berth.engine.containers.model import (
    ContainerConfig,
    DeviceMapping,
    Resources,
    ThrottleDevice,
    Ulimit,
)
from berth.engine.containers.spec import UsernsMap, build_spec, container_env
from berth.errdefs import InvalidArgument
from berth.oci.default_spec import DEFAULT_CAPS, MASKED_PATHS, READONLY_PATHS
from berth.runtime.config import validate

from ._spec_fakes import DIR, FakeHost, blk_dev, chr_dev, container, spec_input


def mount(spec: dict[str, Any], dest: str) -> dict[str, Any]:
    found = [m for m in spec["mounts"] if m["destination"] == dest]
    assert len(found) == 1, f"{dest}: {found}"
    return found[0]


def ns_types(spec: dict[str, Any]) -> list[str]:
    return [n["type"] for n in spec["linux"]["namespaces"]]


def test_default_container_spec() -> None:
    spec = build_spec(spec_input(cgroups_path="/berth/c0ffee"))
    assert spec["ociVersion"].startswith("1.")
    p = spec["process"]
    assert p["args"] == ["sh", "-c", "true"]
    assert p["cwd"] == "/"
    assert p["terminal"] is False
    assert p["user"] == {"uid": 0, "gid": 0}
    assert p["env"] == [
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "HOSTNAME=c0ffee000001",
    ]
    assert p["capabilities"] == {k: DEFAULT_CAPS for k in ("bounding", "effective", "permitted")}
    assert p["noNewPrivileges"] is False
    assert p["oomScoreAdj"] == 0
    assert "rlimits" not in p and "apparmorProfile" not in p
    assert spec["root"] == {"path": "/nonexistent/rootfs", "readonly": False}
    assert spec["hostname"] == "c0ffee000001"
    assert "hooks" not in spec and "annotations" not in spec
    lx = spec["linux"]
    assert lx["cgroupsPath"] == "/berth/c0ffee"
    assert ns_types(spec) == ["mount", "network", "uts", "pid", "ipc", "cgroup"]
    assert all("path" not in n for n in lx["namespaces"])
    assert lx["maskedPaths"] == MASKED_PATHS and lx["readonlyPaths"] == READONLY_PATHS
    assert lx["sysctl"] == {
        "net.ipv4.ping_group_range": "0 2147483647",
        "net.ipv4.ip_unprivileged_port_start": "0",
    }
    assert lx["seccomp"]["defaultAction"] == "SCMP_ACT_ERRNO"
    assert lx["seccomp"]["architectures"] == ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]
    assert lx["devices"] == []


def test_default_mounts_in_dockers_order_and_options() -> None:
    spec = build_spec(spec_input())
    assert [m["destination"] for m in spec["mounts"]] == [
        "/proc", "/dev", "/dev/pts", "/sys", "/sys/fs/cgroup", "/dev/mqueue", "/dev/shm",
    ]  # fmt: skip
    assert mount(spec, "/dev")["options"] == ["nosuid", "strictatime", "mode=755", "size=65536k"]
    assert mount(spec, "/dev/pts")["options"] == [
        "nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5",
    ]  # fmt: skip
    assert "ro" in mount(spec, "/sys")["options"]
    assert "ro" in mount(spec, "/sys/fs/cgroup")["options"]
    shm = mount(spec, "/dev/shm")
    assert shm["type"] == "tmpfs"
    assert shm["options"] == ["nosuid", "noexec", "nodev", "mode=1777", "size=67108864"]


def test_shm_size_and_ipc_none() -> None:
    spec = build_spec(spec_input(container(shm_size=128 << 20)))
    assert "size=134217728" in mount(spec, "/dev/shm")["options"]
    spec = build_spec(spec_input(container(ipc_mode="none")))
    assert "/dev/shm" not in [m["destination"] for m in spec["mounts"]]
    assert "ipc" in ns_types(spec)


def test_network_files_are_bound_after_the_defaults() -> None:
    spec = build_spec(
        spec_input(
            resolv_conf_path="/b/resolv.conf", hostname_path="/b/hostname", hosts_path="/b/hosts"
        )
    )
    dests = [m["destination"] for m in spec["mounts"]]
    assert dests[-3:] == ["/etc/resolv.conf", "/etc/hostname", "/etc/hosts"]
    assert mount(spec, "/etc/hosts") == {
        "destination": "/etc/hosts", "type": "bind", "source": "/b/hosts", "options": ["rbind", "rprivate"],
    }  # fmt: skip


def test_readonly_rootfs() -> None:
    spec = build_spec(spec_input(container(readonly_rootfs=True), hosts_path="/b/hosts"))
    assert spec["root"]["readonly"] is True
    assert mount(spec, "/etc/hosts")["options"] == ["rbind", "ro", "rprivate"]
    assert "ro" not in mount(spec, "/dev/shm")["options"]
    assert "ro" not in mount(spec, "/proc")["options"]


def test_user_mounts_replace_defaults_and_are_sorted_by_depth() -> None:
    shm = {
        "destination": "/dev/shm",
        "type": "bind",
        "source": "/host/shm",
        "options": ["rbind", "rprivate"],
    }
    deep = {"destination": "/data/sub", "type": "bind", "source": "/h/sub", "options": ["rbind"]}
    top = {"destination": "/data", "type": "bind", "source": "/h/data", "options": ["rbind", "ro"]}
    spec = build_spec(spec_input(user_mounts=[shm, deep, top], hosts_path="/b/hosts"))
    assert mount(spec, "/dev/shm") == shm
    dests = [m["destination"] for m in spec["mounts"]]
    assert dests.index("/data") < dests.index("/data/sub")
    assert dests.index("/etc/hosts") < dests.index("/data/sub")


def test_user_mounted_dev_drops_everything_under_dev() -> None:
    dev = {"destination": "/dev", "type": "bind", "source": "/dev", "options": ["rbind"]}
    spec = build_spec(spec_input(user_mounts=[dev]))
    assert [m["destination"] for m in spec["mounts"]] == ["/proc", "/sys", "/sys/fs/cgroup", "/dev"]


def test_tmpfs_options_merge_like_docker() -> None:
    spec = build_spec(spec_input(container(tmpfs={"/run": "rw,exec,size=10m", "/tmp": ""})))
    assert mount(spec, "/run") == {
        "destination": "/run", "type": "tmpfs", "source": "tmpfs",
        "options": ["nosuid", "nodev", "rprivate", "rw", "exec", "size=10m"],
    }  # fmt: skip
    assert mount(spec, "/tmp")["options"] == ["noexec", "nosuid", "nodev", "rprivate"]
    with pytest.raises(InvalidArgument, match=r'invalid tmpfs option \["bogus" "1"\]'):
        build_spec(spec_input(container(tmpfs={"/run": "bogus=1"})))


def test_env_tty_and_overrides() -> None:
    cfg = ContainerConfig(
        hostname="h", tty=True, env=["PATH=/bin", "HOSTNAME", "A=1"], working_dir="/srv"
    )
    c = container(config=cfg, console_size=[24, 80])
    assert container_env(c) == ["PATH=/bin", "TERM=xterm", "A=1"]
    spec = build_spec(spec_input(c))
    assert spec["process"]["terminal"] is True
    assert spec["process"]["consoleSize"] == {"height": 24, "width": 80}
    assert spec["process"]["cwd"] == "/srv"


def test_domainname_and_uts_host() -> None:
    spec = build_spec(
        spec_input(container(config=ContainerConfig(hostname="h", domainname="example.org")))
    )
    assert spec["linux"]["sysctl"]["kernel.domainname"] == "example.org"
    assert spec["domainname"] == "example.org"
    spec = build_spec(spec_input(container(uts_mode="host")))
    assert "uts" not in ns_types(spec) and "hostname" not in spec


def test_user_ids_and_non_root_capabilities() -> None:
    spec = build_spec(spec_input(uid=1000, gid=1000, additional_gids=[1000, 10]))
    assert spec["process"]["user"] == {"uid": 1000, "gid": 1000, "additionalGids": [1000, 10]}
    assert spec["process"]["capabilities"] == {"bounding": DEFAULT_CAPS}


def test_init_wraps_the_command() -> None:
    spec = build_spec(spec_input(container(init=True), init_path="/usr/bin/docker-init"))
    assert spec["process"]["args"] == ["/sbin/docker-init", "--", "sh", "-c", "true"]
    assert mount(spec, "/sbin/docker-init") == {
        "destination": "/sbin/docker-init", "type": "bind", "source": "/usr/bin/docker-init", "options": ["bind", "ro"],
    }  # fmt: skip
    spec = build_spec(spec_input(container(pid_mode="host"), init_path="/x", default_init=True))
    assert spec["process"]["args"][0] == "sh"
    with pytest.raises(InvalidArgument, match="--init"):
        build_spec(spec_input(container(init=True)))


def test_no_command() -> None:
    with pytest.raises(InvalidArgument, match=r"^no command specified$"):
        build_spec(spec_input(container(path="", args=[])))


# namespaces


def test_host_network_has_no_netns_and_no_net_sysctls() -> None:
    spec = build_spec(spec_input(container(network_mode="host")))
    assert "network" not in ns_types(spec)
    assert "sysctl" not in spec["linux"]


def test_netns_path_is_joined() -> None:
    spec = build_spec(
        spec_input(container(network_mode="bridge"), netns_path="/run/berth/netns/c0")
    )
    assert {"type": "network", "path": "/run/berth/netns/c0"} in spec["linux"]["namespaces"]
    spec = build_spec(spec_input(container(network_mode="none")))
    assert {"type": "network"} in spec["linux"]["namespaces"]


def test_container_modes_join_the_given_paths() -> None:
    c = container(network_mode="container:abc", pid_mode="container:abc", ipc_mode="container:abc")
    spec = build_spec(
        spec_input(
            c,
            netns_path="/proc/9/ns/net",
            pid_ns_path="/proc/9/ns/pid",
            ipc_ns_path="/proc/9/ns/ipc",
        )
    )
    paths = {n["type"]: n.get("path") for n in spec["linux"]["namespaces"]}
    assert paths["network"] == "/proc/9/ns/net"
    assert paths["pid"] == "/proc/9/ns/pid"
    assert paths["ipc"] == "/proc/9/ns/ipc"
    # joined network namespace: not ours to tune
    assert "net.ipv4.ping_group_range" not in spec["linux"].get("sysctl", {})
    with pytest.raises(InvalidArgument, match="PID mode container:abc"):
        build_spec(spec_input(container(pid_mode="container:abc")))


def test_pid_ipc_host_remove_namespaces() -> None:
    spec = build_spec(spec_input(container(pid_mode="host", ipc_mode="host")))
    assert ns_types(spec) == ["mount", "network", "uts", "cgroup"]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("pid_mode", "bogus", "invalid PID mode: bogus"),
        ("ipc_mode", "bogus", "invalid IPC mode: bogus"),
        ("uts_mode", "bogus", "invalid UTS mode: bogus"),
        ("cgroupns_mode", "bogus", "invalid cgroup namespace mode: bogus"),
        ("userns_mode", "bogus", "invalid USER mode: bogus"),
    ],
)
def test_invalid_modes(field: str, value: str, message: str) -> None:
    with pytest.raises(InvalidArgument, match=f"^{message}$"):
        build_spec(spec_input(container(**{field: value})))


def test_cgroup_namespace_defaults() -> None:
    assert "cgroup" in ns_types(build_spec(spec_input(cgroup_v2=True)))
    assert "cgroup" not in ns_types(build_spec(spec_input(cgroup_v2=False)))
    assert "cgroup" in ns_types(
        build_spec(spec_input(container(cgroupns_mode="private"), cgroup_v2=False))
    )
    assert "cgroup" not in ns_types(build_spec(spec_input(container(cgroupns_mode="host"))))


def test_user_namespace_from_the_daemons_map() -> None:
    m = UsernsMap(uid_mappings=[(0, 100000, 65536)], gid_mappings=[(0, 100000, 65536)])
    spec = build_spec(spec_input(userns_map=m))
    assert "user" in ns_types(spec)
    assert spec["linux"]["uidMappings"] == [{"containerID": 0, "hostID": 100000, "size": 65536}]
    assert spec["linux"]["gidMappings"] == [{"containerID": 0, "hostID": 100000, "size": 65536}]
    assert "ro" not in mount(spec, "/sys/fs/cgroup")["options"]
    assert "net.ipv4.ping_group_range" not in spec["linux"]["sysctl"]
    spec = build_spec(spec_input(container(userns_mode="host"), userns_map=m))
    assert "user" not in ns_types(spec) and "uidMappings" not in spec["linux"]
    c = container(network_mode="container:x")
    spec = build_spec(
        spec_input(c, userns_map=m, netns_path="/proc/9/ns/net", userns_path="/proc/9/ns/user")
    )
    assert {"type": "user", "path": "/proc/9/ns/user"} in spec["linux"]["namespaces"]


# sysctls


def test_sysctls_from_host_config() -> None:
    spec = build_spec(
        spec_input(container(sysctls={"net.core.somaxconn": "1024", "kernel.shmmax": "1"}))
    )
    assert spec["linux"]["sysctl"]["net.core.somaxconn"] == "1024"
    assert spec["linux"]["sysctl"]["kernel.shmmax"] == "1"


@pytest.mark.parametrize(
    ("hc", "message"),
    [
        (
            {"sysctls": {"kernel.panic": "1"}},
            'sysctl "kernel.panic" is not in a separate kernel namespace',
        ),
        (
            {"sysctls": {"vm.swappiness": "1"}},
            'sysctl "vm.swappiness" is not in a separate kernel namespace',
        ),
        (
            {"sysctls": {"net.ipv4.ip_forward": "1"}, "network_mode": "host"},
            'sysctl "net.ipv4.ip_forward" not allowed in host network namespace',
        ),
        (
            {"sysctls": {"kernel.shmmax": "1"}, "ipc_mode": "host"},
            'sysctl "kernel.shmmax" is not allowed in the hosts ipc namespace',
        ),
        ({"sysctls": {"kernel.hostname": "x"}}, 'conflicts with the OCI "hostname" field'),
    ],
)
def test_sysctls_refused_as_runc_does(hc: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        build_spec(spec_input(container(**hc)))


def test_default_sysctls_only_when_the_host_has_them() -> None:
    spec = build_spec(spec_input(host=FakeHost(existing=set())))
    assert "sysctl" not in spec["linux"]


def test_masked_and_readonly_paths() -> None:
    spec = build_spec(spec_input(container(masked_paths=["/proc/x"], readonly_paths=[])))
    assert spec["linux"]["maskedPaths"] == ["/proc/x"]
    assert "readonlyPaths" not in spec["linux"]


# berth-runtime's own validation of what we produce


def _host_with_devices() -> FakeHost:
    return FakeHost(
        nodes={
            "/dev": DIR,
            "/dev/null": chr_dev(1, 3),
            "/dev/sda": blk_dev(8, 0),
            "/dev/fuse": chr_dev(10, 229),
            "/dev/pts": DIR,
            "/dev/pts/0": chr_dev(136, 0),
        }
    )


def _representative() -> list[Any]:
    return [
        spec_input(),
        spec_input(container(privileged=True), host=_host_with_devices()),
        spec_input(
            container(
                config=ContainerConfig(hostname="h", domainname="d", tty=True, user="1000"),
                readonly_rootfs=True,
                cap_add=["NET_ADMIN"],
                cap_drop=["MKNOD"],
                security_opt=["no-new-privileges", "apparmor=unconfined", "label=disable"],
                sysctls={"net.core.somaxconn": "512"},
                tmpfs={"/run": "size=1m"},
                resources=Resources(
                    memory=64 << 20,
                    memory_swap=128 << 20,
                    nano_cpus=1_500_000_000,
                    cpu_shares=512,
                    cpuset_cpus="0",
                    pids_limit=100,
                    blkio_weight=300,
                    blkio_device_read_bps=[ThrottleDevice("/dev/sda", 1 << 20)],
                    devices=[DeviceMapping("/dev/fuse", "/dev/fuse", "rwm")],
                    device_cgroup_rules=["c 1:3 rwm", "a *:* m"],
                    ulimits=[Ulimit("nofile", 1024, 2048)],
                ),
            ),
            uid=1000,
            gid=1000,
            additional_gids=[1000],
            hosts_path="/b/hosts",
            host=_host_with_devices(),
        ),
        spec_input(
            container(network_mode="host", pid_mode="host", ipc_mode="host", uts_mode="host"),
            cgroup_v2=False,
        ),
        spec_input(userns_map=UsernsMap([(0, 100000, 65536)], [(0, 100000, 65536)])),
    ]


@pytest.mark.parametrize("index", range(5))
def test_specs_pass_berth_runtime_validation(tmp_path: Path, index: int) -> None:
    rootfs = tmp_path / "rootfs"
    rootfs.mkdir()
    inp = _representative()[index]
    inp.rootfs = str(rootfs)
    spec = build_spec(inp)
    validate(spec, str(tmp_path))
    checks.validate(spec["linux"]["resources"], "v2" if inp.cgroup_v2 else "v1")
