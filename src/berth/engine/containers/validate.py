"""Checks on a container's config and host config at ``create``, with Docker's messages.

What moby checks in ``verifyContainerSettings``, ``verifyPlatformContainerResources``,
``verifyPlatformContainerSettings``, ``validateNetMode`` and ``parseSecurityOpt``
(Docker Engine 20.10, API 1.41): resource ranges, restart policy, ports, network mode
conflicts, healthcheck durations, capabilities, signals, ulimits and ``--security-opt``.
A bad value is :class:`~berth.errdefs.InvalidArgument` with Docker's exact text (clients
compare it); what Docker only warns about is returned as warnings.

Validate the config *as the user sent it*, before the image is merged in: Docker does,
so an image's ``EXPOSE`` does not conflict with ``--network container:…``.
"""

from __future__ import annotations

import json
import re

from berth import errdefs
from berth.engine.containers.model import ContainerConfig, HealthConfig, HostConfig, Resources
from berth.linux.caps import CAPABILITIES

__all__ = [
    "MIN_MEMORY",
    "SIGNALS",
    "ULIMIT_NAMES",
    "check_network_exists",
    "normalize_capability",
    "parse_port",
    "parse_signal",
    "validate_create",
]

MIN_MEMORY = 6 * 1024 * 1024  # moby linuxMinMemory
_MIN_HEALTH_DURATION = 1_000_000  # ns, moby containertypes.MinimumDuration (1ms)
_PROTOCOLS = ("tcp", "udp", "sctp")

# moby/sys/signal SignalMap for Linux (generic numbering: x86, arm, arm64, riscv).
SIGNALS: dict[str, int] = {
    "HUP": 1, "INT": 2, "QUIT": 3, "ILL": 4, "TRAP": 5, "ABRT": 6, "IOT": 6, "BUS": 7,
    "FPE": 8, "KILL": 9, "USR1": 10, "SEGV": 11, "USR2": 12, "PIPE": 13, "ALRM": 14,
    "TERM": 15, "STKFLT": 16, "CHLD": 17, "CLD": 17, "CONT": 18, "STOP": 19, "TSTP": 20,
    "TTIN": 21, "TTOU": 22, "URG": 23, "XCPU": 24, "XFSZ": 25, "VTALRM": 26, "PROF": 27,
    "WINCH": 28, "IO": 29, "POLL": 29, "PWR": 30, "SYS": 31, "UNUSED": 31,
    "RTMIN": 34, **{f"RTMIN+{i}": 34 + i for i in range(1, 16)},
    **{f"RTMAX-{i}": 64 - i for i in range(1, 15)}, "RTMAX": 64,
}  # fmt: skip
_MAX_SIGNAL = 64

# go-units ulimit names → RLIMIT_*
ULIMIT_NAMES = (
    "core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile",
    "nproc", "rss", "rtprio", "rttime", "sigpending", "stack",
)  # fmt: skip
_BUILTIN_NETWORKS = ("", "default", "none", "host", "bridge")
_RESTART_POLICIES = ("", "no", "always", "unless-stopped", "on-failure")
_HOSTNAME = re.compile(
    r"^(([A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9])\.)*"
    r"([A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9])$"
)
_TRUE = ("1", "t", "T", "TRUE", "true", "True")
_FALSE = ("0", "f", "F", "FALSE", "false", "False")


def _invalid(message: str) -> errdefs.InvalidArgument:
    return errdefs.InvalidArgument(message)


def normalize_capability(name: str) -> str:
    """``net_admin``, ``NET_ADMIN``, ``CAP_NET_ADMIN`` → ``CAP_NET_ADMIN``; ``ALL`` stays
    (moby ``NormalizeLegacyCapabilities``)."""
    cap = name.upper()
    if cap == "ALL":
        return cap
    if not cap.startswith("CAP_"):
        cap = "CAP_" + cap
    if cap not in CAPABILITIES:
        raise _invalid(f'unknown capability: "{cap}"')
    return cap


