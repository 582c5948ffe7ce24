"""Healthchecks: Docker's ``HEALTHCHECK`` / ``--health-cmd``, run as probes inside a
running container (moby daemon/health.go, Docker 25's semantics).

Vocabulary:

- **test** — ``["CMD", arg…]`` runs the args as they are, ``["CMD-SHELL", cmd]`` runs
  ``/bin/sh -c cmd``, ``["NONE"]`` (or no test) disables the check.
- **probe** — one run of the test, an exec in the container (a berth-shim in exec mode,
  as ``docker exec``), with the container's own process (env, user, cwd) and the test's
  args. Exit 0 is a success; anything else, a probe that cannot start, or one that
  outlives ``timeout`` (killed; ``Health check exceeded timeout (30s)``) is a failure.
- **interval** — time between the end of one probe and the start of the next (default
  30 s); during the **start period** (default 0) while the status is still ``starting``,
  the **start interval** (default 5 s) is used instead.
- **status** — ``starting`` until the first verdict; a success makes it ``healthy``; a
  failure adds to the **failing streak**, and ``retries`` (default 3) failures in a row
  make it ``unhealthy``. Failures during the start period, before any success, do not
  count. Each change publishes ``health_status: healthy`` / ``health_status: unhealthy``.
- **log** — the last 5 probe results (start, end, exit code, output cut to 4096 bytes).

berth's addition, after podman's ``--health-on-failure``: ``HostConfig.health_on_failure``
(``none``, ``kill``, ``restart``, ``stop``) acts when the status turns unhealthy.

One :class:`_Checker` thread per running container, started by the container service
when the container starts and told to stop when it exits; a stopped checker abandons (and
kills) the probe in flight and never touches the container again.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import os
import shutil
import socket
import struct
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from berth import errdefs
from berth.engine.containers.model import Container, Health, HealthConfig, HealthLog
from berth.gofmt import format_duration
from berth.logs.timefmt import format_nano, parse_time
from berth.oci import fastjson
from berth.shim.client import OCIRuntimeError, ShimClient, launch_exec

__all__ = [
    "DEFAULT_INTERVAL",
    "DEFAULT_RETRIES",
    "DEFAULT_START_INTERVAL",
    "DEFAULT_TIMEOUT",
    "MAX_LOG_ENTRIES",
    "MAX_OUTPUT",
    "ON_FAILURE_ACTIONS",
    "ExecProbe",
    "HealthMonitor",
    "ProbeResult",
    "ProbeRunner",
    "Schedule",
    "go_duration",
    "probe_argv",
    "record",
]

log = logging.getLogger("berthd.health")

DEFAULT_INTERVAL = 30.0
DEFAULT_TIMEOUT = 30.0
DEFAULT_START_PERIOD = 0.0
DEFAULT_START_INTERVAL = 5.0
DEFAULT_RETRIES = 3
MAX_LOG_ENTRIES = 5
MAX_OUTPUT = 4096
ON_FAILURE_ACTIONS = ("", "none", "kill", "restart", "stop")


@dataclass(frozen=True)
class ProbeResult:
    start_ns: int
    end_ns: int
    exit_code: int
    output: str


@dataclass(frozen=True)
class Schedule:
    """A healthcheck's timings in seconds, defaults applied."""

    interval: float = DEFAULT_INTERVAL
    timeout: float = DEFAULT_TIMEOUT
    start_period: float = DEFAULT_START_PERIOD
    start_interval: float = DEFAULT_START_INTERVAL
    retries: int = DEFAULT_RETRIES

    @classmethod
    def of(cls, hc: HealthConfig) -> Schedule:
        def sec(ns: int, default: float) -> float:
            return ns / 1e9 if ns > 0 else default

        return cls(
            interval=sec(hc.interval, DEFAULT_INTERVAL),
            timeout=sec(hc.timeout, DEFAULT_TIMEOUT),
            start_period=sec(hc.start_period, DEFAULT_START_PERIOD),
            start_interval=sec(hc.start_interval, DEFAULT_START_INTERVAL),
            retries=hc.retries if hc.retries > 0 else DEFAULT_RETRIES,
        )

    def next_wait(self, since_start: float, status: str) -> float:
        """Seconds until the next probe: the start interval while still ``starting``
        inside the start period, else the interval."""
        if since_start < self.start_period and status == "starting":
            return self.start_interval
        return self.interval


