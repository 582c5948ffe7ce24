"""Containers on the wire: Docker's ``Config``/``HostConfig`` JSON ↔ the engine's model,
and the inspect and list shapes (dockerd 20.10 at API 1.41; traces ``create.txt``,
``run_d_opts.txt``, ``inspect_container.txt``, ``ps*.txt``).

Names are the model's snake_case turned into PascalCase (``cpu_shares`` → ``CpuShares``)
with Docker's irregular spellings in :data:`_IRREGULAR`; HostConfig carries Resources'
fields flat, Config's ExposedPorts and Volumes are sets written as ``{"80/tcp": {}}``,
Cmd and Entrypoint may be a string (Docker's strslice).
"""

from __future__ import annotations

from typing import Any

from berth import errdefs
from berth.engine.containers.codec import decode, encode
from berth.engine.containers.model import (
    Container,
    ContainerConfig,
    EndpointSettings,
    HealthConfig,
    HostConfig,
    Mount,
    Resources,
    VolumeOptions,
)

__all__ = ["config_from_wire", "endpoint_from_wire", "endpoints_from_wire", "host_config_from_wire", "inspect_wire", "pascal", "summary_wire"]

_IRREGULAR = {
    "host_ip": "HostIP",
    "container_id_file": "ContainerIDFile",
    "uts_mode": "UTSMode",
    "kernel_memory_tcp": "KernelMemoryTCP",
    "oom_killed": "OOMKilled",
    "exec_ids": "ExecIDs",
    "network_id": "NetworkID",
    "endpoint_id": "EndpointID",
    "ip_address": "IPAddress",
    "ip_prefix_len": "IPPrefixLen",
    "dns_names": "DNSNames",
    "rw": "RW",
    "blkio_device_read_iops": "BlkioDeviceReadIOps",
    "blkio_device_write_iops": "BlkioDeviceWriteIOps",
}


def pascal(name: str) -> str:
    got = _IRREGULAR.get(name)
    if got is not None:
        return got
    return "".join(p[:1].upper() + p[1:] for p in name.split("_"))


def _strslice(v: Any, where: str) -> list[str] | None:
    if v is None:
        return None
    if isinstance(v, str):
        return [v]
    if isinstance(v, list) and all(isinstance(x, str) for x in v):
        return list(v)
    raise errdefs.InvalidArgument(f"{where}: expected a string or a list of strings")


def _set(v: Any, where: str) -> list[str]:
    if v is None:
        return []
    if isinstance(v, dict):
        return list(v)
    if isinstance(v, list):
        return [str(x) for x in v]
    raise errdefs.InvalidArgument(f"{where}: expected an object")


def config_from_wire(d: Any) -> ContainerConfig:
    if d is None:
        d = {}
    if not isinstance(d, dict):
        raise errdefs.InvalidArgument("Config: expected an object")
    d = dict(d)
    cmd = _strslice(d.pop("Cmd", None), "Cmd")
    entrypoint = _strslice(d.pop("Entrypoint", None), "Entrypoint")
    ports = _set(d.pop("ExposedPorts", None), "ExposedPorts")
    volumes = _set(d.pop("Volumes", None), "Volumes")
    hc = d.pop("Healthcheck", None)
    cfg = decode(ContainerConfig, d, pascal, "Config")
    cfg.cmd, cfg.entrypoint, cfg.exposed_ports, cfg.volumes = cmd, entrypoint, ports, volumes
    cfg.healthcheck = decode(HealthConfig, hc, pascal, "Healthcheck") if hc is not None else None
    return cfg


def _mount_from_wire(d: Any, i: int) -> Mount:
    if not isinstance(d, dict):
        raise errdefs.InvalidArgument(f"HostConfig.Mounts[{i}]: expected an object")
    d = dict(d)
    vo = d.pop("VolumeOptions", None)
    m = decode(Mount, d, pascal, f"HostConfig.Mounts[{i}]")
    if vo is not None:
        vo = dict(vo)
        dc = vo.pop("DriverConfig", None) or {}
        m.volume_options = decode(VolumeOptions, vo, pascal, f"HostConfig.Mounts[{i}].VolumeOptions")
        m.volume_options.driver = str(dc.get("Name") or "")
        m.volume_options.driver_options = {str(k): str(v) for k, v in (dc.get("Options") or {}).items()}
    return m