def parse_signal(s: str) -> int:
    """A signal by number (``9``) or name, with or without ``SIG``, any case
    (``kill``, ``SIGKILL``, ``RTMIN+3``), as ``--stop-signal`` and ``kill -s`` take it."""
    if re.fullmatch(r"[+-]?\d+", s.strip()):
        number = int(s)
        if 0 < number <= _MAX_SIGNAL:
            return number
        raise _invalid(f"Invalid signal: {s}")
    name = s.upper()
    name = name.removeprefix("SIG")
    if name not in SIGNALS:
        raise _invalid(f"Invalid signal: {s}")
    return SIGNALS[name]


def _port_number(text: str, spec: str) -> int:
    if not text.isdigit() or int(text) > 65535:
        raise _invalid(f'invalid port specification: "{spec}"')
    return int(text)


def parse_port(spec: str) -> tuple[int, int, str]:
    """``80``, ``80/udp``, ``8000-8010/tcp`` → ``(start, end, proto)``; tcp by default."""
    port, _, proto = spec.partition("/")
    proto = proto or "tcp"
    if not port or proto.lower() not in _PROTOCOLS:
        raise _invalid(f'invalid port specification: "{spec}"')
    start_text, dash, end_text = port.partition("-")
    start = _port_number(start_text, spec)
    end = _port_number(end_text, spec) if dash else start
    if end < start:
        raise _invalid(f'invalid port specification: "{spec}"')
    return start, end, proto.lower()


def _check_resources(r: Resources, ncpu: int) -> list[str]:
    warnings: list[str] = []
    if r.memory != 0 and r.memory < MIN_MEMORY:
        raise _invalid("Minimum memory limit allowed is 6MB")
    if r.memory > 0 and r.memory_swap > 0 and r.memory_swap < r.memory:
        raise _invalid("Minimum memoryswap limit should be larger than memory limit, see usage")
    if r.memory == 0 and r.memory_swap > 0:
        raise _invalid(
            "You should always set the Memory limit when using Memoryswap limit, see usage"
        )
    if r.memory_swappiness is not None and r.memory_swappiness != -1:
        # -1 is the API's "unset" (moby fixMemorySwappiness)
        if not 0 <= r.memory_swappiness <= 100:
            raise _invalid(
                f"Invalid value: {r.memory_swappiness}, valid memory swappiness range is 0-100"
            )
    if r.memory_reservation > 0 and r.memory_reservation < MIN_MEMORY:
        raise _invalid("Minimum memory reservation allowed is 6MB")
    if r.memory > 0 and r.memory_reservation > 0 and r.memory < r.memory_reservation:
        raise _invalid(
            "Minimum memory limit can not be less than memory reservation limit, see usage"
        )
    if r.kernel_memory > 0:
        warnings.append(
            "Specifying a kernel memory limit is deprecated and will be removed in a future "
            "release."
        )
    if r.oom_kill_disable and r.memory == 0:
        warnings.append(
            "OOM killer is disabled for the container, but no memory limit is set, this can "
            "result in the system running out of resources."
        )
    if r.nano_cpus > 0 and r.cpu_period > 0:
        raise _invalid("Conflicting options: Nano CPUs and CPU Period cannot both be set")
    if r.nano_cpus > 0 and r.cpu_quota > 0:
        raise _invalid("Conflicting options: Nano CPUs and CPU Quota cannot both be set")
    if r.nano_cpus < 0 or r.nano_cpus > ncpu * 1_000_000_000:
        raise _invalid(
            f"Range of CPUs is from 0.01 to {ncpu}.00, as there are only {ncpu} CPUs available"
        )
    _check_cpuset(r.cpuset_cpus, "cpus", "Requested CPUs are not available", "cpus")
    _check_cpuset(r.cpuset_mems, "mems", "Requested memory nodes are not available", "mems")
    if r.cpu_shares < 0:
        # dockerd 20.10's text (tests/oracle/test_container_parity.py)
        raise _invalid("shares: invalid argument")
    if r.cpu_period != 0 and not 1000 <= r.cpu_period <= 1_000_000:
        raise _invalid(
            "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)"
        )
    if 0 < r.cpu_quota < 1000:
        raise _invalid("CPU cfs quota can not be less than 1ms (i.e. 1000)")
    if r.blkio_weight > 0 and not 10 <= r.blkio_weight <= 1000:
        raise _invalid("Range of blkio weight is from 10 to 1000")
    if r.blkio_weight < 0:
        raise _invalid("Range of blkio weight is from 10 to 1000")
    for ul in r.ulimits:
        if ul.name not in ULIMIT_NAMES:
            raise _invalid(f"invalid ulimit type: {ul.name}")
        soft = float("inf") if ul.soft == -1 else ul.soft
        hard = float("inf") if ul.hard == -1 else ul.hard
        if soft > hard:
            raise _invalid(
                f"ulimit soft limit must be less than or equal to hard limit: {ul.soft} > {ul.hard}"
            )
    # pids_limit: 0 and negative values mean "unlimited" (Docker normalises, no error)
    return warnings