def probe_argv(test: Sequence[str]) -> list[str] | None:
    """The probe's argv for a healthcheck test, None when it is disabled."""
    if not test or test[0] == "NONE":
        return None
    kind, rest = test[0], list(test[1:])
    if kind == "CMD":
        return rest or None
    if kind == "CMD-SHELL":
        return ["/bin/sh", "-c", " ".join(rest)] if rest else None
    raise errdefs.InvalidArgument(f"unknown healthcheck type {kind!r} (expected CMD or CMD-SHELL)")


def go_duration(seconds: float) -> str:
    """Go's ``time.Duration.String`` for the timeout message: ``30s``, ``200ms``,
    ``1.5s``, ``1m0s``."""
    return format_duration(round(seconds * 1e9))


def record(
    health: Health, result: ProbeResult, schedule: Schedule, since_start: float
) -> str | None:
    """Apply one probe result to ``health`` (moby handleProbeResult); the new status when
    it changed, else None. ``since_start`` is the probe's start relative to the
    container's start, in seconds."""
    old = health.status
    entry = HealthLog(
        start=format_nano(result.start_ns),
        end=format_nano(result.end_ns),
        exit_code=result.exit_code,
        output=result.output,
    )
    health.log = [*health.log, entry][-MAX_LOG_ENTRIES:]
    if result.exit_code == 0:
        health.failing_streak = 0
        health.status = "healthy"
    elif not (health.status == "starting" and since_start < schedule.start_period):
        health.failing_streak += 1
        if health.failing_streak >= schedule.retries:
            health.status = "unhealthy"
    return health.status if health.status != old else None


class ProbeRunner(Protocol):
    """Runs one probe: ``argv`` in container ``c``, killed after ``timeout`` seconds;
    ``n`` numbers the probes of one checker; None when ``cancel`` was set meanwhile."""

    def __call__(
        self, c: Container, argv: Sequence[str], timeout: float, n: int, cancel: threading.Event
    ) -> ProbeResult | None: ...


class _Service(Protocol):
    """What the checker needs of :class:`berth.engine.containers.service.ContainerService`."""

    store: Any

    def lock(self, cid: str) -> threading.RLock: ...

    def _event(self, c: Container, action: str, **extra: str) -> None: ...

    def kill(self, ref: str, sig: str | int = "") -> Any: ...

    def stop(self, ref: str, timeout: int | None = None, sig: str = "") -> bool: ...

    def restart(self, ref: str, timeout: int | None = None, sig: str = "") -> None: ...


class _ExecHost(Protocol):
    """What :class:`ExecProbe` needs of the container service."""

    cfg: Any

    def bundle(self, c: Container) -> str: ...

    def runtime_binary(self, c: Container) -> str: ...

    def runtime_root(self, runtime: str) -> str: ...


class _Output:
    """Docker's limitedBuffer: the first 4096 bytes of stdout and stderr together, then
    ``...`` when more was dropped."""

    def __init__(self) -> None:
        self.buf = bytearray()
        self.truncated = False

    def write(self, data: bytes) -> None:
        keep = max(0, MAX_OUTPUT - len(self.buf))
        self.buf += data[:keep]
        if len(data) > keep:
            self.truncated = True

    def text(self) -> str:
        return self.buf.decode("utf-8", "replace") + ("..." if self.truncated else "")


