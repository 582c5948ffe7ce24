from __future__ import annotations

from collections.abc import Callable

import pytest

from berth import errdefs
from berth.engine.containers.model import (
    ContainerConfig,
    HealthConfig,
    HostConfig,
    PortBinding,
    Resources,
    RestartPolicy,
    Ulimit,
)
from berth.engine.containers.validate import (
    normalize_capability,
    parse_port,
    parse_signal,
    validate_create,
)

MB = 1024 * 1024


def _check(config: ContainerConfig | None = None, ncpu: int = 4, **host: object) -> list[str]:
    return validate_create(config or ContainerConfig(), HostConfig(**host), ncpu)  # type: ignore[arg-type]


def _resources(**fields: object) -> list[str]:
    return _check(resources=Resources(**fields))  # type: ignore[arg-type]


def _fails(message: str, fn: Callable[..., object], *args: object, **kwargs: object) -> None:
    with pytest.raises(errdefs.InvalidArgument) as exc:
        fn(*args, **kwargs)
    assert exc.value.message == message


def test_defaults_are_valid() -> None:
    assert _check() == []


# memory


def test_memory_below_minimum() -> None:
    _fails("Minimum memory limit allowed is 6MB", _resources, memory=4 * MB)


def test_memory_at_minimum_is_accepted() -> None:
    assert _resources(memory=6 * MB) == []


def test_memory_swap_smaller_than_memory() -> None:
    _fails(
        "Minimum memoryswap limit should be larger than memory limit, see usage",
        _resources, memory=64 * MB, memory_swap=32 * MB,
    )  # fmt: skip


def test_memory_swap_unlimited_is_accepted() -> None:
    assert _resources(memory=64 * MB, memory_swap=-1) == []


def test_memory_swap_without_memory() -> None:
    _fails(
        "You should always set the Memory limit when using Memoryswap limit, see usage",
        _resources, memory_swap=64 * MB,
    )  # fmt: skip


def test_memory_reservation_above_memory() -> None:
    _fails(
        "Minimum memory limit can not be less than memory reservation limit, see usage",
        _resources, memory=64 * MB, memory_reservation=128 * MB,
    )  # fmt: skip


def test_memory_reservation_below_minimum() -> None:
    _fails("Minimum memory reservation allowed is 6MB", _resources, memory_reservation=MB)


@pytest.mark.parametrize("value", [-2, 101])
def test_swappiness_out_of_range(value: int) -> None:
    _fails(
        f"Invalid value: {value}, valid memory swappiness range is 0-100",
        _resources, memory_swappiness=value,
    )  # fmt: skip


@pytest.mark.parametrize("value", [-1, 0, 100])
def test_swappiness_in_range_or_unset(value: int) -> None:
    assert _resources(memory_swappiness=value) == []


def test_oom_kill_disable_without_memory_warns() -> None:
    assert any("OOM killer is disabled" in w for w in _resources(oom_kill_disable=True))
    assert _resources(oom_kill_disable=True, memory=64 * MB) == []


def test_kernel_memory_warns() -> None:
    assert any("kernel memory" in w for w in _resources(kernel_memory=64 * MB))


# cpu


def test_nano_cpus_above_host_cpus() -> None:
    _fails(
        "Range of CPUs is from 0.01 to 4.00, as there are only 4 CPUs available",
        _resources, nano_cpus=5_000_000_000,
    )  # fmt: skip


def test_nano_cpus_negative() -> None:
    with pytest.raises(errdefs.InvalidArgument, match=r"^Range of CPUs is from 0.01 to 2.00"):
        _check(ncpu=2, resources=Resources(nano_cpus=-1))


def test_nano_cpus_within_range() -> None:
    assert _resources(nano_cpus=4_000_000_000) == []


def test_nano_cpus_with_cpu_period_conflict() -> None:
    _fails(
        "Conflicting options: Nano CPUs and CPU Period cannot both be set",
        _resources, nano_cpus=1_000_000_000, cpu_period=100_000,
    )  # fmt: skip


