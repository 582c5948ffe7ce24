"""The OCI runtime spec (``config.json``) of a container, built as dockerd builds it for a
Linux container (moby ``daemon/oci_linux.go`` createSpec over ``oci/defaults.go``).

:func:`build_spec` is a pure function of a :class:`SpecInput`: the container (its config
already merged with the image's defaults), the facts the caller resolved (user ids from
:mod:`.user`, namespace paths, host files, user mounts from the mount plan) and the host
facts it would otherwise read (devices under /dev, which sysctls exist, the kernel, the
caller's rlimits), so that it is tested without root. It raises InvalidArgument with
Docker's or runc's message for what dockerd or runc would refuse.

The pieces:

- ``process`` — args (``path`` + ``args``, behind ``/sbin/docker-init --`` with
  ``--init``), env (PATH, HOSTNAME, TERM with a tty, then the container's), cwd, user,
  capabilities (:mod:`.spec_security`), rlimits, oomScoreAdj, noNewPrivileges;
- ``root``, ``hostname`` and the NIS domain name (``linux.sysctl["kernel.domainname"]``
  as Docker sets it, and the OCI 1.1 ``domainname`` field);
- ``mounts`` (:mod:`.spec_mounts`);
- ``linux`` — namespaces, user id mappings, cgroupsPath, resources and the device cgroup
  (:mod:`.spec_resources`, :mod:`.spec_devices`), devices, sysctls, seccomp, masked and
  read-only paths.

Namespaces: Docker starts from mount, network, uts, pid and ipc, then per mode: ``host``
removes one, ``container:<id>`` joins the path the caller supplies (and that container's
user namespace when user namespaces are remapped). The cgroup namespace is private by
default on cgroup v2 and the host's on v1 (and for privileged containers on v1).
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from typing import Any

from berth.errdefs import InvalidArgument
from berth.oci.default_spec import MASKED_PATHS, READONLY_PATHS
from berth.oci.seccomp_default import default_profile

from .merge import replace_or_append_env
from .model import Container
from .spec_devices import (
    DEFAULT_DEVICE_RULES,
    HostView,
    OsHostView,
    cgroup_rule,
    devices_from_path,
    host_devices,
)
from .spec_mounts import default_mounts, network_mounts, order_mounts, tmpfs_mount
from .spec_resources import linux_resources, rlimits
from .spec_security import parse_security_opts, seccomp_from_profile, tweak_capabilities

__all__ = [
    "DEFAULT_PATH_ENV",
    "INIT_PATH",
    "OCI_VERSION",
    "SpecInput",
    "UsernsMap",
    "build_spec",
    "container_env",
]

OCI_VERSION = "1.1.0"  # berth-runtime's own default spec
DEFAULT_PATH_ENV = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
INIT_PATH = "/sbin/docker-init"

# (container id, host id, size)
IdMap = tuple[int, int, int]


@dataclass
class UsernsMap:
    """The daemon's user namespace remapping (``--userns-remap``): the ranges of host ids
    that container ids 0.. map onto."""

    uid_mappings: list[IdMap]
    gid_mappings: list[IdMap]


def _default_host() -> HostView:
    return OsHostView()


@dataclass
class SpecInput:
    """Everything :func:`build_spec` needs. Paths are host paths."""

    container: Container
    rootfs: str
    uid: int = 0
    gid: int = 0
    additional_gids: list[int] = field(default_factory=list)
    cgroups_path: str = ""
    # host files bound at /etc/hostname, /etc/hosts, /etc/resolv.conf; "" = none
    hostname_path: str = ""
    hosts_path: str = ""
    resolv_conf_path: str = ""
    # network namespace to join; None: no netns entry with network mode "host", else new
    netns_path: str | None = None
    # namespaces of the container named by pid/ipc mode "container:<id>", and its user
    # namespace (joined too when user namespaces are remapped)
    pid_ns_path: str | None = None
    ipc_ns_path: str | None = None
    userns_path: str | None = None
    userns_map: UsernsMap | None = None
    # already-resolved OCI mounts (binds, volumes, tmpfs, the /dev/shm of a shared IPC)
    user_mounts: list[dict[str, Any]] = field(default_factory=list)
    cgroup_v2: bool = True
    # --privileged: the host's devices; None = scan /dev through ``host``
    host_devices: list[dict[str, Any]] | None = None
    # hard limits (RLIMIT_* → value) of the process that starts the container, given when
    # it lacks CAP_SYS_RESOURCE; None = it may raise them
    caller_hard_limits: dict[str, int] | None = None
    # daemon defaults
    init_path: str = ""  # host path of the init for --init ("" = none installed)
    default_init: bool = False
    no_new_privileges: bool = False
    linked_env: list[str] = field(default_factory=list)
    # host facts
    apparmor_enabled: bool = False
    selinux_enabled: bool = False
    arch: str = ""  # uname -m; "" = this machine
    kernel_release: str = ""  # "" = this machine's
    host: HostView = field(default_factory=_default_host)


def container_env(c: Container, linked_env: list[str] | None = None) -> list[str]:
    """PATH, HOSTNAME, TERM (with a tty) and links' variables, overridden by the
    container's own; a bare ``NAME`` unsets (moby CreateDaemonEnvironment)."""
    env = [f"PATH={DEFAULT_PATH_ENV}", f"HOSTNAME={c.config.hostname}"]
    if c.config.tty:
        env.append("TERM=xterm")
    env.extend(linked_env or [])
    return replace_or_append_env(env, c.config.env)


