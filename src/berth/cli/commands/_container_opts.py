"""The ``run``/``create`` flag set and its translation into the create request (moby
``cli/command/container/opts.go``).

The body is what the docker CLI sends to ``POST /containers/create`` (README §2.1,
traces ``create.txt`` and ``run_d_opts.txt``): the container ``Config`` with
``HostConfig`` and ``NetworkingConfig`` beside it, every field present in the CLI's
order, zero values where no flag was given (``RestartPolicy {"Name": "no"}``,
``MemorySwappiness -1``, ``ConsoleSize [0, 0]`` …), optional ones left out as Go's
``omitempty`` leaves them. ``name`` and ``platform`` travel in the query.

Two kinds of errors, as in docker, both exit 125: a value a typed flag rejects
(:class:`FlagValueError`, ``invalid argument "x" for "-m, --memory" flag: invalid size:
'x'`` with the usage) and an inconsistency found while building the body
(:class:`OptsError`, printed as ``berth: <message>`` with a pointer to ``--help``).
The value parsers live in :mod:`berth.cli.commands._container_values`.
"""

from __future__ import annotations

from berth.cli.args import Flag
from berth.cli.commands._container_values import (
    FlagValueError,
    OptsError,
    blkio,
    caps,
    device,
    env_value,
    expose,
    is_ip,
    labels,
    parse_env_file,
    parse_mount,
    parse_ports,
    security_opts,
    tmpfs_map,
    ulimit,
    volumes,
)
from berth.cli.commands._units import go_duration, ram_in_bytes, rational_nanos

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "CONTAINER_FLAGS",
    "UNSET",
    "CreateRequest",
    "FlagValueError",
    "OptsError",
    "build",
    "parse_env_file",
    "parse_mount",
    "parse_ports",
]


class _Unset(str):
    """The default of flags whose mere presence matters (``--entrypoint ""``)."""


UNSET = _Unset("")


def _f(names: str, kind: str = "bool", help: str = "", default: Any = None, hidden: bool = False) -> Flag:
    return Flag(names, kind, default, help, hidden=hidden)


S, L, B = "string", "list", "bool"