def host_config_from_wire(d: Any) -> HostConfig:
    if d is None:
        d = {}
    if not isinstance(d, dict):
        raise errdefs.InvalidArgument("HostConfig: expected an object")
    d = dict(d)
    res = decode(Resources, d, pascal, "HostConfig")
    mounts = d.pop("Mounts", None) or []
    if not isinstance(mounts, list):
        raise errdefs.InvalidArgument("HostConfig.Mounts: expected a list")
    tmpfs = d.pop("Tmpfs", None) or {}
    sysctls = d.pop("Sysctls", None) or {}
    storage = d.pop("StorageOpt", None) or {}
    d.pop("Resources", None)
    hc = decode(HostConfig, d, pascal, "HostConfig")
    hc.resources = res
    hc.mounts = [_mount_from_wire(m, i) for i, m in enumerate(mounts)]
    hc.tmpfs = {str(k): str(v) for k, v in tmpfs.items()}
    hc.sysctls = {str(k): str(v) for k, v in sysctls.items()}
    hc.storage_opt = {str(k): str(v) for k, v in storage.items()}
    if hc.isolation not in ("", "default"):
        raise errdefs.InvalidArgument(f"Invalid isolation: \"{hc.isolation}\" - linux only supports 'default'")
    if hc.storage_opt:
        raise errdefs.InvalidArgument("--storage-opt is supported only for overlay over xfs with 'pquota' mount option")
    return hc


def endpoints_from_wire(d: Any) -> dict[str, EndpointSettings]:
    """``NetworkingConfig.EndpointsConfig`` of a create: network name → what is asked
    (``IPAMConfig.IPv4Address``/``IPv6Address``, ``Aliases``, ``Links``, ``DriverOpts``,
    ``MacAddress``)."""
    if d is None:
        return {}
    if not isinstance(d, dict):
        raise errdefs.InvalidArgument("NetworkingConfig: expected an object")
    eps = d.get("EndpointsConfig") or {}
    if not isinstance(eps, dict):
        raise errdefs.InvalidArgument("NetworkingConfig.EndpointsConfig: expected an object")
    return {str(name): endpoint_from_wire(ep, f"NetworkingConfig.EndpointsConfig.{name}") for name, ep in eps.items()}


def endpoint_from_wire(ep: Any, where: str = "EndpointConfig") -> EndpointSettings:
    if ep is None:
        return EndpointSettings()
    if not isinstance(ep, dict):
        raise errdefs.InvalidArgument(f"{where}: expected an object")
    ipam = ep.get("IPAMConfig") or {}
    if not isinstance(ipam, dict):
        raise errdefs.InvalidArgument(f"{where}.IPAMConfig: expected an object")

    def strs(key: str) -> list[str]:
        v = ep.get(key) or []
        if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
            raise errdefs.InvalidArgument(f"{where}.{key}: expected a list of strings")
        return list(v)

    opts = ep.get("DriverOpts") or {}
    if not isinstance(opts, dict):
        raise errdefs.InvalidArgument(f"{where}.DriverOpts: expected an object")
    return EndpointSettings(
        aliases=strs("Aliases"),
        links=strs("Links"),
        driver_opts={str(k): str(v) for k, v in opts.items()},
        ipv4_requested=str(ipam.get("IPv4Address") or ""),
        ipv6_requested=str(ipam.get("IPv6Address") or ""),
        mac_requested=str(ep.get("MacAddress") or ""),
    )


def _null_if_empty(v: Any) -> Any:
    return v if v else None


def config_wire(c: ContainerConfig) -> dict[str, Any]:
    d: dict[str, Any] = encode(c, pascal)
    d["ExposedPorts"] = {p: {} for p in c.exposed_ports} if c.exposed_ports else None
    d["Volumes"] = {v: {} for v in c.volumes} if c.volumes else None
    if c.healthcheck is None:
        d.pop("Healthcheck")
    else:  # moby's HealthConfig fields are all omitempty (StartInterval is API 1.44)
        d["Healthcheck"] = {k: v for k, v in d["Healthcheck"].items() if v and k != "StartInterval"}
    if c.stop_timeout is None:
        d.pop("StopTimeout")
    if c.shell is None:
        d.pop("Shell")
    if not c.mac_address:
        d.pop("MacAddress")
    if not c.stop_signal:
        d.pop("StopSignal")
    if not c.network_disabled:
        d.pop("NetworkDisabled")
    if not c.args_escaped:
        d.pop("ArgsEscaped")
    d["Labels"] = c.labels
    d["Env"] = c.env or None
    return d