def _container_ref(mode: str, what: str) -> str | None:
    if not mode.startswith("container:"):
        return None
    ref = mode[len("container:") :]
    if not ref:
        raise InvalidArgument(f"invalid {what} mode: {mode}")
    return ref


def _set_ns(nss: list[dict[str, Any]], kind: str, path: str | None = None) -> None:
    ns: dict[str, Any] = {"type": kind}
    if path:
        ns["path"] = path
    for i, n in enumerate(nss):
        if n["type"] == kind:
            nss[i] = ns
            return
    nss.append(ns)


def _remove_ns(nss: list[dict[str, Any]], kind: str) -> None:
    nss[:] = [n for n in nss if n["type"] != kind]


def _need(path: str | None, mode: str, what: str) -> str:
    if not path:
        raise InvalidArgument(
            f"{what} mode {mode}: the namespace path of the joined container is missing"
        )
    return path


def _namespaces(inp: SpecInput) -> tuple[list[dict[str, Any]], bool]:
    """``linux.namespaces`` and whether a user namespace is in use."""
    hc = inp.container.host_config
    nss: list[dict[str, Any]] = [{"type": t} for t in ("mount", "network", "uts", "pid", "ipc")]
    if hc.userns_mode not in ("", "host", "private"):
        raise InvalidArgument(f"invalid USER mode: {hc.userns_mode}")
    userns = hc.userns_mode != "host" and inp.userns_map is not None
    if userns:
        _set_ns(nss, "user")

    def join_user() -> None:
        if userns and inp.userns_path:
            _set_ns(nss, "user", inp.userns_path)

    net = hc.network_mode
    if not inp.container.config.network_disabled:
        if _container_ref(net, "network") is not None:
            _set_ns(nss, "network", _need(inp.netns_path, net, "network"))
            join_user()
        elif net == "host" and inp.netns_path is None:
            _remove_ns(nss, "network")
        else:
            _set_ns(nss, "network", inp.netns_path)

    ipc = hc.ipc_mode
    if _container_ref(ipc, "IPC") is not None:
        _set_ns(nss, "ipc", _need(inp.ipc_ns_path, ipc, "IPC"))
        join_user()
    elif ipc == "host":
        _remove_ns(nss, "ipc")
    elif ipc not in ("", "private", "shareable", "none"):
        raise InvalidArgument(f"invalid IPC mode: {ipc}")

    pid = hc.pid_mode
    if _container_ref(pid, "PID") is not None:
        _set_ns(nss, "pid", _need(inp.pid_ns_path, pid, "PID"))
        join_user()
    elif pid == "host":
        _remove_ns(nss, "pid")
    elif pid != "":
        raise InvalidArgument(f"invalid PID mode: {pid}")

    if hc.uts_mode == "host":
        _remove_ns(nss, "uts")
    elif hc.uts_mode != "":
        raise InvalidArgument(f"invalid UTS mode: {hc.uts_mode}")

    cgns = hc.cgroupns_mode
    if cgns == "":
        cgns = "private" if inp.cgroup_v2 else "host"
    if cgns == "private":
        _set_ns(nss, "cgroup")
    elif cgns != "host":
        raise InvalidArgument(f"invalid cgroup namespace mode: {hc.cgroupns_mode}")
    return nss, userns


# runc libcontainer/configs/validate: the sysctls that belong to the IPC namespace
_IPC_SYSCTLS = (
    "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall",
    "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced",
)  # fmt: skip


