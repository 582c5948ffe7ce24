"""The container as the engine knows it: Docker's Config, HostConfig and State, in
snake_case. The API layer (:mod:`berth.api.container_wire`) maps these to Docker's wire
names; the store keeps them as JSON through :mod:`berth.engine.containers.codec`.

Vocabulary:

- **config** — what the container runs (image, command, env, user, tty…): Docker's
  ``Config``, the image's defaults merged in at create.
- **host config** — how the host runs it (resources, mounts, security, restart policy,
  network mode): Docker's ``HostConfig``. ``update`` changes its resources and restart
  policy on a live container.
- **state** — what it is doing now: Docker's ``State``; ``status`` is one of
  ``created``, ``running``, ``paused``, ``restarting``, ``removing``, ``exited``, ``dead``.
- **bundle** — ``<root>/containers/<id>/``: the OCI ``config.json`` and ``rootfs``.
- Durations (healthcheck intervals, stop timeouts in ns) follow Docker's units: the
  healthcheck's are nanoseconds, ``stop_timeout`` seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "BindOptions",
    "BlkioDevice",
    "Container",
    "ContainerConfig",
    "DeviceMapping",
    "EndpointSettings",
    "Health",
    "HealthConfig",
    "HealthLog",
    "HostConfig",
    "LogConfig",
    "Mount",
    "MountPoint",
    "NetworkSettings",
    "PortBinding",
    "Resources",
    "RestartPolicy",
    "State",
    "ThrottleDevice",
    "TmpfsOptions",
    "Ulimit",
    "VolumeOptions",
]


@dataclass
class HealthConfig:
    """``test``: [] inherit, ["NONE"] disabled, ["CMD", …] exec, ["CMD-SHELL", cmd]."""

    test: list[str] = field(default_factory=list)
    interval: int = 0  # ns; 0 = default (30 s)
    timeout: int = 0
    start_period: int = 0
    start_interval: int = 0
    retries: int = 0


@dataclass
class ContainerConfig:
    hostname: str = ""
    domainname: str = ""
    user: str = ""
    attach_stdin: bool = False
    attach_stdout: bool = False
    attach_stderr: bool = False
    exposed_ports: list[str] = field(default_factory=list)  # "80/tcp"
    tty: bool = False
    open_stdin: bool = False
    stdin_once: bool = False
    env: list[str] = field(default_factory=list)
    cmd: list[str] | None = None
    healthcheck: HealthConfig | None = None
    args_escaped: bool = False
    image: str = ""  # as the user gave it
    volumes: list[str] = field(default_factory=list)
    working_dir: str = ""
    entrypoint: list[str] | None = None
    network_disabled: bool = False
    mac_address: str = ""
    on_build: list[str] | None = None
    labels: dict[str, str] = field(default_factory=dict)
    stop_signal: str = ""
    stop_timeout: int | None = None
    shell: list[str] | None = None


@dataclass
class LogConfig:
    type: str = ""  # "" = the daemon's default
    config: dict[str, str] = field(default_factory=dict)


@dataclass
class PortBinding:
    host_ip: str = ""
    host_port: str = ""


@dataclass
class RestartPolicy:
    name: str = ""  # "" | "no" | "always" | "unless-stopped" | "on-failure"
    maximum_retry_count: int = 0


@dataclass
class BindOptions:
    propagation: str = ""
    non_recursive: bool = False
    create_mountpoint: bool = False


@dataclass
class VolumeOptions:
    no_copy: bool = False
    labels: dict[str, str] = field(default_factory=dict)
    driver: str = ""
    driver_options: dict[str, str] = field(default_factory=dict)
    subpath: str = ""


@dataclass
class TmpfsOptions:
    size_bytes: int = 0
    mode: int = 0


@dataclass
class Mount:
    """One ``--mount`` / ``HostConfig.Mounts`` item; ``-v`` and ``--tmpfs`` are parsed
    into these at create."""

    type: str = ""  # bind | volume | tmpfs
    source: str = ""
    target: str = ""
    read_only: bool = False
    consistency: str = ""
    bind_options: BindOptions | None = None
    volume_options: VolumeOptions | None = None
    tmpfs_options: TmpfsOptions | None = None


@dataclass
class DeviceMapping:
    path_on_host: str = ""
    path_in_container: str = ""
    cgroup_permissions: str = "rwm"


@dataclass
class BlkioDevice:
    path: str = ""
    weight: int = 0


@dataclass
class ThrottleDevice:
    path: str = ""
    rate: int = 0


@dataclass
class Ulimit:
    name: str = ""
    soft: int = 0
    hard: int = 0


@dataclass
class Resources:
    cpu_shares: int = 0
    memory: int = 0
    nano_cpus: int = 0
    cgroup_parent: str = ""
    blkio_weight: int = 0
    blkio_weight_device: list[BlkioDevice] = field(default_factory=list)
    blkio_device_read_bps: list[ThrottleDevice] = field(default_factory=list)
    blkio_device_write_bps: list[ThrottleDevice] = field(default_factory=list)
    blkio_device_read_iops: list[ThrottleDevice] = field(default_factory=list)
    blkio_device_write_iops: list[ThrottleDevice] = field(default_factory=list)
    cpu_period: int = 0
    cpu_quota: int = 0
    cpu_realtime_period: int = 0
    cpu_realtime_runtime: int = 0
    cpuset_cpus: str = ""
    cpuset_mems: str = ""
    devices: list[DeviceMapping] = field(default_factory=list)
    device_cgroup_rules: list[str] = field(default_factory=list)
    kernel_memory: int = 0
    kernel_memory_tcp: int = 0
    memory_reservation: int = 0
    memory_swap: int = 0  # -1 unlimited
    memory_swappiness: int | None = None
    oom_kill_disable: bool | None = None
    pids_limit: int | None = None  # 0 or -1: unlimited
    ulimits: list[Ulimit] = field(default_factory=list)


@dataclass
class HostConfig:
    binds: list[str] = field(default_factory=list)
    container_id_file: str = ""
    log_config: LogConfig = field(default_factory=LogConfig)
    network_mode: str = ""  # "" → default
    port_bindings: dict[str, list[PortBinding]] = field(default_factory=dict)
    restart_policy: RestartPolicy = field(default_factory=RestartPolicy)
    auto_remove: bool = False
    volume_driver: str = ""
    volumes_from: list[str] = field(default_factory=list)
    mounts: list[Mount] = field(default_factory=list)
    cap_add: list[str] = field(default_factory=list)
    cap_drop: list[str] = field(default_factory=list)
    cgroupns_mode: str = ""
    dns: list[str] = field(default_factory=list)
    dns_options: list[str] = field(default_factory=list)
    dns_search: list[str] = field(default_factory=list)
    extra_hosts: list[str] = field(default_factory=list)
    group_add: list[str] = field(default_factory=list)
    ipc_mode: str = ""
    cgroup: str = ""
    links: list[str] = field(default_factory=list)
    oom_score_adj: int = 0
    pid_mode: str = ""
    privileged: bool = False
    publish_all_ports: bool = False
    readonly_rootfs: bool = False
    security_opt: list[str] = field(default_factory=list)
    storage_opt: dict[str, str] = field(default_factory=dict)
    tmpfs: dict[str, str] = field(default_factory=dict)  # path → options
    uts_mode: str = ""
    userns_mode: str = ""
    shm_size: int = 0
    sysctls: dict[str, str] = field(default_factory=dict)
    runtime: str = ""
    init: bool | None = None
    isolation: str = ""  # "" or "default": the only isolation on Linux, kept as given
    masked_paths: list[str] | None = None
    readonly_paths: list[str] | None = None
    console_size: list[int] = field(default_factory=lambda: [0, 0])
    resources: Resources = field(default_factory=Resources)
    # berth's addition: what to do with a container that turns unhealthy
    # (none | kill | restart | stop), as podman's --health-on-failure.
    health_on_failure: str = ""
    # berth's addition: per-container bandwidth limits (--network-bandwidth), tc(8)
    # rates: "10mbit" both ways, or "egress=10mbit,ingress=50mbit"
    network_bandwidth: str = ""


@dataclass
class HealthLog:
    start: str = ""
    end: str = ""
    exit_code: int = 0
    output: str = ""


@dataclass
class Health:
    status: str = "starting"  # starting | healthy | unhealthy
    failing_streak: int = 0
    log: list[HealthLog] = field(default_factory=list)


@dataclass
class State:
    status: str = "created"
    running: bool = False
    paused: bool = False
    restarting: bool = False
    oom_killed: bool = False
    dead: bool = False
    pid: int = 0
    exit_code: int = 0
    error: str = ""
    started_at: str = "0001-01-01T00:00:00Z"
    finished_at: str = "0001-01-01T00:00:00Z"
    health: Health | None = None


@dataclass
class MountPoint:
    """A mount as inspect shows it (``Mounts``)."""

    type: str = ""
    name: str = ""
    source: str = ""
    destination: str = ""
    driver: str = ""
    mode: str = ""
    rw: bool = True
    propagation: str = ""
    # berth's bookkeeping, not on the wire: tmpfs/bind mount options, --mount volume-nocopy
    options: list[str] = field(default_factory=list)
    no_copy: bool = False


@dataclass
class EndpointSettings:
    """A container's attachment to one network: what was asked (``ipv4_requested``,
    ``ipv6_requested``, aliases, links, driver options — kept while it is stopped) and,
    while it runs, what it got (endpoint, addresses, MAC; cleared when it stops, as in
    Docker)."""

    network_id: str = ""
    endpoint_id: str = ""
    gateway: str = ""
    ip_address: str = ""
    ip_prefix_len: int = 0
    ipv6_gateway: str = ""
    global_ipv6_address: str = ""
    global_ipv6_prefix_len: int = 0
    mac_address: str = ""
    aliases: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    dns_names: list[str] = field(default_factory=list)
    driver_opts: dict[str, str] = field(default_factory=dict)
    ipv4_requested: str = ""
    ipv6_requested: str = ""
    mac_requested: str = ""
    ifname: str = ""  # inside the container: eth0, eth1, …


@dataclass
class NetworkSettings:
    sandbox_key: str = ""
    ports: dict[str, list[PortBinding]] = field(default_factory=dict)
    networks: dict[str, EndpointSettings] = field(default_factory=dict)


@dataclass
class Container:
    id: str
    name: str  # without the leading "/"
    created: str  # RFC 3339 with ns
    path: str  # the process: path + args = entrypoint + cmd
    args: list[str]
    config: ContainerConfig
    host_config: HostConfig
    image: str  # image id, sha256:…
    state: State = field(default_factory=State)
    restart_count: int = 0
    driver: str = "overlay2"
    platform: str = "linux"
    mounts: list[MountPoint] = field(default_factory=list)
    network_settings: NetworkSettings = field(default_factory=NetworkSettings)
    log_path: str = ""
    resolv_conf_path: str = ""
    hostname_path: str = ""
    hosts_path: str = ""
    exec_ids: list[str] = field(default_factory=list)
    # berth's bookkeeping, not on the wire
    snapshot_key: str = ""
    runtime: str = ""  # the runtime binary's name in the daemon's runtimes
    manually_stopped: bool = False  # for unless-stopped, and no restart after `stop`
    has_been_started: bool = False