def _parse_uint_list(text: str) -> set[int] | None:
    """``0-3,5`` → {0, 1, 2, 3, 5}; None when malformed (moby ``parsers.ParseUintList``)."""
    out: set[int] = set()
    for part in text.split(","):
        lo, dash, hi = part.partition("-")
        if not lo.isdigit() or (dash and not hi.isdigit()):
            return None
        start, end = int(lo), int(hi) if dash else int(lo)
        if end < start:
            return None
        out.update(range(start, end + 1))
    return out


def _host_cpuset(kind: str) -> str:
    """The CPUs or memory nodes the host offers containers: the root cpuset's list (v1),
    else the effective list of the v2 root."""
    for path in (f"/sys/fs/cgroup/cpuset/cpuset.{kind}", f"/sys/fs/cgroup/cpuset.{kind}.effective"):
        try:
            with open(path, encoding="ascii") as f:
                return f.read().strip()
        except OSError:
            continue
    return ""


def _check_cpuset(value: str, what: str, unavailable: str, kind: str) -> None:
    """``--cpuset-cpus``/``--cpuset-mems``: well formed, and only what the host has
    (moby ``verifyPlatformContainerResources`` with ``sysInfo.IsCpusetCpusAvailable``)."""
    if not value:
        return
    wanted = _parse_uint_list(value)
    if wanted is None:
        raise _invalid(f"Invalid value {value} for cpuset {what}: invalid format: {value}")
    available = _host_cpuset(kind)
    have = _parse_uint_list(available) if available else None
    if have is not None and not wanted <= have:
        raise _invalid(f"{unavailable} - requested {value}, available: {available}")


def _check_restart(host_config: HostConfig) -> None:
    policy = host_config.restart_policy
    if policy.name not in _RESTART_POLICIES:
        raise _invalid(f"invalid restart policy '{policy.name}'")
    if policy.name in ("always", "unless-stopped", "no") and policy.maximum_retry_count != 0:
        raise _invalid(f"maximum retry count cannot be used with restart policy '{policy.name}'")
    if policy.name == "on-failure" and policy.maximum_retry_count < 0:
        raise _invalid("maximum retry count cannot be negative")
    if host_config.auto_remove and policy.name not in ("", "no"):
        raise _invalid("can't create 'AutoRemove' container with restart policy")


def _check_ports(config: ContainerConfig, host_config: HostConfig) -> None:
    for port in [*config.exposed_ports, *host_config.port_bindings]:
        parse_port(port)
    for bindings in host_config.port_bindings.values():
        for binding in bindings:
            if not binding.host_port:
                continue
            host_port = binding.host_port.partition("/")[0]
            try:
                parse_port(host_port)
            except errdefs.InvalidArgument:
                raise _invalid(f'invalid port specification: "{binding.host_port}"') from None


def check_network_exists(mode: str) -> None:
    """A network mode that names a network must name one that exists; berth has no
    user-defined networks yet, so only the built-in modes do (moby ``FindNetwork``:
    ``network X not found``; a 400, as dockerd answers: a 404 would make the CLI pull)."""
    if mode not in _BUILTIN_NETWORKS and not mode.startswith("container:") and mode != "container":
        raise errdefs.InvalidArgument(f"network {mode} not found")