def _check_sysctls(sysctls: dict[str, str], kinds: set[str], host_net: bool) -> None:
    """runc's validator, run before the runtime does, with its messages."""
    for k in sysctls:
        if k in _IPC_SYSCTLS or k.startswith("fs.mqueue."):
            if "ipc" not in kinds:
                raise InvalidArgument(f'sysctl "{k}" is not allowed in the hosts ipc namespace')
            continue
        if k.startswith("net."):
            if host_net:
                raise InvalidArgument(f'sysctl "{k}" not allowed in host network namespace')
            continue
        if "uts" in kinds:
            if k == "kernel.domainname":
                continue
            if k == "kernel.hostname":
                raise InvalidArgument(
                    f'sysctl "{k}" is not allowed as it conflicts with the OCI "hostname" field'
                )
        raise InvalidArgument(f'sysctl "{k}" is not in a separate kernel namespace')


def _sysctls(inp: SpecInput, kinds: set[str], userns: bool) -> dict[str, str]:
    c = inp.container
    hc = c.host_config
    out: dict[str, str] = {}
    if c.config.domainname and "uts" in kinds:
        out["kernel.domainname"] = c.config.domainname
    private_net = hc.network_mode != "host" and not hc.network_mode.startswith("container:")
    if private_net:
        # Docker's defaults: ping without CAP_NET_RAW, low ports without CAP_NET_BIND_SERVICE
        if not userns and inp.host.exists("/proc/sys/net/ipv4/ping_group_range"):
            out["net.ipv4.ping_group_range"] = "0 2147483647"
        if inp.host.exists("/proc/sys/net/ipv4/ip_unprivileged_port_start"):
            out["net.ipv4.ip_unprivileged_port_start"] = "0"
    out.update(hc.sysctls)
    host_net = "network" not in kinds
    _check_sysctls(out, kinds, host_net)
    return out