CONTAINER_FLAGS: list[Flag] = [
    _f("add-host", L, "Add a custom host-to-IP mapping (host:ip)"),
    _f("attach,a", L, "Attach to STDIN, STDOUT or STDERR"),
    _f("blkio-weight", S, "Block IO (relative weight), between 10 and 1000, or 0 to disable (default 0)"),
    _f("blkio-weight-device", L, "Block IO weight (relative device weight)"),
    _f("cap-add", L, "Add Linux capabilities"),
    _f("cap-drop", L, "Drop Linux capabilities"),
    _f("cgroup-parent", S, "Optional parent cgroup for the container"),
    _f("cgroupns", S, 'Cgroup namespace to use (host|private)'),
    _f("cidfile", S, "Write the container ID to the file"),
    _f("cpu-period", S, "Limit CPU CFS (Completely Fair Scheduler) period"),
    _f("cpu-quota", S, "Limit CPU CFS (Completely Fair Scheduler) quota"),
    _f("cpu-rt-period", S, "Limit CPU real-time period in microseconds"),
    _f("cpu-rt-runtime", S, "Limit CPU real-time runtime in microseconds"),
    _f("cpu-shares,c", S, "CPU shares (relative weight)"),
    _f("cpus", S, "Number of CPUs"),
    _f("cpuset-cpus", S, "CPUs in which to allow execution (0-3, 0,1)"),
    _f("cpuset-mems", S, "MEMs in which to allow execution (0-3, 0,1)"),
    _f("detach,d", B, "Run container in background and print container ID"),
    _f("detach-keys", S, "Override the key sequence for detaching a container"),
    _f("device", L, "Add a host device to the container"),
    _f("device-cgroup-rule", L, "Add a rule to the cgroup allowed devices list"),
    _f("device-read-bps", L, "Limit read rate (bytes per second) from a device"),
    _f("device-read-iops", L, "Limit read rate (IO per second) from a device"),
    _f("device-write-bps", L, "Limit write rate (bytes per second) to a device"),
    _f("device-write-iops", L, "Limit write rate (IO per second) to a device"),
    _f("dns", L, "Set custom DNS servers"),
    _f("dns-option", L, "Set DNS options"),
    _f("dns-opt", L, "Set DNS options", hidden=True),
    _f("dns-search", L, "Set custom DNS search domains"),
    _f("domainname", S, "Container NIS domain name"),
    _f("entrypoint", S, "Overwrite the default ENTRYPOINT of the image", UNSET),
    _f("env,e", L, "Set environment variables"),
    _f("env-file", L, "Read in a file of environment variables"),
    _f("expose", L, "Expose a port or a range of ports"),
    _f("group-add", L, "Add additional groups to join"),
    _f("health-cmd", S, "Command to run to check health"),
    _f("health-interval", S, "Time between running the check (ms|s|m|h) (default 0s)"),
    _f("health-on-failure", S, "Action when the container turns unhealthy (none|kill|restart|stop)"),
    _f("health-retries", S, "Consecutive failures needed to report unhealthy"),
    _f("health-start-interval", S, "Time between running the check during the start period (ms|s|m|h) (default 0s)"),
    _f("health-start-period", S, "Start period for the container to initialize before starting health-retries countdown (ms|s|m|h) (default 0s)"),
    _f("health-timeout", S, "Maximum time to allow one check to run (ms|s|m|h) (default 0s)"),
    _f("hostname,h", S, "Container host name"),
    _f("init", B, "Run an init inside the container that forwards signals and reaps processes"),
    _f("interactive,i", B, "Keep STDIN open even if not attached"),
    _f("ip", S, "IPv4 address (e.g., 172.30.100.104)"),
    _f("ip6", S, "IPv6 address (e.g., 2001:db8::33)"),
    _f("ipc", S, "IPC mode to use"),
    _f("kernel-memory", S, "Kernel memory limit"),
    _f("label,l", L, "Set meta data on a container"),
    _f("label-file", L, "Read in a line delimited file of labels"),
    _f("link", L, "Add link to another container"),
    _f("link-local-ip", L, "Container IPv4/IPv6 link-local addresses"),
    _f("log-driver", S, "Logging driver for the container"),
    _f("log-opt", L, "Log driver options"),
    _f("mac-address", S, "Container MAC address (e.g., 92:d0:c6:0a:29:33)"),
    _f("memory,m", S, "Memory limit"),
    _f("memory-reservation", S, "Memory soft limit"),
    _f("memory-swap", S, "Swap limit equal to memory plus swap: '-1' to enable unlimited swap"),
    _f("memory-swappiness", S, "Tune container memory swappiness (0 to 100) (default -1)"),
    _f("mount", L, "Attach a filesystem mount to the container"),
    _f("name", S, "Assign a name to the container"),
    _f("net", S, "Connect a container to a network", hidden=True),
    _f("net-alias", L, "Add network-scoped alias for the container", hidden=True),
    _f("network", S, "Connect a container to a network"),
    _f("network-alias", L, "Add network-scoped alias for the container"),
    _f("network-bandwidth", S, "Limit the container's network bandwidth (berth): RATE both ways, or egress=RATE,ingress=RATE (tc rates: 10mbit, 500kbit)"),
    _f("no-healthcheck", B, "Disable any container-specified HEALTHCHECK"),
    _f("oom-kill-disable", B, "Disable OOM Killer"),
    _f("oom-score-adj", S, "Tune host's OOM preferences (-1000 to 1000)"),
    _f("pid", S, "PID namespace to use"),
    _f("pids-limit", S, "Tune container pids limit (set -1 for unlimited)"),
    _f("platform", S, "Set platform if server is multi-platform capable"),
    _f("privileged", B, "Give extended privileges to this container"),
    _f("publish,p", L, "Publish a container's port(s) to the host"),
    _f("publish-all,P", B, "Publish all exposed ports to random ports"),
    _f("pull", S, 'Pull image before running ("always", "missing", "never")', "missing"),
    _f("quiet,q", B, "Suppress the pull output"),
    _f("read-only", B, "Mount the container's root filesystem as read only"),
    _f("restart", S, "Restart policy to apply when a container exits", "no"),
    _f("rm", B, "Automatically remove the container and its associated anonymous volumes when it exits"),
    _f("runtime", S, "Runtime to use for this container"),
    _f("security-opt", L, "Security Options"),
    _f("shm-size", S, "Size of /dev/shm"),
    _f("sig-proxy", B, "Proxy received signals to the process", True),
    _f("stop-signal", S, "Signal to stop the container"),
    _f("stop-timeout", S, "Timeout (in seconds) to stop a container", UNSET),
    _f("storage-opt", L, "Storage driver options for the container"),
    _f("sysctl", L, "Sysctl options"),
    _f("tmpfs", L, "Mount a tmpfs directory"),
    _f("tty,t", B, "Allocate a pseudo-TTY"),
    _f("ulimit", L, "Ulimit options"),
    _f("user,u", S, "Username or UID (format: <name|uid>[:<group|gid>])"),
    _f("userns", S, "User namespace to use"),
    _f("uts", S, "UTS namespace to use"),
    _f("volume,v", L, "Bind mount a volume"),
    _f("volume-driver", S, "Optional volume driver for the container"),
    _f("volumes-from", L, "Mount volumes from the specified container(s)"),
    _f("workdir,w", S, "Working directory inside the container"),
]