def host_config_wire(h: HostConfig) -> dict[str, Any]:
    d: dict[str, Any] = encode(h, pascal)
    res = d.pop("Resources")
    d.update(res)
    mounts = []
    for m in h.mounts:
        md: dict[str, Any] = {"Type": m.type, "Source": m.source, "Target": m.target}
        if m.read_only:
            md["ReadOnly"] = True
        if m.bind_options is not None:
            md["BindOptions"] = {"Propagation": m.bind_options.propagation} if m.bind_options.propagation else {}
        if m.volume_options is not None:
            vo = m.volume_options
            vd: dict[str, Any] = {}
            if vo.no_copy:
                vd["NoCopy"] = True
            if vo.labels:
                vd["Labels"] = vo.labels
            if vo.driver or vo.driver_options:
                vd["DriverConfig"] = {"Name": vo.driver, "Options": vo.driver_options or None}
            md["VolumeOptions"] = vd
        if m.tmpfs_options is not None:
            td: dict[str, Any] = {}
            if m.tmpfs_options.size_bytes:
                td["SizeBytes"] = m.tmpfs_options.size_bytes
            if m.tmpfs_options.mode:
                td["Mode"] = m.tmpfs_options.mode
            md["TmpfsOptions"] = td
        mounts.append(md)
    d["Mounts"] = mounts or None
    for k in ("Binds", "VolumesFrom", "CapAdd", "CapDrop", "ExtraHosts", "GroupAdd", "Links",
              "SecurityOpt", "DeviceCgroupRules"):  # fmt: skip
        d[k] = _null_if_empty(d.get(k))
    if not h.tmpfs:
        d.pop("Tmpfs")
    if not h.sysctls:
        d.pop("Sysctls")
    if not h.storage_opt:
        d.pop("StorageOpt")
    if h.masked_paths is None:
        d.pop("MaskedPaths")
    if h.readonly_paths is None:
        d.pop("ReadonlyPaths")
    if not h.health_on_failure:
        d.pop("HealthOnFailure")
    d["RestartPolicy"]["Name"] = h.restart_policy.name or "no"
    d.pop("Isolation", None)
    d["Isolation"] = h.isolation
    d["DeviceRequests"] = None
    d["CpuCount"] = 0
    d["CpuPercent"] = 0
    d["IOMaximumIOps"] = 0
    d["IOMaximumBandwidth"] = 0
    if h.resources.oom_kill_disable is None:
        d["OomKillDisable"] = False
    d["PortBindings"] = {
        port: [{"HostIp": b.host_ip, "HostPort": b.host_port} for b in binds]
        for port, binds in h.port_bindings.items()
    }
    return d


def state_wire(c: Container) -> dict[str, Any]:
    s = c.state
    d: dict[str, Any] = {
        "Status": s.status,
        "Running": s.running,
        "Paused": s.paused,
        "Restarting": s.restarting,
        "OOMKilled": s.oom_killed,
        "Dead": s.dead,
        "Pid": s.pid if s.running else 0,
        "ExitCode": s.exit_code,
        "Error": s.error,
        "StartedAt": s.started_at,
        "FinishedAt": s.finished_at,
    }
    if s.health is not None:
        d["Health"] = {
            "Status": s.health.status,
            "FailingStreak": s.health.failing_streak,
            "Log": [
                {"Start": h.start, "End": h.end, "ExitCode": h.exit_code, "Output": h.output}
                for h in s.health.log
            ],
        }
    return d


def _ports_wire(c: Container) -> dict[str, Any]:
    ports: dict[str, Any] = {p: None for p in c.config.exposed_ports}
    for port, binds in c.network_settings.ports.items():
        ports[port] = [{"HostIp": b.host_ip, "HostPort": b.host_port} for b in binds]
    return ports


def network_settings_wire(c: Container) -> dict[str, Any]:
    ns = c.network_settings
    nets: dict[str, Any] = {}
    for name, ep in ns.networks.items():
        ipam = {k: v for k, v in (("IPv4Address", ep.ipv4_requested), ("IPv6Address", ep.ipv6_requested)) if v}
        nets[name] = {
            "IPAMConfig": ipam or None,
            "Links": ep.links or None,
            "Aliases": ([*ep.aliases, c.id[:12]] if ep.endpoint_id and ep.dns_names else ep.aliases) or None,
            "NetworkID": ep.network_id,
            "EndpointID": ep.endpoint_id,
            "Gateway": ep.gateway,
            "IPAddress": ep.ip_address,
            "IPPrefixLen": ep.ip_prefix_len,
            "IPv6Gateway": ep.ipv6_gateway,
            "GlobalIPv6Address": ep.global_ipv6_address,
            "GlobalIPv6PrefixLen": ep.global_ipv6_prefix_len,
            "MacAddress": ep.mac_address,
            "DriverOpts": ep.driver_opts or None,
        }
    first = next(iter(ns.networks.values()), None)
    return {
        "Bridge": "",
        "SandboxID": c.id if c.state.running and c.host_config.network_mode != "host" else "",
        "HairpinMode": False,
        "LinkLocalIPv6Address": "",
        "LinkLocalIPv6PrefixLen": 0,
        "Ports": _ports_wire(c) if c.state.running else {},
        "SandboxKey": ns.sandbox_key,
        "SecondaryIPAddresses": None,
        "SecondaryIPv6Addresses": None,
        "EndpointID": first.endpoint_id if first else "",
        "Gateway": first.gateway if first else "",
        "GlobalIPv6Address": first.global_ipv6_address if first else "",
        "GlobalIPv6PrefixLen": first.global_ipv6_prefix_len if first else 0,
        "IPAddress": first.ip_address if first else "",
        "IPPrefixLen": first.ip_prefix_len if first else 0,
        "IPv6Gateway": first.ipv6_gateway if first else "",
        "MacAddress": first.mac_address if first else "",
        "Networks": nets,
    }