def _devices(inp: SpecInput) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``linux.devices`` and ``linux.resources.devices``."""
    hc = inp.container.host_config
    devs: list[dict[str, Any]] = []
    if hc.privileged:
        devs.extend(inp.host_devices if inp.host_devices is not None else host_devices(inp.host))
        for dm in hc.resources.devices:
            dest = dm.path_in_container or dm.path_on_host
            if dest == dm.path_on_host:
                continue  # already there: privileged containers get every host device
            d, _ = devices_from_path(inp.host, dm.path_on_host, dest, "rwm")
            devs.extend(d)
        return devs, [{"allow": True, "access": "rwm"}]
    rules = [dict(r) for r in DEFAULT_DEVICE_RULES]
    for dm in hc.resources.devices:
        perms = dm.cgroup_permissions or "rwm"
        if not perms or any(ch not in "rwm" for ch in perms):
            raise InvalidArgument(f"invalid device mode: {perms}")
        d, r = devices_from_path(
            inp.host, dm.path_on_host, dm.path_in_container or dm.path_on_host, perms
        )
        devs.extend(d)
        rules.extend(r)
    rules.extend(cgroup_rule(text) for text in hc.resources.device_cgroup_rules)
    return devs, rules


def _mounts(inp: SpecInput, userns: bool, writable_cgroups: bool | None) -> list[dict[str, Any]]:
    c = inp.container
    hc = c.host_config
    defaults = default_mounts(hc.shm_size)
    if _wants_init(inp):
        if not inp.init_path:
            raise InvalidArgument("--init: no init binary (docker-init) is installed on this host")
        defaults.append(
            {
                "destination": INIT_PATH,
                "type": "bind",
                "source": inp.init_path,
                "options": ["bind", "ro"],
            }
        )
    user_dests = {posixpath.normpath(m["destination"]) for m in inp.user_mounts}
    tmpfs = [
        tmpfs_mount(dest, data)
        for dest, data in sorted(hc.tmpfs.items())
        if posixpath.normpath(dest) not in user_dests
    ]
    taken = user_dests | {posixpath.normpath(m["destination"]) for m in tmpfs}
    netfiles = [
        m
        for m in network_mounts(
            inp.resolv_conf_path, inp.hostname_path, inp.hosts_path, hc.readonly_rootfs
        )
        if m["destination"] not in taken
    ]
    cgroup_writable = hc.privileged or userns
    if writable_cgroups is not None:
        cgroup_writable = writable_cgroups or cgroup_writable
    return order_mounts(
        defaults,
        netfiles + tmpfs + [dict(m) for m in inp.user_mounts],
        ipc_none=hc.ipc_mode == "none",
        readonly_rootfs=hc.readonly_rootfs,
        sys_writable=hc.privileged,
        cgroup_writable=cgroup_writable,
    )


def _wants_init(inp: SpecInput) -> bool:
    hc = inp.container.host_config
    if hc.pid_mode != "":
        return False  # only in a private pid namespace: elsewhere an init already runs
    return hc.init is True or (hc.init is None and inp.default_init)


def build_spec(inp: SpecInput) -> dict[str, Any]:
    """The container's OCI runtime spec as a JSON-ready dict."""
    c = inp.container
    hc = c.host_config
    if not c.path:
        raise InvalidArgument("no command specified")
    sec = parse_security_opts(
        hc.security_opt,
        no_new_privileges=inp.no_new_privileges,
        apparmor_enabled=inp.apparmor_enabled,
        selinux_enabled=inp.selinux_enabled,
    )
    nss, userns = _namespaces(inp)
    kinds = {n["type"] for n in nss}

    args = [c.path, *c.args]
    if _wants_init(inp):
        args = [INIT_PATH, "--", *args]
    caps = tweak_capabilities(hc.cap_add, hc.cap_drop, hc.privileged)
    cap_sets: dict[str, list[str]] = {"bounding": caps}
    if inp.uid == 0:
        # a non-root process gets no effective or permitted capabilities, as after execve
        cap_sets = {"bounding": caps, "effective": list(caps), "permitted": list(caps)}
    process: dict[str, Any] = {"terminal": c.config.tty}
    if c.config.tty and len(hc.console_size) == 2 and any(hc.console_size):
        process["consoleSize"] = {"height": hc.console_size[0], "width": hc.console_size[1]}
    user: dict[str, Any] = {"uid": inp.uid, "gid": inp.gid}
    if inp.additional_gids:
        user["additionalGids"] = list(inp.additional_gids)
    process.update(
        {
            "user": user,
            "args": args,
            "env": container_env(c, inp.linked_env),
            "cwd": c.config.working_dir or "/",
            "capabilities": cap_sets,
        }
    )
    limits = rlimits(hc.resources, inp.caller_hard_limits)
    if limits:
        process["rlimits"] = limits
    process["noNewPrivileges"] = sec.no_new_privileges
    if sec.apparmor and inp.apparmor_enabled:
        process["apparmorProfile"] = sec.apparmor
    process["oomScoreAdj"] = hc.oom_score_adj

    spec: dict[str, Any] = {
        "ociVersion": OCI_VERSION,
        "process": process,
        "root": {"path": inp.rootfs, "readonly": hc.readonly_rootfs},
    }
    if "uts" in kinds:
        if c.config.hostname:
            spec["hostname"] = c.config.hostname
        if c.config.domainname:
            spec["domainname"] = c.config.domainname
    spec["mounts"] = _mounts(inp, userns, sec.writable_cgroups)

    devs, dev_rules = _devices(inp)
    resources = linux_resources(hc.resources, inp.host)
    resources["devices"] = dev_rules
    linux: dict[str, Any] = {"resources": resources}
    if inp.cgroups_path:
        linux["cgroupsPath"] = inp.cgroups_path
    linux["namespaces"] = nss
    if userns and inp.userns_map is not None:
        linux["uidMappings"] = [_idmap(m) for m in inp.userns_map.uid_mappings]
        linux["gidMappings"] = [_idmap(m) for m in inp.userns_map.gid_mappings]
    linux["devices"] = devs
    sysctls = _sysctls(inp, kinds, userns)
    if sysctls:
        linux["sysctl"] = sysctls
    seccomp = _seccomp(inp, sec.seccomp, caps)
    if seccomp is not None:
        linux["seccomp"] = seccomp
    masked, readonly = _system_paths(inp)
    if masked:
        linux["maskedPaths"] = masked
    if readonly:
        linux["readonlyPaths"] = readonly
    spec["linux"] = linux
    return spec


def _idmap(m: IdMap) -> dict[str, int]:
    return {"containerID": m[0], "hostID": m[1], "size": m[2]}


def _seccomp(inp: SpecInput, profile: str, caps: list[str]) -> dict[str, Any] | None:
    if inp.container.host_config.privileged or profile == "unconfined":
        return None
    if profile in ("", "default", "builtin"):
        return default_profile(caps, inp.arch or None)
    return seccomp_from_profile(profile, caps, inp.arch, inp.kernel_release)


def _system_paths(inp: SpecInput) -> tuple[list[str], list[str]]:
    """Docker's masked and read-only /proc and /sys paths; none for a privileged
    container; the host config's lists win when given (an empty list = none)."""
    hc = inp.container.host_config
    masked = [] if hc.privileged else list(MASKED_PATHS)
    readonly = [] if hc.privileged else list(READONLY_PATHS)
    if hc.masked_paths is not None:
        masked = list(hc.masked_paths)
    if hc.readonly_paths is not None:
        readonly = list(hc.readonly_paths)
    return masked, readonly
