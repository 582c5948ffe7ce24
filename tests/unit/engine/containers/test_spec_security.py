"""Capabilities, --security-opt, seccomp and --privileged in the generated spec."""

from __future__ import annotations

import json
from typing import Any

import pytest

from berth.engine.containers.spec import build_spec
from berth.engine.containers.spec_security import (
    ALL_CAPS,
    parse_security_opts,
    seccomp_from_profile,
    tweak_capabilities,
)
from berth.errdefs import InvalidArgument
from berth.linux.caps import CAPABILITIES
from berth.oci.default_spec import DEFAULT_CAPS

from ._spec_fakes import DIR, FakeHost, chr_dev, container, spec_input


def test_cap_add_and_drop() -> None:
    caps = tweak_capabilities(["net_admin", "CAP_SYS_TIME"], ["mknod", "CAP_NET_RAW"], False)
    assert "CAP_NET_ADMIN" in caps and "CAP_SYS_TIME" in caps
    assert "CAP_MKNOD" not in caps and "CAP_NET_RAW" not in caps
    assert len(caps) == len(DEFAULT_CAPS) - 2 + 2


def test_cap_add_all_and_drop_all() -> None:
    assert tweak_capabilities(["ALL"], ["SYS_ADMIN"], False) == [
        c for c in ALL_CAPS if c != "CAP_SYS_ADMIN"
    ]
    assert tweak_capabilities(["chown"], ["all"], False) == ["CAP_CHOWN"]
    assert tweak_capabilities([], ["ALL"], False) == []


def test_unknown_capability_is_dockers_message() -> None:
    with pytest.raises(InvalidArgument, match=r'^unknown capability: "CAP_BOGUS"$'):
        build_spec(spec_input(container(cap_add=["bogus"])))


def test_privileged_container() -> None:
    host = FakeHost(
        nodes={
            "/dev": DIR,
            "/dev/null": chr_dev(1, 3),
            "/dev/console": chr_dev(5, 1),
            "/dev/pts": DIR,
            "/dev/pts/0": chr_dev(136, 0),
            "/dev/snd": DIR,
            "/dev/snd/timer": chr_dev(116, 33, 0o660, 0, 29),
        }
    )
    spec = build_spec(spec_input(container(privileged=True), host=host))
    caps = spec["process"]["capabilities"]
    assert caps["bounding"] == caps["effective"] == caps["permitted"] == list(ALL_CAPS)
    assert set(ALL_CAPS) == set(CAPABILITIES)
    lx = spec["linux"]
    assert "seccomp" not in lx
    assert "maskedPaths" not in lx and "readonlyPaths" not in lx
    assert lx["resources"]["devices"] == [{"allow": True, "access": "rwm"}]
    assert [d["path"] for d in lx["devices"]] == ["/dev/null", "/dev/snd/timer"]
    assert lx["devices"][1] == {
        "path": "/dev/snd/timer", "type": "c", "major": 116, "minor": 33, "fileMode": 0o660, "uid": 0, "gid": 29,
    }  # fmt: skip
    sys_opts = next(m for m in spec["mounts"] if m["destination"] == "/sys")["options"]
    cg_opts = next(m for m in spec["mounts"] if m["destination"] == "/sys/fs/cgroup")["options"]
    assert "ro" not in sys_opts and "ro" not in cg_opts


def test_privileged_with_given_host_devices_and_an_explicit_masked_list() -> None:
    given = [
        {
            "path": "/dev/kvm",
            "type": "c",
            "major": 10,
            "minor": 232,
            "fileMode": 0o660,
            "uid": 0,
            "gid": 0,
        }
    ]
    spec = build_spec(
        spec_input(container(privileged=True, masked_paths=["/proc/kcore"]), host_devices=given)
    )
    assert spec["linux"]["devices"] == given
    assert spec["linux"]["maskedPaths"] == ["/proc/kcore"]


def test_no_new_privileges() -> None:
    for opt in ("no-new-privileges", "no-new-privileges=true", "no-new-privileges:1"):
        assert (
            build_spec(spec_input(container(security_opt=[opt])))["process"]["noNewPrivileges"]
            is True
        )
    spec = build_spec(
        spec_input(container(security_opt=["no-new-privileges=false"]), no_new_privileges=True)
    )
    assert spec["process"]["noNewPrivileges"] is False
    assert build_spec(spec_input(no_new_privileges=True))["process"]["noNewPrivileges"] is True


def test_apparmor_and_selinux_on_a_host_without_them() -> None:
    spec = build_spec(
        spec_input(container(security_opt=["apparmor=unconfined", "label=disable", "disable"]))
    )
    assert "apparmorProfile" not in spec["process"]
    with pytest.raises(
        InvalidArgument, match="apparmor=docker-default: AppArmor is not enabled on this host"
    ):
        build_spec(spec_input(container(security_opt=["apparmor=docker-default"])))
    with pytest.raises(
        InvalidArgument, match="label=type:svirt_t: SELinux is not enabled on this host"
    ):
        build_spec(spec_input(container(security_opt=["label=type:svirt_t"])))