def test_nano_cpus_with_cpu_quota_conflict() -> None:
    _fails(
        "Conflicting options: Nano CPUs and CPU Quota cannot both be set",
        _resources, nano_cpus=1_000_000_000, cpu_quota=50_000,
    )  # fmt: skip


def test_cpu_period_range() -> None:
    with pytest.raises(errdefs.InvalidArgument, match=r"^CPU cfs period can not be less than 1ms"):
        _resources(cpu_period=999)


def test_cpu_quota_minimum() -> None:
    _fails("CPU cfs quota can not be less than 1ms (i.e. 1000)", _resources, cpu_quota=10)


def test_cpu_shares_negative() -> None:
    with pytest.raises(errdefs.InvalidArgument, match=r"^shares: invalid argument$"):
        _resources(cpu_shares=-5)


@pytest.mark.parametrize("weight", [5, 1001, -1])
def test_blkio_weight_out_of_range(weight: int) -> None:
    _fails("Range of blkio weight is from 10 to 1000", _resources, blkio_weight=weight)


@pytest.mark.parametrize("weight", [0, 10, 1000])
def test_blkio_weight_unset_or_in_range(weight: int) -> None:
    assert _resources(blkio_weight=weight) == []


@pytest.mark.parametrize("limit", [None, -1, 0, 100])
def test_pids_limit_unlimited_or_positive_accepted(limit: int | None) -> None:
    assert _resources(pids_limit=limit) == []


# host config


@pytest.mark.parametrize("value", [-1001, 1001])
def test_oom_score_adj_out_of_range(value: int) -> None:
    _fails(
        f"Invalid value {value}, range for oom score adj is [-1000, 1000]",
        _check, oom_score_adj=value,
    )  # fmt: skip


def test_shm_size_negative() -> None:
    _fails("SHM size can not be less than 0", _check, shm_size=-1)


def test_unknown_restart_policy() -> None:
    _fails("invalid restart policy 'sometimes'", _check, restart_policy=RestartPolicy("sometimes"))


@pytest.mark.parametrize("name", ["always", "unless-stopped", "no"])
def test_retry_count_only_with_on_failure(name: str) -> None:
    _fails(
        f"maximum retry count cannot be used with restart policy '{name}'",
        _check, restart_policy=RestartPolicy(name, 3),
    )  # fmt: skip


def test_on_failure_negative_retry_count() -> None:
    _fails(
        "maximum retry count cannot be negative",
        _check, restart_policy=RestartPolicy("on-failure", -1),
    )  # fmt: skip


def test_on_failure_with_retry_count_is_valid() -> None:
    assert _check(restart_policy=RestartPolicy("on-failure", 5)) == []


def test_auto_remove_with_restart_policy() -> None:
    _fails(
        "can't create 'AutoRemove' container with restart policy",
        _check, auto_remove=True, restart_policy=RestartPolicy("always"),
    )  # fmt: skip


def test_auto_remove_with_no_restart_is_valid() -> None:
    assert _check(auto_remove=True, restart_policy=RestartPolicy("no")) == []


def test_working_dir_must_be_absolute() -> None:
    _fails(
        "the working directory 'app' is invalid, it needs to be an absolute path",
        _check, ContainerConfig(working_dir="app"),
    )  # fmt: skip


# ports


@pytest.mark.parametrize(
    ("spec", "expected"),
    [("80", (80, 80, "tcp")), ("53/udp", (53, 53, "udp")), ("8000-8010/tcp", (8000, 8010, "tcp")),
     ("9/SCTP", (9, 9, "sctp"))],
)  # fmt: skip
def test_parse_port(spec: str, expected: tuple[int, int, str]) -> None:
    assert parse_port(spec) == expected


@pytest.mark.parametrize("spec", ["", "abc", "70000", "90-80", "80/icmp", "1-2-3", "/tcp"])
def test_parse_port_invalid(spec: str) -> None:
    _fails(f'invalid port specification: "{spec}"', parse_port, spec)