def mounts_wire(c: Container) -> list[dict[str, Any]]:
    out = []
    # dockerd's MountPoints hold binds, volumes and --mount items; a ``HostConfig.Tmpfs``
    # entry is mounted but not listed
    mount_targets = {m.target for m in c.host_config.mounts}
    for m in c.mounts:
        if m.type == "tmpfs" and m.destination in c.host_config.tmpfs and m.destination not in mount_targets:
            continue
        d: dict[str, Any] = {"Type": m.type}
        if m.type == "volume":
            d["Name"] = m.name
        d["Source"] = m.source
        d["Destination"] = m.destination
        if m.type == "volume":
            d["Driver"] = m.driver
        d["Mode"] = m.mode
        d["RW"] = m.rw
        d["Propagation"] = m.propagation
        out.append(d)
    return out


def inspect_wire(c: Container, size_rw: int | None = None, size_root: int | None = None) -> dict[str, Any]:
    d: dict[str, Any] = {
        "Id": c.id,
        "Created": c.created,
        "Path": c.path,
        "Args": c.args,
        "State": state_wire(c),
        "Image": c.image,
        "ResolvConfPath": c.resolv_conf_path,
        "HostnamePath": c.hostname_path,
        "HostsPath": c.hosts_path,
        "LogPath": c.log_path,
        "Name": "/" + c.name,
        "RestartCount": c.restart_count,
        "Driver": c.driver,
        "Platform": c.platform,
        "MountLabel": "",
        "ProcessLabel": "",
        "AppArmorProfile": "",
        "ExecIDs": c.exec_ids or None,
        "HostConfig": host_config_wire(c.host_config),
    }
    if size_rw is not None:
        d["SizeRw"] = size_rw
    if size_root is not None:
        d["SizeRootFs"] = size_root
    d["GraphDriver"] = {"Data": None, "Name": "overlay2"}
    d["Mounts"] = mounts_wire(c)
    d["Config"] = config_wire(c.config)
    d["NetworkSettings"] = network_settings_wire(c)
    return d


def _command(c: Container) -> str:
    return " ".join([c.path, *c.args])


def summary_wire(c: Container, status: str, size_rw: int | None = None, size_root: int | None = None) -> dict[str, Any]:
    ports = []
    if c.state.running:
        for port, binds in sorted(c.network_settings.ports.items()):
            num, _, proto = port.partition("/")
            for b in binds:
                ports.append({"IP": b.host_ip, "PrivatePort": int(num), "PublicPort": int(b.host_port), "Type": proto or "tcp"})
        bound = set(c.network_settings.ports)
        for port in c.config.exposed_ports:
            if port not in bound:
                num, _, proto = port.partition("/")
                ports.append({"PrivatePort": int(num.split("-")[0]), "Type": proto or "tcp"})
    d: dict[str, Any] = {
        "Id": c.id,
        "Names": ["/" + c.name],
        "Image": c.config.image,
        "ImageID": c.image,
        "Command": _command(c),
        "Created": _unix(c.created),
        "Ports": ports,
        "Labels": c.config.labels,
        "State": c.state.status,
        "Status": status,
        "HostConfig": {"NetworkMode": c.host_config.network_mode or "default"},
        "NetworkSettings": {"Networks": network_settings_wire(c)["Networks"]},
        "Mounts": mounts_wire(c),
    }
    if size_rw is not None:
        d["SizeRw"] = size_rw
    if size_root is not None:
        d["SizeRootFs"] = size_root
    return d


def _unix(rfc3339: str) -> int:
    from berth.logs.timefmt import parse_time

    try:
        return parse_time(rfc3339) // 1_000_000_000
    except ValueError:
        return 0
