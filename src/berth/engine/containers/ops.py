"""Operations on a running container beside its lifecycle: pause, unpause, top, update
and stats (Docker's ``daemon/pause.go``, ``unpause.go``, ``top_unix.go``, ``update.go``,
``stats*.go``, Docker Engine 20.10).

- **pause / unpause** freeze and thaw every process of the container through its OCI
  runtime (``<runtime> --root <root> pause|resume <id>``: the cgroup freezer). A paused
  container is still *running* (``State.Running``) with ``State.Paused`` set and the
  status ``paused``. Its healthcheck stops meanwhile and reads ``unhealthy``, as in moby.
- **top** lists the container's processes: the pids in its cgroup, then the host's
  ``ps`` (``-ef`` unless ``ps_args``) with the other processes filtered out, keeping the
  thread lines (``PID`` ``-``) that follow a kept process.
- **update** changes resources and the restart policy. Docker's merge: a zero field
  means "unchanged"; a running container gets the *requested* limits through
  ``<runtime> update --resources FILE`` (an OCI ``linux.resources`` object, read by
  :mod:`berth.runtime.update`); the merged HostConfig is kept, and restored when the
  runtime refuses.
- **stats** samples the container's cgroup (:mod:`berth.cgroups`, v1 and v2 alike, in
  runc's ``events --stats`` shape), the host's CPU time from ``/proc/stat`` (the
  ``system_cpu_usage`` Docker's clients divide by) and the interfaces of the
  container's network namespace (``/proc/<pid>/net/dev``). :class:`StatsSample` is the
  raw material; the API turns two of them into Docker's stats JSON.
"""

from __future__ import annotations

import contextlib
import copy
import os
import re
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from berth import cgroups, errdefs
from berth.engine.containers import validate
from berth.engine.containers.model import (
    Container,
    ContainerConfig,
    HostConfig,
    Resources,
    RestartPolicy,
)
from berth.engine.containers.spec_devices import OsHostView
from berth.engine.containers.spec_resources import linux_resources
from berth.oci import fastjson

if TYPE_CHECKING:
    from berth.engine.containers.service import ContainerService

__all__ = [
    "StatsSample",
    "container_pids",
    "parse_net_dev",
    "parse_ps_output",
    "pause",
    "stats_sample",
    "system_cpu_usage",
    "top",
    "unpause",
    "update",
]

_NS = 1_000_000_000
_RUNTIME_TIMEOUT = 60


# -- the runtime's command line -------------------------------------------------------------


