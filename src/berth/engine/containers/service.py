"""The container service: create, start, stop, kill, wait, remove — Docker's container
lifecycle over berth-shim and an OCI runtime.

How one container runs (ARCHITECTURE.md "the run flow"):

1. **create** validates the request, merges the image's defaults into the config,
   allocates the id and name, and prepares the container's writable snapshot over the
   image's top layer (``container-<id>``). The record is written before create answers;
   a failure after the snapshot removes it again — no half-made container.
2. **start** mounts the rootfs (overlay) at ``<root>/containers/<id>/rootfs``, resolves
   volumes and binds, writes hostname/hosts/resolv.conf, resolves the user inside the
   rootfs, writes the OCI ``config.json``, and launches a berth-shim that runs
   ``<runtime> create``; attachers waiting for the container connect to the shim, then
   the shim is told to ``start``.
3. A **monitor** thread per running container waits on its shim for the exit, records it
   (exit code, OOM, finish time), deletes the runtime's container, unmounts, and applies
   the restart policy (Docker's back-off: 100 ms doubling to 1 min, reset after 10 s up)
   or ``--rm``.
4. **Live restore**: shims outlive berthd. :meth:`ContainerService.restore` (at daemon
   start) reattaches a monitor to each live shim and collects the exits recorded while
   the daemon was away (``exit.json``).
"""

from __future__ import annotations

import builtins
import concurrent.futures
import contextlib
import logging
import os
import shutil
import signal as signal_mod
import socket
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from berth import errdefs, ids
from berth.cgroups.parents import remove_empty as remove_empty_cgroups
from berth.cgroups.prime import prime as prime_cgroup_lock
from berth.engine.containers import (
    merge,
    mounts,
    mountsetup,
    networking,
    policy,
    spec,
    user,
    validate,
)
from berth.engine.containers.health import ExecProbe, HealthMonitor
from berth.engine.containers.hostfiles import write_host_files
from berth.engine.containers.model import (
    Container,
    ContainerConfig,
    EndpointSettings,
    Health,
    HostConfig,
    State,
)
from berth.engine.containers.names import random_name, validate_name
from berth.engine.containers.store import ContainerStore
from berth.engine.events import EventBus
from berth.engine.networks.service import NetworkService
from berth.images import ImageDetail
from berth.logs.timefmt import now_rfc3339
from berth.network import netns
from berth.oci import fastjson
from berth.shim.client import ShimClient, launch, read_exit
from berth.snapshots import OverlaySnapshotter
from berth.snapshots.mount import mount_all, unmount
from berth.volumes import dir_size

__all__ = ["ContainerService", "ServiceConfig", "WaitResult"]

log = logging.getLogger("berthd.containers")

_ZERO_TIME = "0001-01-01T00:00:00Z"
_DEFAULT_CGROUP_PARENT = "/berth"


class Images(Protocol):
    def inspect(self, name: str) -> ImageDetail: ...


class Volumes(Protocol):
    """What the container service needs of :class:`berth.volumes.VolumeService`."""

    def create(
        self,
        name: str = "",
        driver: str = "local",
        labels: Mapping[str, str] | None = None,
        options: Mapping[str, str] | None = None,
        anonymous: bool = False,
    ) -> Any: ...

    def mount(self, name: str, ref: str) -> str: ...

    def unmount(self, name: str, ref: str) -> None: ...

    def copy_up(self, name: str, src_dir: str) -> bool: ...

    def remove(self, name: str, force: bool = False) -> None: ...


@dataclass
class ServiceConfig:
    root: str
    exec_root: str
    runtimes: Mapping[str, str]  # name → binary
    default_runtime: str
    shim: Sequence[str]  # berth-shim's argv prefix
    cgroup_v2: bool = False
    ncpu: int = 1
    log_opts: Mapping[str, str] = field(default_factory=lambda: {"max-size": "10m", "max-file": "3"})
    default_network: str = "bridge"
    init_path: str = ""  # host path of the --init binary (tini-static); "" = none installed


@dataclass
class WaitResult:
    status_code: int
    error: str = ""


@dataclass
class _Run:
    """What belongs to one running (or starting) container, not persisted."""

    exited: threading.Event = field(default_factory=threading.Event)
    started_mono: float = 0.0
    monitor: threading.Thread | None = None