# docker's metavars for the typed flags (help only; the values are parsed in build)
_METAVARS = {
    "bytes": ("memory", "memory_reservation", "memory_swap", "kernel_memory", "shm_size"),
    "decimal": ("cpus",),
    "int": ("cpu_shares", "cpu_period", "cpu_quota", "cpu_rt_period", "cpu_rt_runtime", "pids_limit",
            "memory_swappiness", "oom_score_adj", "health_retries", "stop_timeout"),
    "uint16": ("blkio_weight",),
    "duration": ("health_interval", "health_timeout", "health_start_period", "health_start_interval"),
    "ulimit": ("ulimit",),
    "mount": ("mount",),
    "map": ("sysctl",),
    "ip": ("ip",),
}
for _f_ in CONTAINER_FLAGS:
    for _mv, _keys in _METAVARS.items():
        if _f_.key in _keys:
            _f_.metavar = _mv

_SHOWN = {f.key: (f"-{f.short}, --{f.long}" if f.short else f"--{f.long}") for f in CONTAINER_FLAGS}


class CreateRequest:
    """What ``create``/``run`` send: the body, the query, and the run-time options."""

    __slots__ = ("body", "image", "name", "platform")

    def __init__(self, body: dict[str, Any], image: str, name: str, platform: str) -> None:
        self.body = body
        self.image = image
        self.name = name
        self.platform = platform


# --- typed values (pflag errors) ---


def _typed(opts: dict[str, Any], key: str, conv: Any, default: Any) -> Any:
    value = opts.get(key)
    if value is None or value == "":
        return default
    try:
        return conv(value)
    except ValueError as exc:
        raise FlagValueError(value, _SHOWN[key], str(exc)) from None


def _go_int(bits: int, unsigned: bool = False) -> Any:
    def conv(value: str) -> int:
        fn = "ParseUint" if unsigned else "ParseInt"
        try:
            n = int(value, 10)
        except ValueError:
            raise ValueError(f'strconv.{fn}: parsing "{value}": invalid syntax') from None
        lo, hi = (0, (1 << bits) - 1) if unsigned else (-(1 << (bits - 1)), (1 << (bits - 1)) - 1)
        if not lo <= n <= hi:
            if unsigned and n < 0:
                raise ValueError(f'strconv.{fn}: parsing "{value}": invalid syntax')
            raise ValueError(f'strconv.{fn}: parsing "{value}": value out of range')
        return n

    return conv


def _swap(value: str) -> int:
    return -1 if value == "-1" else ram_in_bytes(value)


# --- the body ---


def _health(opts: dict[str, Any]) -> dict[str, Any] | None:
    keys = ("health_cmd", "health_interval", "health_timeout", "health_start_period", "health_start_interval", "health_retries")
    given = any(opts.get(k) for k in keys)
    if opts.get("no_healthcheck"):
        if given:
            raise OptsError("--no-healthcheck conflicts with --health-* options")
        return {"Test": ["NONE"]}
    if not given:
        return None
    hc: dict[str, Any] = {}
    if opts.get("health_cmd"):
        hc["Test"] = ["CMD-SHELL", opts["health_cmd"]]
    for key, field, what in (
        ("health_interval", "Interval", "--health-interval"),
        ("health_timeout", "Timeout", "--health-timeout"),
        ("health_start_period", "StartPeriod", "--health-start-period"),
        ("health_start_interval", "StartInterval", "--health-start-interval"),
    ):
        ns = _typed(opts, key, go_duration, 0)
        if ns < 0:
            raise OptsError(f"{what} cannot be negative")
        if ns:
            hc[field] = ns
    retries = _typed(opts, "health_retries", _go_int(64), 0)
    if retries < 0:
        raise OptsError("--health-retries cannot be negative")
    if retries:
        hc["Retries"] = retries
    # Go's field order: Test, Interval, Timeout, StartPeriod, StartInterval, Retries
    order = ("Test", "Interval", "Timeout", "StartPeriod", "StartInterval", "Retries")
    return {k: hc[k] for k in order if k in hc}