def test_apparmor_profile_when_the_host_has_apparmor() -> None:
    spec = build_spec(spec_input(container(security_opt=["apparmor=mine"]), apparmor_enabled=True))
    assert spec["process"]["apparmorProfile"] == "mine"


@pytest.mark.parametrize(
    ("opt", "message"),
    [
        ("bogus", 'invalid --security-opt 1: "bogus"'),
        ("foo=bar", 'invalid --security-opt 2: "foo=bar"'),
        ("no-new-privileges=maybe", 'invalid --security-opt 2: "no-new-privileges=maybe"'),
    ],
)
def test_malformed_security_opts(opt: str, message: str) -> None:
    with pytest.raises(InvalidArgument, match=f"^{message}$"):
        parse_security_opts([opt])


def test_seccomp_default_follows_the_capabilities() -> None:
    plain = build_spec(spec_input())["linux"]["seccomp"]
    admin = build_spec(spec_input(container(cap_add=["SYS_ADMIN"])))["linux"]["seccomp"]

    def allowed(profile: dict[str, Any]) -> set[str]:
        return {
            n for s in profile["syscalls"] for n in s["names"] if s["action"] == "SCMP_ACT_ALLOW"
        }

    assert "mount" not in allowed(plain) and "mount" in allowed(admin)


def test_seccomp_unconfined() -> None:
    spec = build_spec(spec_input(container(security_opt=["seccomp=unconfined"])))
    assert "seccomp" not in spec["linux"]


PROFILE = {
    "defaultAction": "SCMP_ACT_ERRNO",
    "defaultErrnoRet": 1,
    "archMap": [
        {"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]},
        {"architecture": "SCMP_ARCH_AARCH64", "subArchitectures": ["SCMP_ARCH_ARM"]},
    ],
    "syscalls": [
        {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW", "comment": "basics"},
        {"name": "getpid", "action": "SCMP_ACT_ALLOW"},
        {"names": ["arch_prctl"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["amd64", "x32"]}},
        {"names": ["set_tls"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["arm", "arm64"]}},
        {"names": ["mount"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}},
        {
            "names": ["clone"], "action": "SCMP_ACT_ALLOW",
            "args": [{"index": 0, "value": 2114060288, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}],
            "excludes": {"caps": ["CAP_SYS_ADMIN"]},
        },
        {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38, "excludes": {"caps": ["CAP_SYS_ADMIN"]}},
        {"names": ["new_thing"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "6.5"}},
        {"names": ["old_thing"], "action": "SCMP_ACT_ALLOW", "excludes": {"minKernel": "5.0"}},
    ],
}  # fmt: skip


def test_docker_profile_converted_to_oci() -> None:
    spec = build_spec(spec_input(container(security_opt=["seccomp=" + json.dumps(PROFILE)])))
    sc = spec["linux"]["seccomp"]
    assert sc["defaultAction"] == "SCMP_ACT_ERRNO" and sc["defaultErrnoRet"] == 1
    assert sc["architectures"] == ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]
    names = [s["names"] for s in sc["syscalls"]]
    assert names == [["read", "write"], ["getpid"], ["arch_prctl"], ["clone"], ["clone3"]]
    assert sc["syscalls"][3]["args"][0]["op"] == "SCMP_CMP_MASKED_EQ"
    assert sc["syscalls"][4]["errnoRet"] == 38
    assert all("comment" not in s and "includes" not in s for s in sc["syscalls"])


def test_profile_filters_by_caps_arch_and_kernel() -> None:
    text = json.dumps(PROFILE)
    sc = seccomp_from_profile(text, ["CAP_SYS_ADMIN"], arch="aarch64", kernel="6.8.0")
    assert sc is not None
    assert sc["architectures"] == ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"]
    assert [s["names"][0] for s in sc["syscalls"]] == [
        "read",
        "getpid",
        "set_tls",
        "mount",
        "new_thing",
    ]
    sc = seccomp_from_profile(text, [], arch="x86_64", kernel="4.19.0")
    assert sc is not None
    assert "old_thing" in [s["names"][0] for s in sc["syscalls"]]


def test_profile_errors() -> None:
    with pytest.raises(InvalidArgument, match=r"^Decoding seccomp profile failed: "):
        seccomp_from_profile("{not json", [])
    both = {
        "defaultAction": "SCMP_ACT_ERRNO",
        "syscalls": [{"name": "a", "names": ["b"], "action": "SCMP_ACT_ALLOW"}],
    }
    with pytest.raises(InvalidArgument, match="both 'name' and 'names' are specified"):
        seccomp_from_profile(json.dumps(both), [])
    arch = {
        "defaultAction": "SCMP_ACT_ERRNO",
        "architectures": ["SCMP_ARCH_X86"],
        "archMap": [{"architecture": "x"}],
    }
    with pytest.raises(InvalidArgument, match="both 'architectures' and 'archMap' are specified"):
        seccomp_from_profile(json.dumps(arch), [])
    assert seccomp_from_profile("{}", []) is None


def test_privileged_ignores_a_seccomp_profile() -> None:
    spec = build_spec(
        spec_input(
            container(privileged=True, security_opt=["seccomp=" + json.dumps(PROFILE)]),
            host_devices=[],
        )
    )
    assert "seccomp" not in spec["linux"]