def test_invalid_exposed_port() -> None:
    _fails('invalid port specification: "http"', _check, ContainerConfig(exposed_ports=["http"]))


def test_invalid_port_binding_container_port() -> None:
    _fails('invalid port specification: "99999/tcp"', _check, port_bindings={"99999/tcp": []})


def test_invalid_port_binding_host_port() -> None:
    _fails(
        'invalid port specification: "eighty"',
        _check, port_bindings={"80/tcp": [PortBinding(host_port="eighty")]},
    )  # fmt: skip


def test_port_binding_host_range_and_empty_are_valid() -> None:
    bindings = [PortBinding(host_port="8000-8010"), PortBinding(host_ip="127.0.0.1")]
    assert _check(port_bindings={"80/tcp": bindings}) == []


def test_host_network_with_published_ports_warns() -> None:
    warnings = _check(network_mode="host", port_bindings={"80/tcp": [PortBinding(host_port="80")]})
    assert warnings == ["Published ports are discarded when using host network mode"]


# capabilities


@pytest.mark.parametrize("name", ["NET_ADMIN", "net_admin", "CAP_NET_ADMIN", "cap_net_admin"])
def test_normalize_capability(name: str) -> None:
    assert normalize_capability(name) == "CAP_NET_ADMIN"


def test_normalize_capability_all() -> None:
    assert normalize_capability("all") == "ALL"


def test_unknown_capability() -> None:
    _fails('unknown capability: "CAP_FOO"', normalize_capability, "foo")


def test_unknown_capability_in_cap_add_or_drop() -> None:
    # dockerd 20.10 names the field (tests/oracle/test_container_parity.py)
    _fails('invalid CapDrop: unknown capability: "CAP_FOO"', _check, cap_add=["NET_ADMIN"], cap_drop=["CAP_FOO"])


# network mode


@pytest.mark.parametrize(
    "mode", ["", "default", "bridge", "host", "none", "container:abc", "mynet"]
)
def test_network_modes_accepted(mode: str) -> None:
    assert _check(network_mode=mode) == []


@pytest.mark.parametrize("mode", ["container:", "container"])
def test_container_network_mode_needs_a_container(mode: str) -> None:
    _fails(
        "Invalid network mode: invalid container format container:<name|id>",
        _check, network_mode=mode,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("config", "host", "message"),
    [
        (ContainerConfig(hostname="h"), {}, "conflicting options: hostname and the network mode"),
        (ContainerConfig(), {"dns": ["1.1.1.1"]}, "conflicting options: dns and the network mode"),
        (ContainerConfig(), {"extra_hosts": ["a:1.2.3.4"]},
         "conflicting options: custom host-to-IP mapping and the network mode"),
        (ContainerConfig(mac_address="02:42:ac:11:00:02"), {},
         "conflicting options: mac-address and the network mode"),
        (ContainerConfig(), {"publish_all_ports": True},
         "conflicting options: port publishing and the container type network mode"),
        (ContainerConfig(exposed_ports=["80/tcp"]), {},
         "conflicting options: port exposing and the container type network mode"),
        (ContainerConfig(), {"links": ["db:db"]},
         "conflicting options: container type network can't be used with links. "
         "This would result in undefined behavior"),
    ],
)  # fmt: skip
def test_container_network_mode_conflicts(
    config: ContainerConfig, host: dict[str, object], message: str
) -> None:
    _fails(message, _check, config, network_mode="container:abc", **host)


def test_host_network_with_links() -> None:
    with pytest.raises(
        errdefs.InvalidArgument, match=r"^conflicting options: host type networking"
    ):
        _check(network_mode="host", links=["db:db"])


def test_host_network_with_hostname_is_valid() -> None:
    assert _check(ContainerConfig(hostname="web-1.example"), network_mode="host") == []


@pytest.mark.parametrize("hostname", ["-bad", "a_b", "x" * 65, "a..b"])
def test_invalid_hostname(hostname: str) -> None:
    _fails(f"invalid hostname format: {hostname}", _check, ContainerConfig(hostname=hostname))