class ContainerService:
    def __init__(
        self,
        cfg: ServiceConfig,
        images: Images,
        snapshotter: OverlaySnapshotter,
        store: ContainerStore,
        volumes: Volumes | None,
        events: EventBus,
    ) -> None:
        self.cfg = cfg
        self.images = images
        self.sn = snapshotter
        self.store = store
        self.volumes = volumes
        self.events = events
        self._locks: dict[str, threading.RLock] = {}
        self._locks_guard = threading.Lock()
        self._runs: dict[str, _Run] = {}
        self._waiters: dict[str, builtins.list[tuple[str, concurrent.futures.Future[WaitResult]]]] = {}
        self._attachers: dict[str, builtins.list[tuple[bool, concurrent.futures.Future[tuple[socket.socket, bool, bytes]]]]] = {}
        self._backoff: dict[str, float] = {}
        self._timers: dict[str, threading.Timer] = {}
        self._closing = False
        self.health = HealthMonitor(self, ExecProbe(self))  # healthchecks: health.py
        self._last_start_error: dict[str, errdefs.BerthError] = {}
        self._on_close: builtins.list[Callable[[], None]] = []
        self.networks: NetworkService | None = None  # set by the daemon's wiring
        os.makedirs(self._containers_dir, 0o711, exist_ok=True)
        os.makedirs(os.path.join(cfg.exec_root, "s"), 0o700, exist_ok=True)

    # -- paths -----------------------------------------------------------------------------

    @property
    def _containers_dir(self) -> str:
        return os.path.join(self.cfg.root, "containers")

    def bundle(self, c: Container) -> str:
        return os.path.join(self._containers_dir, c.id)

    def rootfs(self, c: Container) -> str:
        return os.path.join(self.bundle(c), "rootfs")

    def state_dir(self, c: Container) -> str:
        # short: the shim's sockets live here and AF_UNIX paths end at 108 bytes
        return os.path.join(self.cfg.exec_root, "s", c.id[:20])

    def runtime_root(self, runtime: str) -> str:
        return os.path.join(self.cfg.exec_root, "runtime" if runtime == "berth-runtime" else f"runtime-{runtime}")

    def runtime_binary(self, c: Container) -> str:
        name = c.runtime or self.cfg.default_runtime
        path = self.cfg.runtimes.get(name)
        if not path:
            raise errdefs.InvalidArgument(f"unknown or invalid runtime name: {name}")
        return path

    def netns_path(self, c: Container) -> str:
        return os.path.join(self.cfg.exec_root, "netns", c.id[:20])

    def cgroups_path(self, c: Container) -> str:
        parent = c.host_config.resources.cgroup_parent or _DEFAULT_CGROUP_PARENT
        if not parent.startswith("/"):
            parent = "/" + parent
        return f"{parent.rstrip('/')}/{c.id}"

    def lock(self, cid: str) -> threading.RLock:
        with self._locks_guard:
            lk = self._locks.get(cid)
            if lk is None:
                lk = self._locks[cid] = threading.RLock()
            return lk

    def shim(self, c: Container, timeout: float | None = 30) -> ShimClient:
        return ShimClient(self.state_dir(c), timeout=timeout)

    def get(self, ref: str) -> Container:
        return self.store.get(ref)

    def list(self) -> list[Container]:
        return self.store.all()

    def _event(self, c: Container, action: str, **extra: str) -> None:
        attrs = {"image": c.config.image, "name": c.name, **c.config.labels, **extra}
        self.events.publish("container", action, c.id, attrs)

    # -- create ----------------------------------------------------------------------------

    def create(
        self,
        name: str,
        config: ContainerConfig,
        host_config: HostConfig,
        *,
        platform: str = "",
        endpoints: Mapping[str, EndpointSettings] | None = None,
    ) -> tuple[Container, builtins.list[str]]:
        if not config.image:
            raise errdefs.InvalidArgument("Config.Image: no image given")
        if name:
            name = validate_name(name)
            if self.store.name_taken(name):
                other = self.store.get(name)
                raise errdefs.Conflict(
                    f'Conflict. The container name "/{name}" is already in use by container '
                    f'"{other.id}". You have to remove (or rename) that container to be able '
                    "to reuse that name."
                )
        runtime = host_config.runtime or self.cfg.default_runtime
        if runtime not in self.cfg.runtimes:
            raise errdefs.InvalidArgument(f"unknown or invalid runtime name: {runtime}")
        warnings = validate.validate_create(config, host_config, self.cfg.ncpu)
        try:
            image = self.images.inspect(config.image)
        except errdefs.NotFound:
            raise errdefs.NotFound(f"No such image: {config.image}") from None
        if platform and platform.split("/")[0] != image.os:
            raise errdefs.NotFound(
                f"image with reference {config.image} was found but does not match the "
                f"specified platform: wanted {platform}, actual: {image.os}/{image.architecture}"
            )
        merged = merge.merge_image_config(config, image.config)
        path, args = merge.process_args(merged)
        if not host_config.network_mode:
            host_config.network_mode = "default"
        requested = networking.requested_networks(self, host_config, merged, endpoints or {}, warnings)
        cid = ids.new_id()
        if not merged.hostname:
            merged.hostname = cid[:12] if host_config.network_mode != "host" else socket.gethostname()
        plans = mounts.plan_mounts(merged, host_config)
        name = name or random_name(self.store.name_taken)
        c = Container(
            id=cid,
            name=name,
            created=now_rfc3339(),
            path=path,
            args=args,
            config=merged,
            host_config=host_config,
            image=str(image.id),
            runtime=runtime,
            snapshot_key=f"container-{cid}",
        )
        c.host_config.runtime = runtime
        # Docker's defaults, shown by inspect
        hcd = c.host_config
        if hcd.resources.pids_limit is not None and hcd.resources.pids_limit <= 0:
            hcd.resources.pids_limit = None  # unlimited, as dockerd normalises it
        c.network_settings.networks = requested
        hcd.shm_size = hcd.shm_size or 64 << 20
        hcd.ipc_mode = hcd.ipc_mode or "private"
        hcd.cgroupns_mode = hcd.cgroupns_mode or ("private" if self.cfg.cgroup_v2 else "host")
        if hcd.resources.memory and not hcd.resources.memory_swap:
            hcd.resources.memory_swap = 2 * hcd.resources.memory
        if not c.host_config.log_config.type:
            c.host_config.log_config.type = "json-file"
        if c.host_config.log_config.type == "json-file":
            opts = dict(self.cfg.log_opts)
            opts.update(c.host_config.log_config.config)
            c.host_config.log_config.config = opts
        elif c.host_config.log_config.type != "none":
            raise errdefs.InvalidArgument(
                f'failed to create task for container: logger: no log driver named '
                f"'{c.host_config.log_config.type}' is registered"
            )
        bundle = self.bundle(c)
        made_volumes: builtins.list[str] = []
        try:
            os.makedirs(bundle, 0o710)
            os.makedirs(self.rootfs(c), 0o755)
            parent = str(image.chain_ids[-1]) if image.chain_ids else None
            self.sn.prepare(c.snapshot_key, parent, {"berth.container": cid})
            for p in plans:
                if p.type == "bind" and p.create_source and not os.path.exists(p.source):
                    os.makedirs(p.source, 0o755, exist_ok=True)
                if p.type == "volume" and self.volumes is not None:
                    vol = self.volumes.create(
                        p.source, p.volume_driver or "local", p.labels, p.driver_options, anonymous=not p.source
                    )
                    if not p.source:
                        p.source = vol.name
                        made_volumes.append(vol.name)
                    c.mounts.append(mountsetup.mount_point(p, vol.mountpoint))
                else:
                    c.mounts.append(mountsetup.mount_point(p, p.source))
            mountsetup.volumes_from(c, self.get)
            c.log_path = (
                os.path.join(bundle, f"{cid}-json.log") if c.host_config.log_config.type == "json-file" else ""
            )
            self.store.add(c)
        except BaseException:
            with contextlib.suppress(errdefs.BerthError):
                self.sn.remove(c.snapshot_key)
            for v in made_volumes:
                with contextlib.suppress(errdefs.BerthError):
                    self.volumes.remove(v) if self.volumes else None
            shutil.rmtree(bundle, ignore_errors=True)
            raise
        self._event(c, "create")
        return c, warnings

    # -- start -----------------------------------------------------------------------------

    def start(self, ref: str) -> Container:
        c = self.get(ref)
        with self.lock(c.id):
            st = c.state
            if st.running and not st.restarting:
                raise errdefs.Conflict("container already started")
            if st.status == "removing" or st.dead:
                raise errdefs.Conflict(f"cannot start container {c.id}: container is marked for removal")
            timer = self._timers.pop(c.id, None)
            if timer is not None:
                timer.cancel()
            c.manually_stopped = False
            try:
                self._start_locked(c)
            except errdefs.BerthError:
                failed = True
            else:
                failed = False
        if failed:
            # Docker removes an --rm container that failed to start (the CLI waits for
            # "removed" before it reports the error).
            if c.host_config.auto_remove:
                with contextlib.suppress(errdefs.BerthError):
                    self.remove(c.id, force=True, volumes=True)
            raise self._last_start_error.pop(c.id)
        return c

    def _start_locked(self, c: Container) -> None:
        # the runtime's cgroup write waits a grace period unless the lock is warm: warm it
        # now, in parallel with the work below (berth.cgroups.prime)
        threading.Thread(target=prime_cgroup_lock, name="cgroup-prime", daemon=True).start()
        state_dir = self.state_dir(c)
        shutil.rmtree(state_dir, ignore_errors=True)
        os.makedirs(state_dir, 0o700)
        rootfs = self.rootfs(c)
        mounted: builtins.list[tuple[str, str]] = []  # volumes mounted: (name, ref)
        rootfs_mounted = False
        launched = False
        try:
            mount_all(self.sn.mounts(c.snapshot_key), rootfs)
            rootfs_mounted = True
            user_mounts = mountsetup.oci_mounts(c, rootfs, self.volumes, mounted)
            hc = c.host_config
            host_mode = hc.network_mode == "host"
            uid, gid, groups = user.resolve_user(rootfs, c.config.user, hc.group_add)
            mounts.make_working_dir(rootfs, c.config.working_dir)
            netns_path, pid_path, ipc_path = self._joined_namespaces(c)
            addresses: builtins.list[str] = []
            embedded_dns = False
            gateway = ""
            if netns_path is None and not host_mode:
                netns_path = netns.create(self.netns_path(c))
                c.network_settings.sandbox_key = netns_path
                if self.networks is not None:
                    joined = self.networks.join(c, netns_path)
                    addresses, embedded_dns, gateway = joined.addresses, joined.embedded_dns, joined.gateway
            hostname_path, hosts_path, resolv_path = write_host_files(
                self.bundle(c),
                hostname=c.config.hostname,
                addresses=addresses,
                extra_hosts=hc.extra_hosts,
                dns=hc.dns,
                dns_search=hc.dns_search,
                dns_options=hc.dns_options,
                own_netns=not host_mode,
                host_mode=host_mode,
                embedded_dns=embedded_dns,
                host_gateway=gateway,
                links=networking.legacy_links(self, c),
            )
            c.hostname_path, c.hosts_path, c.resolv_conf_path = hostname_path, hosts_path, resolv_path
            doc = spec.build_spec(
                spec.SpecInput(
                    container=c,
                    rootfs=rootfs,
                    uid=uid,
                    gid=gid,
                    additional_gids=groups,
                    cgroups_path=self.cgroups_path(c),
                    hostname_path=hostname_path,
                    hosts_path=hosts_path,
                    resolv_conf_path=resolv_path,
                    netns_path=netns_path,
                    pid_ns_path=pid_path,
                    ipc_ns_path=ipc_path,
                    user_mounts=user_mounts,
                    cgroup_v2=self.cfg.cgroup_v2,
                    init_path=self.cfg.init_path,
                )
            )
            with open(os.path.join(self.bundle(c), "config.json"), "w") as f:
                f.write(fastjson.dumps(doc))
            runtime = c.runtime or self.cfg.default_runtime
            opts = hc.log_config.config if hc.log_config.type == "json-file" else {}
            launch(
                self.cfg.shim,
                id=c.id,
                bundle=self.bundle(c),
                state_dir=state_dir,
                runtime=self.runtime_binary(c),
                runtime_root=self.runtime_root(runtime),
                log_path=c.log_path,
                log_opts=opts,
                tty=c.config.tty,
                stdin=c.config.open_stdin,
                stdin_once=c.config.stdin_once,
            )
            launched = True
            shim = self.shim(c)
            self._connect_attachers(c, shim)
            shim.start()
            st = shim.state()
        except BaseException as exc:
            self._start_failed(c, exc, launched, rootfs_mounted, mounted)
            err = policy.start_error(c.id, exc)
            self._last_start_error[c.id] = err
            raise err from exc
        run = _Run(started_mono=time.monotonic())
        self._runs[c.id] = run
        c.state = State(
            status="running",
            running=True,
            pid=int(st.get("pid") or 0),
            started_at=now_rfc3339(),
            finished_at=c.state.finished_at if c.has_been_started else _ZERO_TIME,
            health=Health() if self._has_healthcheck(c) else None,
        )
        c.has_been_started = True
        self.store.save(c)
        self._event(c, "start")
        self.health.start(c)  # healthchecks: health.py
        run.monitor = threading.Thread(target=self._monitor, args=(c.id, run), name=f"monitor-{c.id[:12]}", daemon=True)
        run.monitor.start()

    @staticmethod
    def _has_healthcheck(c: Container) -> bool:
        hc = c.config.healthcheck
        return hc is not None and bool(hc.test) and hc.test[0] != "NONE"

    def _joined_namespaces(self, c: Container) -> tuple[str | None, str | None, str | None]:
        hc = c.host_config

        def of(mode: str, ns: str) -> str | None:
            if mode.startswith("container:"):
                other = self.get(mode.split(":", 1)[1])
                if not other.state.running:
                    raise errdefs.Conflict(f"cannot join network of a non running container: {other.id}")
                return f"/proc/{other.state.pid}/ns/{ns}"
            return None

        return of(hc.network_mode, "net"), of(hc.pid_mode, "pid"), of(hc.ipc_mode, "ipc")

    def _connect_attachers(self, c: Container, shim: ShimClient) -> None:
        waiting = self._attachers.pop(c.id, [])
        for want_stdin, fut in waiting:
            if fut.done():
                continue
            try:
                fut.set_result(shim.attach(stdin=want_stdin))
            except Exception as exc:
                fut.set_exception(exc)

    def _start_failed(
        self, c: Container, exc: BaseException, launched: bool, rootfs_mounted: bool, mounted: builtins.list[tuple[str, str]]
    ) -> None:
        if launched:
            with contextlib.suppress(errdefs.BerthError, OSError):
                self.shim(c, timeout=10).delete(force=True)
        else:
            self._runtime_force_delete(c)
        self._release(c, rootfs_mounted, mounted)
        for _, fut in self._attachers.pop(c.id, []):
            if not fut.done():
                fut.set_exception(errdefs.Conflict("container failed to start"))
        code = policy.start_exit_code(str(exc))
        c.state = State(
            status="created" if not c.has_been_started else "exited",
            exit_code=code,
            error=policy.start_error(c.id, exc).message,
            started_at=c.state.started_at,
            finished_at=c.state.finished_at,
        )
        self.store.save(c)
        self._event(c, "die", exitCode=str(code))

    def _runtime_force_delete(self, c: Container) -> None:
        import subprocess

        try:
            binary = self.runtime_binary(c)
        except errdefs.BerthError:
            return
        runtime = c.runtime or self.cfg.default_runtime
        subprocess.run(
            [binary, "--root", self.runtime_root(runtime), "delete", "--force", c.id],
            capture_output=True, check=False, timeout=30,
        )  # fmt: skip

    def _release(self, c: Container, rootfs_mounted: bool = True, mounted: Sequence[tuple[str, str]] | None = None) -> None:
        """Undo what start made outside the runtime: the rootfs mount, the network
        namespace and the container's endpoints, volume mounts."""
        if self.networks is not None:
            try:
                self.networks.leave(c)
            except errdefs.BerthError as exc:
                log.warning("leave networks of %s: %s", c.id[:12], exc.message)
        netns.remove(self.netns_path(c))
        c.network_settings.sandbox_key = ""
        if rootfs_mounted:
            try:
                unmount(self.rootfs(c))
            except (errdefs.BerthError, OSError) as exc:
                log.warning("unmount rootfs of %s: %s; detaching", c.id[:12], exc)
                with contextlib.suppress(errdefs.BerthError, OSError):
                    unmount(self.rootfs(c), detach=True)
        if self.volumes is not None:
            names = [(n, r) for n, r in mounted] if mounted is not None else [
                (m.name, c.id) for m in c.mounts if m.type == "volume"
            ]
            for name, ref in names:
                with contextlib.suppress(errdefs.BerthError, OSError):
                    self.volumes.unmount(name, ref)

    # -- exit ------------------------------------------------------------------------------

    def _monitor(self, cid: str, run: _Run) -> None:
        try:
            c = self.store.get(cid)
        except errdefs.NotFound:
            return
        exit_: dict[str, Any] | None = None
        while exit_ is None and not self._closing:
            try:
                exit_ = self.shim(c, timeout=None).wait()
            except (errdefs.Unavailable, errdefs.NotFound, OSError):
                exit_ = read_exit(self.state_dir(c))
                if exit_ is None:
                    if self._closing:
                        return
                    time.sleep(0.2)
                    if not os.path.exists(os.path.join(self.state_dir(c), "shim.sock")):
                        exit_ = read_exit(self.state_dir(c)) or {"exit_code": 255, "shim_lost": True}
        if exit_ is None:
            return
        self._on_exit(c, run, exit_)

    def _on_exit(self, c: Container, run: _Run, exit_: Mapping[str, Any]) -> None:
        with self.lock(c.id):
            self.health.stop(c)  # healthchecks: health.py
            code = int(exit_.get("exit_code", 255))
            self._delete_runtime_container(c)
            shutil.rmtree(self.state_dir(c), ignore_errors=True)
            self._release(c)
            ran = time.monotonic() - run.started_mono if run.started_mono else 0.0
            c.state = State(
                status="exited",
                exit_code=code,
                oom_killed=bool(exit_.get("oom_killed")),
                started_at=c.state.started_at,
                finished_at=str(exit_.get("finished_at") or now_rfc3339()),
                error="shim lost" if exit_.get("shim_lost") else "",
                health=c.state.health,
            )
            if c.state.health is not None:
                c.state.health.status = "unhealthy" if c.state.health.failing_streak else c.state.health.status
            self._runs.pop(c.id, None)
            restart = policy.should_restart(c, code, self._closing)
            if restart:
                c.state.restarting = True
                c.state.status = "restarting"
            self.store.save(c)
            run.exited.set()
            if c.state.oom_killed:
                self._event(c, "oom")
            self._event(c, "die", exitCode=str(code))
            self._notify(c.id, ("next-exit", "not-running"), WaitResult(code))
        if restart:
            self._schedule_restart(c, ran)
        elif c.host_config.auto_remove:
            with contextlib.suppress(errdefs.BerthError):
                self.remove(c.id, force=True, volumes=True)

    def _delete_runtime_container(self, c: Container) -> None:
        """After the exit: end the shim and delete the runtime's container. berth's own
        runtime is a library here, so its ``delete`` (cgroups, state) runs in-process,
        sparing a process start on the path of every ``run --rm``."""
        runtime = c.runtime or self.cfg.default_runtime
        own = runtime == "berth-runtime"
        try:
            self.shim(c, timeout=10).delete(force=True, runtime=not own)
        except (errdefs.BerthError, OSError):
            own = True  # no shim to do it: do it here (berth-runtime) or below
        if not own:
            return
        if runtime != "berth-runtime":
            self._runtime_force_delete(c)
            return
        from berth.runtime.container import delete as runtime_delete
        from berth.runtime.state import Store

        try:
            for w in runtime_delete(Store(self.runtime_root(runtime)), c.id, force=True):
                log.warning("container %s: %s", c.id[:12], w)
        except errdefs.BerthError as exc:
            log.warning("delete runtime state of %s: %s", c.id[:12], exc.message)

    def _schedule_restart(self, c: Container, ran: float) -> None:
        delay = self._backoff[c.id] = policy.next_backoff(self._backoff.get(c.id, 0.0), ran)

        def fire() -> None:
            self._timers.pop(c.id, None)
            with self.lock(c.id):
                if not c.state.restarting or self._closing:
                    return
                c.restart_count += 1
                try:
                    self._start_locked(c)
                except errdefs.BerthError as exc:
                    log.warning("restart %s: %s", c.id[:12], exc.message)
                    c.state.restarting = False
                    self.store.save(c)
                    return
            self._event(c, "restart")

        t = threading.Timer(delay, fire)
        t.daemon = True
        self._timers[c.id] = t
        t.start()

    def _notify(self, cid: str, conditions: Sequence[str], result: WaitResult) -> None:
        keep = []
        for cond, fut in self._waiters.pop(cid, []):
            if cond in conditions:
                if not fut.done():
                    fut.set_result(result)
            else:
                keep.append((cond, fut))
        if keep:
            self._waiters.setdefault(cid, []).extend(keep)

    # -- wait, attach ----------------------------------------------------------------------

    def wait_future(self, ref: str, condition: str = "not-running") -> concurrent.futures.Future[WaitResult]:
        """A future resolved when ``condition`` holds: ``not-running`` (at once if it is
        not running), ``next-exit``, ``removed``."""
        if condition not in ("", "not-running", "next-exit", "removed"):
            raise errdefs.InvalidArgument(f"invalid condition: {condition}")
        c = self.get(ref)
        fut: concurrent.futures.Future[WaitResult] = concurrent.futures.Future()
        with self.lock(c.id):
            cond = condition or "not-running"
            if not self.store.has(c.id):  # removed meanwhile
                if cond == "removed":
                    fut.set_result(WaitResult(c.state.exit_code))
                    return fut
                raise errdefs.NotFound(f"No such container: {ref}")
            if cond == "not-running" and not c.state.running and not c.state.restarting:
                fut.set_result(WaitResult(c.state.exit_code))
                return fut
            self._waiters.setdefault(c.id, []).append((cond, fut))
        return fut

    def attach_future(
        self, ref: str, stdin: bool
    ) -> concurrent.futures.Future[tuple[socket.socket, bool, bytes]]:
        """The container's streams: at once when it runs, else when it next starts."""
        c = self.get(ref)
        fut: concurrent.futures.Future[tuple[socket.socket, bool, bytes]] = concurrent.futures.Future()
        run = self._runs.get(c.id)
        if c.state.running and run is not None and self._exiting(c):
            # its process has ended but the exit is not recorded yet: attaching now would
            # get an empty stream; wait for the record, then attach to the next start
            run.exited.wait(5)
        with self.lock(c.id):
            if c.state.running and not c.state.restarting:
                if c.state.paused:
                    raise errdefs.Conflict(f"container {ref} is paused, unpause the container before attach")
                try:
                    fut.set_result(self.shim(c).attach(stdin=stdin))
                except errdefs.BerthError as exc:
                    fut.set_exception(exc)
                return fut
            # as dockerd: a stopped container's streams are attached when it next starts
            # (``docker start -a``); refusing a stopped container is the CLI's business
            self._attachers.setdefault(c.id, []).append((stdin, fut))
        self._event(c, "attach")
        return fut

    def _exiting(self, c: Container) -> bool:
        try:
            return self.shim(c, timeout=2).state().get("status") == "stopped"
        except (errdefs.BerthError, OSError):
            return False

    def resize(self, ref: str, height: int, width: int) -> None:
        c = self.get(ref)
        if not c.state.running:
            raise errdefs.Conflict(f"Container {c.id} is not running")
        if not c.config.tty:
            return
        self.shim(c).resize(height, width)

    # -- stop, kill ------------------------------------------------------------------------

    def kill(self, ref: str, sig: str | int = "", *, manual: bool = False) -> Container:
        """Docker's kill; ``manual`` (the API's kill) marks it a manual stop when it is
        SIGKILL or the stop signal, so that no restart policy acts on the exit."""
        c = self.get(ref)
        signum = validate.parse_signal(str(sig)) if sig not in ("", 0) else signal_mod.SIGKILL
        with self.lock(c.id):
            if not c.state.running:
                raise errdefs.Conflict(f"cannot kill container: {c.name}: container {c.id} is not running")
            if c.state.restarting:
                return c
            stop_sig = c.config.stop_signal
            if manual and (not stop_sig or signum == signal_mod.SIGKILL or validate.parse_signal(stop_sig) == signum):
                # moby's ExitOnNext: a kill with SIGKILL or the stop signal (any signal
                # when no StopSignal is set) is a manual stop, no restart policy acts
                c.manually_stopped = True
            self.shim(c).kill(int(signum), all=False)
        if c.state.paused and signum == signal_mod.SIGKILL:
            self._unpause_for_stop(c)  # as Docker: a frozen process cannot die until thawed
        self._event(c, "kill", signal=str(int(signum)))
        return c

    def stop(self, ref: str, timeout: int | None = None, sig: str = "") -> bool:
        """Docker's stop; False when it was not running (the API answers 304)."""
        c = self.get(ref)
        with self.lock(c.id):
            c.manually_stopped = True
            timer = self._timers.pop(c.id, None)
            if timer is not None:
                timer.cancel()
            if c.state.restarting:
                c.state.restarting = False
                c.state.status = "exited"
                c.state.running = False
                self.store.save(c)
                return True
            if not c.state.running:
                self.store.save(c)
                return False
            self.store.save(c)
            run = self._runs.get(c.id)
        if c.state.paused:
            self._unpause_for_stop(c)
        signum = validate.parse_signal(sig or c.config.stop_signal or "SIGTERM")
        if timeout is None:
            timeout = c.config.stop_timeout if c.config.stop_timeout is not None else 10
        with contextlib.suppress(errdefs.BerthError, OSError):
            self.shim(c).kill(int(signum))
        self._event(c, "kill", signal=str(int(signum)))
        if run is not None and timeout >= 0 and run.exited.wait(timeout):
            self._event(c, "stop")
            return True
        with contextlib.suppress(errdefs.BerthError, OSError):
            self.shim(c).kill(int(signal_mod.SIGKILL), all=True)
        self._event(c, "kill", signal=str(int(signal_mod.SIGKILL)))
        if run is not None and not run.exited.wait(30):
            raise errdefs.Internal(f"container {c.id} did not exit within 30 seconds of SIGKILL")
        self._event(c, "stop")
        return True

    def _unpause_for_stop(self, c: Container) -> None:
        # a frozen process cannot act on a signal: thaw it first (ops.py: pause/unpause)
        from berth.engine.containers import ops

        with contextlib.suppress(errdefs.BerthError):
            ops.unpause(self, c.id)

    def restart(self, ref: str, timeout: int | None = None, sig: str = "") -> None:
        c = self.get(ref)
        if c.state.running or c.state.restarting:
            self.stop(c.id, timeout, sig)
        self.start(c.id)
        self._event(c, "restart")

    # -- remove ----------------------------------------------------------------------------

    def remove(self, ref: str, force: bool = False, volumes: bool = False) -> None:
        c = self.get(ref)
        if c.state.running and not c.state.restarting:
            if not force:
                if c.state.paused:
                    raise errdefs.Conflict(
                        f'cannot remove container "/{c.name}": container is paused and must be '
                        "unpaused first"
                    )
                raise errdefs.Conflict(
                    f'cannot remove container "/{c.name}": container is running: stop the '
                    "container before removing or force remove"
                )
            c.manually_stopped = True
            if c.state.paused:
                self._unpause_for_stop(c)
            run = self._runs.get(c.id)
            with contextlib.suppress(errdefs.BerthError, OSError):
                self.shim(c).kill(int(signal_mod.SIGKILL), all=True)
            if run is not None:
                run.exited.wait(30)
        with self.lock(c.id):
            if c.state.status == "removing":
                raise errdefs.Conflict(f"removal of container {c.id} is already in progress")
            timer = self._timers.pop(c.id, None)
            if timer is not None:
                timer.cancel()
            c.state.restarting = False
            prev = c.state.status
            c.state.status = "removing"
            try:
                if c.state.running:
                    raise errdefs.Conflict(f"could not kill running container {c.id}, cannot remove")
                # a shim left from a failed start or a crash
                if os.path.exists(self.state_dir(c)):
                    with contextlib.suppress(errdefs.BerthError, OSError):
                        self.shim(c, timeout=10).delete(force=True)
                    shutil.rmtree(self.state_dir(c), ignore_errors=True)
                with contextlib.suppress(errdefs.BerthError, OSError):
                    unmount(self.rootfs(c), detach=True)
                netns.remove(self.netns_path(c))
                with contextlib.suppress(errdefs.NotFound):
                    self.sn.remove(c.snapshot_key)
            except BaseException:
                c.state.status = prev
                raise
            self.store.remove(c)
            shutil.rmtree(self.bundle(c), ignore_errors=True)
            if self.volumes is not None:
                for m in c.mounts:
                    if m.type != "volume":
                        continue
                    anonymous = len(m.name) == 64 and all(ch in "0123456789abcdef" for ch in m.name)
                    if volumes and anonymous:
                        try:
                            self.volumes.remove(m.name)
                        except errdefs.BerthError as exc:
                            log.warning("remove volume %s of %s: %s", m.name, c.id[:12], exc.message)
            self._runs.pop(c.id, None)
            self._backoff.pop(c.id, None)
            self._notify(c.id, ("removed", "next-exit", "not-running"), WaitResult(c.state.exit_code))
        self._event(c, "destroy")
        with self._locks_guard:
            self._locks.pop(c.id, None)

    # -- sizes ------------------------------------------------------------------------------

    def sizes(self, c: Container) -> tuple[int, int]:
        """(SizeRw, SizeRootFs): the bytes of the container's own layer, and those plus its
        image's (``ps -s``, ``inspect --size``, ``system df``)."""
        try:
            rw = dir_size(self.sn.fs_dir(c.snapshot_key))  # file bytes, as dockerd reports SizeRw
        except (errdefs.BerthError, OSError):
            rw = 0
        try:
            image = self.images.inspect(c.image).size
        except errdefs.BerthError:
            image = 0
        return rw, rw + image

    # -- usage by images and volumes -------------------------------------------------------

    def containers_using(self, image_id: Any) -> Sequence[tuple[str, bool]]:
        return [(c.id, c.state.running) for c in self.store.all() if c.image == str(image_id)]

    def volume_users(self, name: str) -> builtins.list[str]:
        return [c.id for c in self.store.all() if any(m.type == "volume" and m.name == name for m in c.mounts)]

    # -- daemon start and stop -------------------------------------------------------------

    def restore(self) -> None:
        """Reconnect to the shims that outlived the previous daemon; record the exits
        that happened meanwhile; clean what a crash left half done."""
        for c in self.store.load():
            try:
                self._restore_one(c)
            except Exception:  # one container's trouble must not keep the daemon down
                log.exception("restore container %s", c.id[:12])
                with contextlib.suppress(Exception):
                    self._on_exit(c, _Run(), read_exit(self.state_dir(c)) or {"exit_code": 255, "shim_lost": True})

    def _restore_one(self, c: Container) -> None:
        """One container at daemon start: reattach its live shim, or collect its exit, or
        roll back a start the old daemon left half done."""
        sd = self.state_dir(c)
        if c.state.status == "removing":
            c.state.status = "exited"
        if c.state.running or c.state.restarting or os.path.exists(sd):
            shim = self.shim(c, timeout=5)
            alive = os.path.exists(shim.path) and shim.alive()
            if alive:
                st = shim.state()
                if st.get("status") == "created":
                    # started by the old daemon but never told to run: finish the start
                    with contextlib.suppress(errdefs.BerthError):
                        shim.delete(force=True)
                    self._release(c)
                    c.state = State(status="created" if not c.has_been_started else "exited",
                                    started_at=c.state.started_at, finished_at=c.state.finished_at)
                    self.store.save(c)
                    return
                if st.get("status") == "stopped" and st.get("exit"):
                    self._on_exit(c, _Run(), st["exit"])
                    return
                run = _Run(started_mono=time.monotonic())
                self._runs[c.id] = run
                c.state.running = True
                c.state.status = "paused" if c.state.paused else "running"
                c.state.pid = int(st.get("pid") or c.state.pid)
                self.store.save(c)
                if self.networks is not None and c.network_settings.sandbox_key:
                    self.networks.restore(c, c.network_settings.sandbox_key)
                self.health.start(c)  # healthchecks: health.py
                run.monitor = threading.Thread(target=self._monitor, args=(c.id, run), daemon=True)
                run.monitor.start()
                return
            exit_ = read_exit(sd) or {"exit_code": 255, "shim_lost": True}
            run = _Run()
            self._on_exit(c, run, exit_)
        elif c.state.status == "created" and c.has_been_started:
            c.state.status = "exited"
            self.store.save(c)

    def on_close(self, fn: Callable[[], None]) -> None:
        self._on_close.append(fn)

    def close(self) -> None:
        """Daemon shutdown: containers keep running (live restore); stop timers and let
        monitor threads end."""
        self._closing = True
        for fn in self._on_close:
            with contextlib.suppress(Exception):
                fn()
        self.health.close(wait=5)  # healthchecks: health.py
        for t in list(self._timers.values()):
            t.cancel()
        if not any(c.state.running for c in self.store.all()):
            # nothing runs: the default parent cgroup berthd's containers were made under
            # goes too (a custom --cgroup-parent is the user's)
            remove_empty_cgroups(_DEFAULT_CGROUP_PARENT)