def _runtime(svc: ContainerService, c: Container, *args: str) -> subprocess.CompletedProcess[str]:
    runtime = c.runtime or svc.cfg.default_runtime
    argv = [svc.runtime_binary(c), "--root", svc.runtime_root(runtime), *args]
    try:
        return subprocess.run(
            argv, capture_output=True, text=True, check=False, timeout=_RUNTIME_TIMEOUT
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise errdefs.Internal(f"run {argv[0]} {args[0]}: {exc}") from exc


def _runtime_error(out: subprocess.CompletedProcess[str]) -> str:
    """The runtime's own message: the last line of its stderr (runc logs JSON or
    ``level=error msg="…"`` lines; the message inside is what matters)."""
    lines = [ln.strip() for ln in (out.stderr or out.stdout or "").splitlines() if ln.strip()]
    if not lines:
        return f"exit status {out.returncode}"
    last = lines[-1]
    with contextlib.suppress(ValueError, TypeError, AttributeError):
        doc = fastjson.loads(last)
        if isinstance(doc, dict) and isinstance(doc.get("msg"), str):
            return str(doc["msg"])
    m = re.search(r'msg="((?:[^"\\]|\\.)*)"', last)
    return m.group(1).replace('\\"', '"') if m else last


def _not_running(c: Container) -> errdefs.Conflict:
    return errdefs.Conflict(f"Container {c.id} is not running")


def _restarting(c: Container) -> errdefs.Conflict:
    return errdefs.Conflict(f"Container {c.id} is restarting, wait until the container is running")


# -- pause, unpause -----------------------------------------------------------------------------


def pause(svc: ContainerService, ref: str) -> Container:
    """Freeze the container's processes (``docker pause``)."""
    c = svc.get(ref)
    with svc.lock(c.id):
        st = c.state
        if not st.running:
            raise _not_running(c)
        if st.paused:
            raise errdefs.Conflict(f"Container {c.id} is already paused")
        if st.restarting:
            raise _restarting(c)
        out = _runtime(svc, c, "pause", c.id)
        if out.returncode != 0:
            raise errdefs.Internal(f"Cannot pause container {c.id}: {_runtime_error(out)}")
        st.paused = True
        st.status = "paused"
        svc.health.stop(c)
        svc.store.save(c)
    svc._event(c, "pause")
    return c


def unpause(svc: ContainerService, ref: str) -> Container:
    """Thaw a paused container (``docker unpause``)."""
    c = svc.get(ref)
    with svc.lock(c.id):
        st = c.state
        if not st.paused or not st.running:
            raise errdefs.Conflict(f"Container {c.id} is not paused")
        out = _runtime(svc, c, "resume", c.id)
        if out.returncode != 0:
            raise errdefs.Internal(f"Cannot unpause container {c.id}: {_runtime_error(out)}")
        st.paused = False
        st.status = "running"
        svc.store.save(c)
        svc.health.start(c)
    svc._event(c, "unpause")
    return c


# -- top ----------------------------------------------------------------------------------------

_PS_ARG_PID = re.compile(r"\s+([^\s]*)=\s*(PID[^\s]*)")


def _check_ps_args(ps_args: str) -> None:
    # moby validatePSArgs: only "pid" may be renamed to a PID… title
    for key, value in _PS_ARG_PID.findall(ps_args):
        if key != "pid":
            raise errdefs.InvalidArgument(f'specifying "{key}={value}" is not allowed')


def container_pids(svc: ContainerService, c: Container) -> list[int]:
    """The pids in the container's cgroup; the runtime's ``ps --format json`` when the
    cgroup cannot be read here."""
    with contextlib.suppress(errdefs.BerthError, OSError):
        pids = cgroups.Manager.load(cgroups.detect(), svc.cgroups_path(c)).pids()
        if pids:
            return pids
    out = _runtime(svc, c, "ps", "--format", "json", c.id)
    if out.returncode != 0:
        raise errdefs.Internal(f"list processes of container {c.id}: {_runtime_error(out)}")
    try:
        doc = fastjson.loads(out.stdout or "[]")
    except ValueError as exc:
        raise errdefs.Internal(f"list processes of container {c.id}: {exc}") from exc
    return [int(p) for p in doc or []]


def _fields(line: str) -> list[str]:
    # Go's fieldsASCII: split on ASCII white space only (a command may hold others)
    return [f for f in re.split(r"[\t\n\f\r ]+", line) if f]


def parse_ps_output(output: str, pids: list[int]) -> tuple[list[str], list[list[str]]]:
    """``ps`` output → (titles, rows of the given pids). Fields past the last title are
    joined into it (the command and its arguments); thread lines (``-`` as PID) follow
    the process they belong to (moby parsePSOutput)."""
    lines = output.split("\n")
    titles = _fields(lines[0])
    if "PID" not in titles:
        raise errdefs.Internal("Couldn't find PID field in ps output")
    at = titles.index("PID")
    want = set(pids)
    rows: list[list[str]] = []
    kept_before = False
    for line in lines[1:]:
        if not line:
            continue
        fields = _fields(line)
        if len(fields) <= at:
            continue
        if fields[at] == "-":
            if kept_before:
                rows.append(_row(fields, len(titles)))
            continue
        try:
            pid = int(fields[at])
        except ValueError as exc:
            raise errdefs.Internal(f"Unexpected pid '{fields[at]}': {exc}") from exc
        kept_before = pid in want
        if kept_before:
            rows.append(_row(fields, len(titles)))
    return titles, rows


def _row(fields: list[str], n: int) -> list[str]:
    return [*fields[: n - 1], " ".join(fields[n - 1 :])]


def top(svc: ContainerService, ref: str, ps_args: str = "") -> tuple[list[str], list[list[str]]]:
    """``docker top``: (titles, processes) of a running container."""
    ps_args = ps_args or "-ef"
    _check_ps_args(ps_args)
    c = svc.get(ref)
    if not c.state.running:
        raise _not_running(c)
    if c.state.restarting:
        raise _restarting(c)
    pids = container_pids(svc, c)
    args = [a for a in ps_args.split(" ") if a]
    with_pids = [*args, "-q" + ",".join(str(p) for p in pids)] if pids else args
    out = subprocess.run(["ps", *with_pids], capture_output=True, text=True, check=False)
    if out.returncode != 0:
        # some ps options (f) cannot go with -q: all processes, filtered below
        out = subprocess.run(["ps", *args], capture_output=True, text=True, check=False)
        if out.returncode != 0:
            first = (out.stderr or "").split("\n", 1)[0] or f"exit status {out.returncode}"
            raise errdefs.Internal(f"ps: {first}")
    titles, rows = parse_ps_output(out.stdout, pids)
    svc._event(c, "top")
    return titles, rows


# -- update ---------------------------------------------------------------------------------------


def _conflict(message: str) -> errdefs.Conflict:
    return errdefs.Conflict(message)  # moby conflictingUpdateOptions


def _merge(cur: HostConfig, res: Resources, policy: RestartPolicy) -> None:
    """moby ``Container.UpdateContainer``: non-zero requested fields replace the
    container's; the checks keep NanoCPUs apart from CPU period/quota."""
    cr = cur.resources
    if res.nano_cpus > 0 and cr.cpu_period > 0:
        raise _conflict(
            "Conflicting options: Nano CPUs cannot be updated as CPU Period has already been set"
        )
    if res.nano_cpus > 0 and cr.cpu_quota > 0:
        raise _conflict(
            "Conflicting options: Nano CPUs cannot be updated as CPU Quota has already been set"
        )
    if res.cpu_period > 0 and cr.nano_cpus > 0:
        raise _conflict(
            "Conflicting options: CPU Period cannot be updated as NanoCPUs has already been set"
        )
    if res.cpu_quota > 0 and cr.nano_cpus > 0:
        raise _conflict(
            "Conflicting options: CPU Quota cannot be updated as NanoCPUs has already been set"
        )
    for name in (
        "blkio_weight", "cpu_shares", "nano_cpus", "cpu_period", "cpu_quota", "cpuset_cpus",
        "cpuset_mems", "memory_reservation", "kernel_memory", "cpu_realtime_period",
        "cpu_realtime_runtime",
    ):  # fmt: skip
        value = getattr(res, name)
        if value:
            setattr(cr, name, value)
    if res.memory:
        if res.memory > cr.memory_swap and res.memory_swap == 0:
            raise _conflict(
                "Memory limit should be smaller than already set memoryswap limit, update the "
                "memoryswap at the same time"
            )
        cr.memory = res.memory
    if res.memory_swap:
        cr.memory_swap = res.memory_swap
    if res.pids_limit is not None:
        cr.pids_limit = res.pids_limit
    if policy.name:
        if cur.auto_remove and policy.name != "no":
            raise _conflict(
                "Restart policy cannot be updated because AutoRemove is enabled for the container"
            )
        cur.restart_policy = copy.deepcopy(policy)


def _validate(res: Resources, policy: RestartPolicy, ncpu: int) -> list[str]:
    """moby verifyContainerSettings with update=true: create's checks on the request,
    except that memory-swap alone is allowed."""
    checked = copy.deepcopy(res)
    if checked.memory == 0 and checked.memory_swap > 0:
        checked.memory_swap = 0
    return validate.validate_create(
        ContainerConfig(), HostConfig(resources=checked, restart_policy=policy), ncpu
    )


def update(
    svc: ContainerService,
    ref: str,
    resources: Resources,
    restart_policy: RestartPolicy | None = None,
) -> list[str]:
    """``docker update``: Docker's warnings; the container's HostConfig keeps the merged
    values; a running container's cgroup gets the requested limits at once."""
    policy = restart_policy or RestartPolicy()
    res = copy.deepcopy(resources)
    if res.pids_limit is not None and res.pids_limit <= 0:
        res.pids_limit = 0  # 0 and -1 both mean "unlimited" in an update (moby router)
    warnings = _validate(res, policy, svc.cfg.ncpu)
    c = svc.get(ref)
    with svc.lock(c.id):
        if c.state.status == "removing" or c.state.dead:
            raise errdefs.Conflict(
                f'Cannot update container {c.id}: container is marked for removal and cannot be "update"'
            )
        backup = copy.deepcopy(c.host_config)
        try:
            _merge(c.host_config, res, policy)
        except errdefs.BerthError as exc:
            c.host_config = backup
            raise type(exc)(f"Cannot update container {c.id}: {exc.message}") from None
        svc.store.save(c)
        if c.state.running and not c.state.restarting:
            try:
                _apply_live(svc, c, res)
            except errdefs.BerthError:
                c.host_config = backup
                svc.store.save(c)
                raise
    svc._event(c, "update")
    return warnings


def _apply_live(svc: ContainerService, c: Container, res: Resources) -> None:
    try:
        doc = linux_resources(res, OsHostView())
    except errdefs.BerthError as exc:
        raise errdefs.InvalidArgument(f"Cannot update container {c.id}: {exc.message}") from exc
    if res.pids_limit is not None:
        doc["pids"] = {"limit": res.pids_limit if res.pids_limit > 0 else -1}
    if not doc:
        return
    fd, path = tempfile.mkstemp(prefix="update-", suffix=".json", dir=svc.bundle(c))
    try:
        with os.fdopen(fd, "w") as f:
            f.write(fastjson.dumps(doc))
        out = _runtime(svc, c, "update", "--resources", path, c.id)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(path)
    if out.returncode != 0:
        raise errdefs.Internal(f"Cannot update container {c.id}: {_runtime_error(out)}")


# -- stats ------------------------------------------------------------------------------------------


@dataclass
class StatsSample:
    """One reading of a container's usage.

    ``cgroup`` is runc's ``events --stats`` data (:func:`berth.cgroups.stats.collect`),
    None when the container is not running (Docker then reports zeros and no read
    time). ``system_usage`` is the host's CPU time in ns (all CPUs, /proc/stat) and
    ``machine_memory`` its RAM, which caps the memory limit reported."""

    name: str
    id: str
    read_ns: int = 0
    cgroup: dict[str, Any] | None = None
    cgroup_v2: bool = False
    system_usage: int = 0
    online_cpus: int = 0
    machine_memory: int = 0
    networks: dict[str, dict[str, int]] = field(default_factory=dict)


def system_cpu_usage(proc_stat: str = "/proc/stat") -> tuple[int, int]:
    """(host CPU time in ns, online CPUs): the ``cpu`` line's first seven fields (user
    nice system idle iowait irq softirq) in clock ticks, and the ``cpuN`` lines, as
    moby's stats collector reads them."""
    ticks = os.sysconf("SC_CLK_TCK") or 100
    total, online = 0, 0
    with open(proc_stat) as f:
        for line in f:
            parts = line.split()
            if not parts:
                continue
            if parts[0] == "cpu":
                if len(parts) < 8:
                    raise errdefs.Internal(f"{proc_stat}: invalid number of cpu fields")
                total = sum(int(v) for v in parts[1:8]) * _NS // ticks
            elif parts[0].startswith("cpu") and parts[0][3:].isdigit():
                online += 1
    return total, online


def _machine_memory(meminfo: str = "/proc/meminfo") -> int:
    with contextlib.suppress(OSError), open(meminfo) as f:
        for line in f:
            if line.startswith("MemTotal:"):
                parts = line.split()
                return int(parts[1]) * (1024 if len(parts) > 2 and parts[2].lower() == "kb" else 1)
    return 0


_NET_FIELDS = ("rx_bytes", "rx_packets", "rx_errors", "rx_dropped")
_NET_TX = ("tx_bytes", "tx_packets", "tx_errors", "tx_dropped")


def parse_net_dev(text: str) -> dict[str, dict[str, int]]:
    """``/proc/net/dev`` → per interface (``lo`` left out, as Docker lists only the
    container's endpoints) the eight counters of Docker's NetworkStats."""
    out: dict[str, dict[str, int]] = {}
    for line in text.splitlines()[2:]:
        name, sep, rest = line.partition(":")
        if not sep:
            continue
        name = name.strip()
        v = [int(x) for x in rest.split()]
        if name == "lo" or len(v) < 12:
            continue
        # receive: bytes packets errs drop fifo frame compressed multicast; transmit: …
        out[name] = {
            **dict(zip(_NET_FIELDS, v[0:4], strict=True)),
            **dict(zip(_NET_TX, v[8:12], strict=True)),
        }
    return out


def _networks(c: Container, proc: str) -> dict[str, dict[str, int]]:
    mode = c.host_config.network_mode
    if mode == "host" or mode.startswith("container:") or c.state.pid <= 0:
        return {}
    try:
        with open(os.path.join(proc, str(c.state.pid), "net", "dev")) as f:
            return parse_net_dev(f.read())
    except OSError:
        return {}


def stats_sample(
    svc: ContainerService,
    c: Container,
    setup: cgroups.Setup | None = None,
    proc: str = "/proc",
) -> StatsSample:
    """A reading of ``c`` now; a stopped (or restarting) container gives an empty one."""
    sample = StatsSample(name="/" + c.name, id=c.id)
    if not c.state.running or c.state.restarting:
        return sample
    setup = setup or cgroups.detect()
    read_ns = time.time_ns()
    try:
        usage = cgroups.Manager.load(setup, svc.cgroups_path(c)).stats()
    except errdefs.NotFound:
        return sample  # exited meanwhile
    sample.read_ns = read_ns
    sample.cgroup = usage
    sample.cgroup_v2 = setup.mode == "v2"
    sample.system_usage, sample.online_cpus = system_cpu_usage(os.path.join(proc, "stat"))
    sample.machine_memory = _machine_memory(os.path.join(proc, "meminfo"))
    sample.networks = _networks(c, proc)
    return sample