class ExecProbe:
    """Runs probes as execs through berth-shim: ``<bundle>/config.json``'s process with
    the probe's args, state under ``<exec_root>/h/<id[:16]>-<n>`` (short: AF_UNIX paths)."""

    def __init__(self, host: _ExecHost, clock_ns: Callable[[], int] = time.time_ns) -> None:
        self.host = host
        self.clock_ns = clock_ns

    def __call__(
        self, c: Container, argv: Sequence[str], timeout: float, n: int, cancel: threading.Event
    ) -> ProbeResult | None:
        start = self.clock_ns()
        if c.state.paused:  # dockerd refuses the probe's exec likewise
            msg = f"Container {c.id} is paused, unpause the container before exec"
            return ProbeResult(start, self.clock_ns(), -1, msg)
        sd = os.path.join(self.host.cfg.exec_root, "h", f"{c.id[:16]}-{n}")
        shutil.rmtree(sd, ignore_errors=True)
        os.makedirs(sd, 0o700)
        shim = ShimClient(sd, timeout=10)
        launched = False
        try:
            try:
                launched = self._launch(c, argv, sd, n, timeout)
            except OCIRuntimeError as exc:
                return ProbeResult(
                    start,
                    self.clock_ns(),
                    -1,
                    f"OCI runtime exec failed: {exc.runtime_message}: unknown",
                )
            except (errdefs.BerthError, OSError, ValueError) as exc:
                msg = exc.message if isinstance(exc, errdefs.BerthError) else str(exc)
                return ProbeResult(start, self.clock_ns(), -1, msg)
            deadline = time.monotonic() + timeout
            out = _Output()
            finished = self._collect(shim, out, deadline, cancel)
            if cancel.is_set():
                return None
            if not finished:
                return ProbeResult(
                    start,
                    self.clock_ns(),
                    -1,
                    f"Health check exceeded timeout ({go_duration(timeout)})",
                )
            exit_ = shim.wait(timeout=max(0.1, deadline - time.monotonic()))
            return ProbeResult(start, self.clock_ns(), int(exit_.get("exit_code", -1)), out.text())
        except (errdefs.BerthError, OSError) as exc:
            if cancel.is_set():
                return None
            if isinstance(exc, TimeoutError | socket.timeout):
                return ProbeResult(
                    start,
                    self.clock_ns(),
                    -1,
                    f"Health check exceeded timeout ({go_duration(timeout)})",
                )
            msg = exc.message if isinstance(exc, errdefs.BerthError) else str(exc)
            return ProbeResult(start, self.clock_ns(), -1, msg)
        finally:
            if launched:
                with contextlib.suppress(errdefs.BerthError, OSError):
                    shim.delete(force=True)
            shutil.rmtree(sd, ignore_errors=True)

    def _launch(self, c: Container, argv: Sequence[str], sd: str, n: int, timeout: float) -> bool:
        with open(os.path.join(self.host.bundle(c), "config.json"), "rb") as f:
            spec: dict[str, Any] = fastjson.loads(f.read())
        process = copy.deepcopy(spec.get("process") or {})
        process["args"] = list(argv)
        process["terminal"] = False
        process.pop("consoleSize", None)
        path = os.path.join(sd, "process.json")
        with open(path, "w") as f:
            f.write(fastjson.dumps(process))
        runtime = c.runtime or self.host.cfg.default_runtime
        launch_exec(
            self.host.cfg.shim,
            exec_id=f"health-{c.id[:12]}-{n}",
            process=path,
            id=c.id,
            state_dir=sd,
            runtime=self.host.runtime_binary(c),
            runtime_root=self.host.runtime_root(runtime),
            timeout=max(30.0, timeout),
        )
        return True

    @staticmethod
    def _collect(shim: ShimClient, out: _Output, deadline: float, cancel: threading.Event) -> bool:
        """Read the probe's multiplexed output until the shim ends the stream (the
        process exited); False when the deadline came first (the probe is then killed)."""
        sock, _, buf = shim.attach(stdin=False)
        data = bytearray(buf)
        try:
            while True:
                while len(data) >= 8:
                    (size,) = struct.unpack(">I", data[4:8])
                    if len(data) < 8 + size:
                        break
                    out.write(bytes(data[8 : 8 + size]))
                    del data[: 8 + size]
                left = deadline - time.monotonic()
                if left <= 0 or cancel.is_set():
                    break
                sock.settimeout(min(left, 0.5))
                try:
                    chunk = sock.recv(65536)
                except TimeoutError:
                    continue
                if not chunk:
                    return True
                data += chunk
        finally:
            sock.close()
        with contextlib.suppress(errdefs.BerthError, OSError):
            shim.kill(9)
        return False