_ENDPOINT_ZERO: dict[str, Any] = {
    "IPAMConfig": None, "Links": None, "Aliases": None, "MacAddress": "", "DriverOpts": None, "GwPriority": 0,
    "NetworkID": "", "EndpointID": "", "Gateway": "", "IPAddress": "", "IPPrefixLen": 0, "IPv6Gateway": "",
    "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0, "DNSNames": None,
}

_BUILTIN_NETWORKS = ("default", "bridge", "host", "none")


def _networking(opts: dict[str, Any], network: str) -> dict[str, Any]:
    """parseNetworkOpts: the first (only) network gets ``--network-alias``, ``--ip``,
    ``--link`` (user-defined networks only); a single network without options is left
    out, except the implicit ``default``."""
    user_defined = network not in _BUILTIN_NETWORKS and not network.startswith("container:")
    ep = dict(_ENDPOINT_ZERO)
    aliases = (opts.get("network_alias") or []) + (opts.get("net_alias") or [])
    if aliases:
        ep["Aliases"] = list(aliases)
    if user_defined and opts.get("link"):
        ep["Links"] = list(opts["link"])
    ipam: dict[str, Any] = {}
    if opts.get("ip"):
        if not is_ip(opts["ip"]):
            raise OptsError(f"invalid IPv4 address: {opts['ip']}")
        ipam["IPv4Address"] = opts["ip"]
    if opts.get("ip6"):
        if not is_ip(opts["ip6"]):
            raise OptsError(f"invalid IPv6 address: {opts['ip6']}")
        ipam["IPv6Address"] = opts["ip6"]
    if opts.get("link_local_ip"):
        ipam["LinkLocalIPs"] = list(opts["link_local_ip"])
    if ipam:
        ep["IPAMConfig"] = ipam
    if network == "default" or ep != _ENDPOINT_ZERO:
        return {"EndpointsConfig": {network: ep}}
    return {"EndpointsConfig": {}}


def _attach_streams(opts: dict[str, Any]) -> tuple[bool, bool, bool]:
    streams = set()
    for s in opts.get("attach") or []:
        low = s.lower()
        if low not in ("stdin", "stdout", "stderr"):
            raise FlagValueError(s, "-a, --attach", "valid streams are STDIN, STDOUT and STDERR")
        streams.add(low)
    stdin = "stdin" in streams or bool(opts.get("interactive"))
    if not streams:
        return stdin, True, True
    return stdin, "stdout" in streams, "stderr" in streams