def _check_network(config: ContainerConfig, host_config: HostConfig) -> None:
    mode = host_config.network_mode
    if config.hostname:
        if len(config.hostname) > 64 or not _HOSTNAME.match(config.hostname):
            raise _invalid(f"invalid hostname format: {config.hostname}")
    if mode == "container" or mode.startswith("container:"):
        if not mode.partition(":")[2]:
            raise _invalid("Invalid network mode: invalid container format container:<name|id>")
        conflicts = (
            (config.hostname, "conflicting options: hostname and the network mode"),
            (
                host_config.links,
                "conflicting options: container type network can't be used with links. "
                "This would result in undefined behavior",
            ),
            (host_config.dns, "conflicting options: dns and the network mode"),
            (
                host_config.extra_hosts,
                "conflicting options: custom host-to-IP mapping and the network mode",
            ),
            (config.mac_address, "conflicting options: mac-address and the network mode"),
            (
                host_config.port_bindings or host_config.publish_all_ports,
                "conflicting options: port publishing and the container type network mode",
            ),
            (
                config.exposed_ports,
                "conflicting options: port exposing and the container type network mode",
            ),
        )
        for present, message in conflicts:
            if present:
                raise _invalid(message)
    if mode == "host":
        if host_config.links:
            raise _invalid(
                "conflicting options: host type networking can't be used with links. "
                "This would result in undefined behavior"
            )
        if config.mac_address:
            raise _invalid("conflicting options: mac-address and the network mode")
    if host_config.uts_mode == "host" and config.hostname:
        raise _invalid("conflicting options: hostname and the UTS mode")


def _check_health(health: HealthConfig | None) -> None:
    if health is None:
        return
    for label, value in (
        ("Interval", health.interval),
        ("Timeout", health.timeout),
        ("StartPeriod", health.start_period),
        ("StartInterval", health.start_interval),
    ):
        if value != 0 and value < _MIN_HEALTH_DURATION:
            raise _invalid(f"{label} in Healthcheck cannot be less than 1ms")
    if health.retries < 0:
        raise _invalid("Retries in Healthcheck cannot be negative")


def _check_security_opt(opts: list[str]) -> None:
    """moby ``parseSecurityOpt``: ``key=value`` (or the deprecated ``key:value``) with key
    ``label``, ``apparmor``, ``seccomp`` or ``no-new-privileges``."""
    for opt in opts:
        if opt in ("no-new-privileges", "disable"):
            continue
        sep = "=" if "=" in opt else ":" if ":" in opt else ""
        if not sep:
            raise _invalid(f'invalid --security-opt 1: "{opt}"')
        key, _, value = opt.partition(sep)
        if key in ("label", "apparmor"):
            continue
        if key == "seccomp":
            if value in ("unconfined", "builtin", ""):
                continue
            try:
                profile = json.loads(value)
            except ValueError as exc:
                raise _invalid(f"Decoding seccomp profile failed: {exc}") from None
            if not isinstance(profile, dict):
                raise _invalid("Decoding seccomp profile failed: not a JSON object")
            continue
        if key == "no-new-privileges" and value in _TRUE + _FALSE:
            continue
        raise _invalid(f'invalid --security-opt 2: "{opt}"')


def validate_create(config: ContainerConfig, host_config: HostConfig, ncpu: int) -> list[str]:
    """Check a create request; raise InvalidArgument on the first bad value, return
    Docker's warnings. ``ncpu`` bounds ``nano_cpus`` (the CPUs this host has)."""
    if config.working_dir and not config.working_dir.startswith("/"):
        raise _invalid(
            f"the working directory '{config.working_dir}' is invalid, "
            "it needs to be an absolute path"
        )
    _check_health(config.healthcheck)
    if config.stop_signal:
        parse_signal(config.stop_signal)
    _check_ports(config, host_config)
    _check_restart(host_config)
    warnings = _check_resources(host_config.resources, ncpu)
    if host_config.shm_size < 0:
        raise _invalid("SHM size can not be less than 0")
    if not -1000 <= host_config.oom_score_adj <= 1000:
        raise _invalid(
            f"Invalid value {host_config.oom_score_adj}, range for oom score adj is [-1000, 1000]"
        )
    _check_network(config, host_config)
    if host_config.network_mode == "host" and host_config.port_bindings:
        warnings.append("Published ports are discarded when using host network mode")
    for field, caps in (("CapAdd", host_config.cap_add), ("CapDrop", host_config.cap_drop)):
        for cap in caps:
            try:
                normalize_capability(cap)
            except errdefs.InvalidArgument as exc:
                raise _invalid(f"invalid {field}: {exc}") from None
    _check_security_opt(host_config.security_opt)
    return warnings