def test_uts_host_with_hostname() -> None:
    _fails(
        "conflicting options: hostname and the UTS mode",
        _check, ContainerConfig(hostname="h"), uts_mode="host",
    )  # fmt: skip


# signals


@pytest.mark.parametrize(
    ("text", "number"),
    [("9", 9), ("KILL", 9), ("SIGKILL", 9), ("sigterm", 15), ("term", 15), ("RTMIN+3", 37),
     ("SIGRTMAX", 64), ("RTMAX-1", 63)],
)  # fmt: skip
def test_parse_signal(text: str, number: int) -> None:
    assert parse_signal(text) == number


@pytest.mark.parametrize("text", ["0", "65", "-1", "SIGFOO", ""])
def test_parse_signal_invalid(text: str) -> None:
    _fails(f"Invalid signal: {text}", parse_signal, text)


def test_invalid_stop_signal() -> None:
    _fails("Invalid signal: SIGNOPE", _check, ContainerConfig(stop_signal="SIGNOPE"))


# ulimits


def test_unknown_ulimit() -> None:
    _fails("invalid ulimit type: nofiles", _resources, ulimits=[Ulimit("nofiles", 1, 2)])


def test_ulimit_soft_above_hard() -> None:
    _fails(
        "ulimit soft limit must be less than or equal to hard limit: 2048 > 1024",
        _resources, ulimits=[Ulimit("nofile", 2048, 1024)],
    )  # fmt: skip


def test_ulimit_unlimited_hard_accepts_any_soft() -> None:
    assert _resources(ulimits=[Ulimit("core", 100, -1), Ulimit("nofile", 1024, 1024)]) == []


# healthcheck


@pytest.mark.parametrize("field", ["interval", "timeout", "start_period", "start_interval"])
def test_healthcheck_duration_below_1ms(field: str) -> None:
    label = {"interval": "Interval", "timeout": "Timeout", "start_period": "StartPeriod",
             "start_interval": "StartInterval"}[field]  # fmt: skip
    health = HealthConfig(test=["CMD", "true"], **{field: 999_999})  # type: ignore[arg-type]
    _fails(
        f"{label} in Healthcheck cannot be less than 1ms",
        _check, ContainerConfig(healthcheck=health),
    )  # fmt: skip


def test_healthcheck_negative_retries() -> None:
    _fails(
        "Retries in Healthcheck cannot be negative",
        _check, ContainerConfig(healthcheck=HealthConfig(retries=-1)),
    )  # fmt: skip


def test_healthcheck_valid_durations() -> None:
    health = HealthConfig(interval=1_000_000, timeout=0, start_period=5_000_000_000, retries=3)
    assert _check(ContainerConfig(healthcheck=health)) == []


# security options


@pytest.mark.parametrize(
    "opt",
    ["no-new-privileges", "no-new-privileges:true", "no-new-privileges=false",
     "seccomp=unconfined", 'seccomp={"defaultAction":"SCMP_ACT_ALLOW"}', "apparmor=unconfined",
     "apparmor:docker-default", "label=disable", "label=type:svirt_t", "disable"],
)  # fmt: skip
def test_security_opt_valid(opt: str) -> None:
    assert _check(security_opt=[opt]) == []


def test_security_opt_without_value() -> None:
    _fails('invalid --security-opt 1: "foo"', _check, security_opt=["foo"])


@pytest.mark.parametrize("opt", ["foo=bar", "no-new-privileges=maybe"])
def test_security_opt_unknown_key_or_bad_bool(opt: str) -> None:
    _fails(f'invalid --security-opt 2: "{opt}"', _check, security_opt=[opt])


def test_security_opt_seccomp_not_json() -> None:
    with pytest.raises(errdefs.InvalidArgument, match=r"^Decoding seccomp profile failed"):
        _check(security_opt=["seccomp=/etc/profile.json"])