class _Checker:
    def __init__(self, monitor: HealthMonitor, c: Container, argv: list[str]) -> None:
        self.monitor = monitor
        self.c = c
        self.argv = argv
        self.schedule = Schedule.of(c.config.healthcheck or HealthConfig())
        self.stop = threading.Event()
        try:
            self.started = parse_time(c.state.started_at) / 1e9
        except ValueError:
            self.started = monitor.clock()
        self.thread = threading.Thread(target=self._run, name=f"health-{c.id[:12]}", daemon=True)

    def _status(self) -> str:
        h = self.c.state.health
        return h.status if h is not None else "starting"

    def _run(self) -> None:
        m, c, n = self.monitor, self.c, 0
        while not self.stop.wait(self.schedule.next_wait(m.clock() - self.started, self._status())):
            n += 1
            result = m.runner(c, self.argv, self.schedule.timeout, n, self.stop)
            if result is None:
                break
            with m.service.lock(c.id):
                if self.stop.is_set() or c.state.health is None:
                    break
                changed = record(
                    c.state.health, result, self.schedule, result.start_ns / 1e9 - self.started
                )
                m.service.store.save(c)
            if changed is not None:
                m.service._event(c, f"health_status: {changed}")
                if changed == "unhealthy":
                    self._on_failure()

    def _on_failure(self) -> None:
        action = self.c.host_config.health_on_failure
        svc = self.monitor.service
        try:
            if action == "kill":
                svc.kill(self.c.id, "SIGKILL")
            elif action == "stop":
                svc.stop(self.c.id)
            elif action == "restart":
                svc.restart(self.c.id)
        except errdefs.BerthError as exc:
            log.warning("health-on-failure %s of %s: %s", action, self.c.id[:12], exc.message)


class HealthMonitor:
    """The running healthcheckers, one per container (keyed by id)."""

    def __init__(
        self,
        service: _Service,
        runner: ProbeRunner,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.service = service
        self.runner = runner
        self.clock = clock
        self._lock = threading.Lock()
        self._checkers: dict[str, _Checker] = {}

    def start(self, c: Container) -> None:
        """Start checking ``c`` (just started or restored) if it has a healthcheck; a
        checker left from an earlier run is stopped first."""
        self._drop(c.id)
        hc = c.config.healthcheck
        if hc is None or c.state.health is None:
            return
        try:
            argv = probe_argv(hc.test)
        except errdefs.InvalidArgument as exc:
            log.warning("healthcheck of %s: %s", c.id[:12], exc.message)
            return
        if argv is None:
            return
        if c.host_config.health_on_failure not in ON_FAILURE_ACTIONS:
            log.warning(
                "health-on-failure of %s: unknown action %r",
                c.id[:12],
                c.host_config.health_on_failure,
            )
        checker = _Checker(self, c, argv)
        with self._lock:
            self._checkers[c.id] = checker
        checker.thread.start()

    def stop(self, c: Container) -> None:
        """Stop checking ``c`` (it exited); never waits (it is called under the
        container's lock, which the checker takes): the checker's probe is killed and its
        thread ends. As in moby (CloseMonitorChannel), the status of a container whose
        checker stopped is ``unhealthy``."""
        if self._drop(c.id) and c.state.health is not None:
            c.state.health.status = "unhealthy"

    def _drop(self, cid: str) -> bool:
        with self._lock:
            checker = self._checkers.pop(cid, None)
        if checker is None:
            return False
        checker.stop.set()
        return True

    def running(self) -> Mapping[str, threading.Thread]:
        with self._lock:
            return {cid: ch.thread for cid, ch in self._checkers.items()}

    def close(self, wait: float = 0.0) -> None:
        """Stop every checker (daemon shutdown), waiting up to ``wait`` seconds in all."""
        with self._lock:
            checkers, self._checkers = list(self._checkers.values()), {}
        for ch in checkers:
            ch.stop.set()
        deadline = time.monotonic() + wait
        for ch in checkers:
            left = deadline - time.monotonic()
            if left > 0 and ch.thread.is_alive():
                ch.thread.join(left)