def build(opts: dict[str, Any], args: list[str], console_size: tuple[int, int] = (0, 0)) -> CreateRequest:
    """The create request for ``run``/``create`` flags and ``IMAGE [COMMAND] [ARG...]``;
    ``console_size`` (height, width) is the local terminal's (docker sends it always)."""
    image, cmd = args[0], args[1:]
    if opts.get("pull", "missing") not in ("missing", "always", "never"):
        raise OptsError(f"invalid pull option: '{opts['pull']}': must be one of \"always\", \"missing\" or \"never\"")
    memory = _typed(opts, "memory", ram_in_bytes, 0)
    reservation = _typed(opts, "memory_reservation", ram_in_bytes, 0)
    swap = _typed(opts, "memory_swap", _swap, 0)
    kernel_memory = _typed(opts, "kernel_memory", ram_in_bytes, 0)
    shm = _typed(opts, "shm_size", ram_in_bytes, 0)
    swappiness = _typed(opts, "memory_swappiness", _go_int(64), -1)
    if swappiness != -1 and not 0 <= swappiness <= 100:
        raise OptsError(f"invalid value: {swappiness}. Valid memory swappiness range is 0-100")
    nano_cpus = _typed(opts, "cpus", rational_nanos, 0)
    stop_timeout = opts.get("stop_timeout")
    stdin, stdout, stderr = _attach_streams(opts)
    if opts.get("detach"):
        if opts.get("attach"):
            raise OptsError("Conflicting options: -a and -d")
        stdin = stdout = stderr = False

    env: list[str] = []
    for path in opts.get("env_file") or []:
        env += parse_env_file(path)
    env += [env_value(e) for e in opts.get("env") or []]

    exposed, bindings = parse_ports(opts.get("publish") or [])
    expose(opts.get("expose") or [], exposed)
    binds, anon = volumes(opts.get("volume") or [])
    mounts = []
    for spec in opts.get("mount") or []:
        try:
            mounts.append(parse_mount(spec))
        except ValueError as exc:
            raise FlagValueError(spec, "--mount", str(exc)) from None

    restart_s = opts.get("restart") or "no"
    rname, colon, rcount = restart_s.partition(":")
    if colon and not rname:
        raise OptsError("invalid restart policy format: no policy provided before colon")
    if rcount and not rcount.lstrip("-").isdigit():
        raise OptsError("invalid restart policy format: maximum retry count must be an integer")
    restart = {"Name": rname, "MaximumRetryCount": int(rcount) if rcount else 0}
    if opts.get("rm") and rname not in ("", "no"):
        raise OptsError("Conflicting options: --restart and --rm")

    network = opts.get("network") or opts.get("net") or "default"
    entry = opts.get("entrypoint")
    if entry is UNSET or entry is None:
        entrypoint = None
    else:
        entrypoint = [entry]

    log_opts: dict[str, str] = {}
    for lo in opts.get("log_opt") or []:
        k, eq, v = lo.partition("=")
        if not eq:
            raise OptsError(f"invalid key-value format for --log-opt: {lo}")
        log_opts[k] = v
    sysctls: dict[str, str] = {}
    for sc in opts.get("sysctl") or []:
        k, eq, v = sc.partition("=")
        if not eq:
            raise FlagValueError(sc, "--sysctl", f"sysctl '{sc}' is not allowed")
        sysctls[k] = v
    storage: dict[str, str] = {}
    for so in opts.get("storage_opt") or []:
        k, eq, v = so.partition("=")
        if not eq:
            raise OptsError(f"invalid storage option {so}")
        storage[k] = v
    for extra in opts.get("add_host") or []:
        if ":" not in extra and "=" not in extra:
            raise FlagValueError(extra, "--add-host", f"bad format for add-host: \"{extra}\"")
    dns = list(opts.get("dns") or [])
    for d in dns:
        if not is_ip(d):
            raise FlagValueError(d, "--dns", f"IP address is not correctly formatted: {d}")
    mac = opts.get("mac_address") or ""

    config: dict[str, Any] = {
        "Hostname": opts.get("hostname") or "",
        "Domainname": opts.get("domainname") or "",
        "User": opts.get("user") or "",
        "AttachStdin": stdin,
        "AttachStdout": stdout,
        "AttachStderr": stderr,
    }
    if exposed:
        config["ExposedPorts"] = exposed
    config.update(
        {
            "Tty": bool(opts.get("tty")),
            "OpenStdin": bool(opts.get("interactive")),
            "StdinOnce": bool(opts.get("interactive")) and stdin and not opts.get("detach"),
            "Env": env or None,
            "Cmd": cmd or None,
        }
    )
    health = _health(opts)
    if health is not None:
        config["Healthcheck"] = health
    config.update(
        {
            "Image": image,
            "Volumes": anon,
            "WorkingDir": opts.get("workdir") or "",
            "Entrypoint": entrypoint,
        }
    )
    if mac:
        config["MacAddress"] = mac
    config["OnBuild"] = None
    config["Labels"] = labels(opts)
    if opts.get("stop_signal"):
        config["StopSignal"] = opts["stop_signal"]
    if stop_timeout is not UNSET and stop_timeout is not None:
        config["StopTimeout"] = _typed(opts, "stop_timeout", _go_int(64), 0)

    host: dict[str, Any] = {
        "Binds": binds or None,
        "ContainerIDFile": opts.get("cidfile") or "",
        "LogConfig": {"Type": opts.get("log_driver") or "", "Config": log_opts},
        "NetworkMode": network,
        "PortBindings": bindings,
        "RestartPolicy": restart,
        "AutoRemove": bool(opts.get("rm")),
        "VolumeDriver": opts.get("volume_driver") or "",
        "VolumesFrom": list(opts.get("volumes_from") or []) or None,
        "ConsoleSize": list(console_size),
        "CapAdd": caps(opts.get("cap_add") or []),
        "CapDrop": caps(opts.get("cap_drop") or []),
        "CgroupnsMode": opts.get("cgroupns") or "",
        "Dns": dns,
        "DnsOptions": list(opts.get("dns_option") or []) + list(opts.get("dns_opt") or []),
        "DnsSearch": list(opts.get("dns_search") or []),
        "ExtraHosts": [h.replace("=", ":", 1) if "=" in h else h for h in opts.get("add_host") or []] or None,
        "GroupAdd": list(opts.get("group_add") or []) or None,
        "IpcMode": opts.get("ipc") or "",
        "Cgroup": "",
        "Links": list(opts.get("link") or []) or None,
        "OomScoreAdj": _typed(opts, "oom_score_adj", _go_int(64), 0),
        "PidMode": opts.get("pid") or "",
        "Privileged": bool(opts.get("privileged")),
        "PublishAllPorts": bool(opts.get("publish_all")),
        "ReadonlyRootfs": bool(opts.get("read_only")),
        "SecurityOpt": security_opts(opts.get("security_opt") or []),
    }
    if storage:
        host["StorageOpt"] = storage
    tmpfs = tmpfs_map(opts.get("tmpfs") or [])
    if tmpfs:
        host["Tmpfs"] = tmpfs
    host.update({"UTSMode": opts.get("uts") or "", "UsernsMode": opts.get("userns") or "", "ShmSize": shm})
    if sysctls:
        host["Sysctls"] = sysctls
    if opts.get("runtime"):
        host["Runtime"] = opts["runtime"]
    host["Isolation"] = ""
    host.update(
        {
            "CpuShares": _typed(opts, "cpu_shares", _go_int(64), 0),
            "Memory": memory,
            "NanoCpus": nano_cpus,
            "CgroupParent": opts.get("cgroup_parent") or "",
            "BlkioWeight": _typed(opts, "blkio_weight", _go_int(16, True), 0),
            "BlkioWeightDevice": [blkio(v, "--blkio-weight-device", "weight") for v in opts.get("blkio_weight_device") or []],
            "BlkioDeviceReadBps": [blkio(v, "--device-read-bps", "bps") for v in opts.get("device_read_bps") or []],
            "BlkioDeviceWriteBps": [blkio(v, "--device-write-bps", "bps") for v in opts.get("device_write_bps") or []],
            "BlkioDeviceReadIOps": [blkio(v, "--device-read-iops", "iops") for v in opts.get("device_read_iops") or []],
            "BlkioDeviceWriteIOps": [blkio(v, "--device-write-iops", "iops") for v in opts.get("device_write_iops") or []],
            "CpuPeriod": _typed(opts, "cpu_period", _go_int(64), 0),
            "CpuQuota": _typed(opts, "cpu_quota", _go_int(64), 0),
            "CpuRealtimePeriod": _typed(opts, "cpu_rt_period", _go_int(64), 0),
            "CpuRealtimeRuntime": _typed(opts, "cpu_rt_runtime", _go_int(64), 0),
            "CpusetCpus": opts.get("cpuset_cpus") or "",
            "CpusetMems": opts.get("cpuset_mems") or "",
            "Devices": [device(d) for d in opts.get("device") or []],
            "DeviceCgroupRules": list(opts.get("device_cgroup_rule") or []) or None,
            "DeviceRequests": None,
        }
    )
    if kernel_memory:
        host["KernelMemory"] = kernel_memory
    host.update(
        {
            "MemoryReservation": reservation,
            "MemorySwap": swap,
            "MemorySwappiness": swappiness,
            "OomKillDisable": bool(opts.get("oom_kill_disable")),
            "PidsLimit": _typed(opts, "pids_limit", _go_int(64), 0),
            "Ulimits": [ulimit(u) for u in opts.get("ulimit") or []],
            "CpuCount": 0,
            "CpuPercent": 0,
            "IOMaximumIOps": 0,
            "IOMaximumBandwidth": 0,
        }
    )
    if mounts:
        host["Mounts"] = mounts
    host["MaskedPaths"] = None
    host["ReadonlyPaths"] = None
    if opts.get("init"):
        host["Init"] = True
    if opts.get("network_bandwidth"):
        host["NetworkBandwidth"] = opts["network_bandwidth"]
    on_failure = opts.get("health_on_failure") or ""
    if on_failure:
        if on_failure not in ("none", "kill", "restart", "stop"):
            raise OptsError(f"invalid --health-on-failure value: '{on_failure}': must be one of \"none\", \"kill\", \"restart\" or \"stop\"")
        host["HealthOnFailure"] = on_failure

    body = dict(config)
    body["HostConfig"] = host
    body["NetworkingConfig"] = _networking(opts, network)
    return CreateRequest(body, image, opts.get("name") or "", opts.get("platform") or "")


def go_json(body: dict[str, Any]) -> bytes:
    """JSON as Go's encoder writes it (``<``, ``>``, ``&`` escaped), for a byte-exact body."""
    from berth.oci.fastjson import dumps

    text = dumps(body).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return text.encode()
