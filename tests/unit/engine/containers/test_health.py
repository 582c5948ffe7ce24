"""The healthcheck state machine (moby handleProbeResult), its schedule, and the checker
thread driven by a fake probe runner."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

import pytest

from berth import errdefs
from berth.engine.containers.health import (
    HealthMonitor,
    ProbeResult,
    Schedule,
    go_duration,
    probe_argv,
    record,
)
from berth.engine.containers.model import (
    Container,
    ContainerConfig,
    Health,
    HealthConfig,
    HostConfig,
    State,
)
from berth.logs.timefmt import format_nano

S = 1_000_000_000


def _result(code: int, at: float = 100.0, output: str = "") -> ProbeResult:
    return ProbeResult(int(at * S), int(at * S) + 1000, code, output)


# -- probe argv, durations -------------------------------------------------------------------


def test_probe_argv_cmd_shell_and_disabled() -> None:
    assert probe_argv(["CMD", "curl", "-f", "x"]) == ["curl", "-f", "x"]
    assert probe_argv(["CMD-SHELL", "test -f /tmp/ok"]) == ["/bin/sh", "-c", "test -f /tmp/ok"]
    assert probe_argv(["NONE"]) is None
    assert probe_argv([]) is None
    with pytest.raises(errdefs.InvalidArgument):
        probe_argv(["SHELL", "x"])


def test_go_duration_matches_go_formatting() -> None:
    assert go_duration(30) == "30s"
    assert go_duration(0.2) == "200ms"
    assert go_duration(1.5) == "1.5s"
    assert go_duration(60) == "1m0s"
    assert go_duration(90.5) == "1m30.5s"
    assert go_duration(3600) == "1h0m0s"


def test_schedule_defaults_and_ns_conversion() -> None:
    assert Schedule.of(HealthConfig(test=["CMD", "x"])) == Schedule(30.0, 30.0, 0.0, 5.0, 3)
    s = Schedule.of(
        HealthConfig(
            interval=200_000_000, timeout=S, start_period=10 * S, start_interval=S, retries=2
        )
    )
    assert (s.interval, s.timeout, s.start_period, s.start_interval, s.retries) == (
        0.2,
        1.0,
        10.0,
        1.0,
        2,
    )


def test_start_interval_only_while_starting_inside_start_period() -> None:
    s = Schedule(interval=30, start_period=60, start_interval=5)
    assert s.next_wait(10, "starting") == 5
    assert s.next_wait(10, "healthy") == 30
    assert s.next_wait(61, "starting") == 30


# -- the state machine ------------------------------------------------------------------------


def test_success_makes_healthy_and_resets_streak() -> None:
    h = Health(failing_streak=2)
    assert record(h, _result(0), Schedule(), 1.0) == "healthy"
    assert (h.status, h.failing_streak) == ("healthy", 0)
    assert record(h, _result(0), Schedule(), 2.0) is None  # no change, no event


def test_failures_turn_unhealthy_after_retries() -> None:
    h = Health(status="healthy")
    sched = Schedule(retries=2)
    assert record(h, _result(1), sched, 50) is None
    assert (h.status, h.failing_streak) == ("healthy", 1)
    assert record(h, _result(1), sched, 51) == "unhealthy"
    assert h.failing_streak == 2
    assert record(h, _result(0), sched, 52) == "healthy"


def test_failures_in_start_period_do_not_count_but_success_counts() -> None:
    h = Health()
    sched = Schedule(retries=1, start_period=10)
    assert record(h, _result(1), sched, 3) is None
    assert (h.status, h.failing_streak) == ("starting", 0)
    assert record(h, _result(0), sched, 4) == "healthy"
    # once healthy, a failure inside the start period counts
    assert record(h, _result(1), sched, 5) == "unhealthy"


def test_failure_after_start_period_counts_while_starting() -> None:
    h = Health()
    assert record(h, _result(1), Schedule(retries=1, start_period=10), 11) == "unhealthy"


def test_log_keeps_last_five_with_times() -> None:
    h = Health()
    for i in range(7):
        record(h, ProbeResult(i * S, i * S + 5, i, f"out{i}"), Schedule(retries=100), 100)
    assert [e.exit_code for e in h.log] == [2, 3, 4, 5, 6]
    assert h.log[0].start == format_nano(2 * S)
    assert h.log[0].end == format_nano(2 * S + 5)
    assert h.log[-1].output == "out6"


# -- the checker thread -----------------------------------------------------------------------


class FakeService:
    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []
        self.saved = 0
        self.actions: list[str] = []
        self._lock = threading.RLock()
        self.store = self

    def save(self, c: Container) -> None:
        self.saved += 1

    def lock(self, cid: str) -> threading.RLock:
        return self._lock

    def _event(self, c: Container, action: str, **extra: str) -> None:
        self.events.append((c.id, action))

    def kill(self, ref: str, sig: str | int = "") -> None:
        self.actions.append(f"kill {sig}")

    def stop(self, ref: str, timeout: int | None = None, sig: str = "") -> bool:
        self.actions.append("stop")
        return True

    def restart(self, ref: str, timeout: int | None = None, sig: str = "") -> None:
        self.actions.append("restart")


class FakeProbe:
    """Answers with the exit codes queued in ``codes`` (then repeats the last)."""

    def __init__(self, codes: Sequence[int]) -> None:
        self.codes = list(codes)
        self.calls: list[tuple[list[str], float, int]] = []

    def __call__(
        self, c: Container, argv: Sequence[str], timeout: float, n: int, cancel: threading.Event
    ) -> ProbeResult | None:
        self.calls.append((list(argv), timeout, n))
        code = self.codes.pop(0) if len(self.codes) > 1 else self.codes[0]
        now = time.time_ns()
        return ProbeResult(now, now, code, f"probe {n}")


def _container(on_failure: str = "", retries: int = 2, test: list[str] | None = None) -> Container:
    hc = HealthConfig(
        test=test or ["CMD-SHELL", "true"], interval=10_000_000, timeout=S, retries=retries
    )
    return Container(
        id="c" * 64,
        name="h",
        created="",
        path="sh",
        args=[],
        config=ContainerConfig(image="busybox", healthcheck=hc),
        host_config=HostConfig(health_on_failure=on_failure),
        image="sha256:x",
        state=State(
            status="running", running=True, started_at=format_nano(time.time_ns()), health=Health()
        ),
    )


def _wait_for(cond, timeout: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


def test_checker_goes_healthy_then_unhealthy_and_publishes_docker_actions() -> None:
    svc = FakeService()
    probe = FakeProbe([0, 0, 1, 1, 1])
    mon = HealthMonitor(svc, probe)
    c = _container()
    mon.start(c)
    try:
        _wait_for(lambda: c.state.health is not None and c.state.health.status == "unhealthy")
    finally:
        mon.stop(c)
    assert [a for _, a in svc.events][:2] == ["health_status: healthy", "health_status: unhealthy"]
    assert probe.calls[0] == (["/bin/sh", "-c", "true"], 1.0, 1)
    assert svc.saved >= 4
    assert c.state.health is not None and len(c.state.health.log) <= 5


def test_checker_stops_and_its_thread_ends() -> None:
    svc = FakeService()
    mon = HealthMonitor(svc, FakeProbe([0]))
    c = _container()
    mon.start(c)
    thread = mon.running()[c.id]
    _wait_for(lambda: bool(svc.events))
    mon.stop(c)
    thread.join(2)
    assert not thread.is_alive()
    assert mon.running() == {}
    assert (
        c.state.health is not None and c.state.health.status == "unhealthy"
    )  # moby's CloseMonitorChannel
    count = len(c.state.health.log) if c.state.health else 0
    time.sleep(0.05)
    assert (len(c.state.health.log) if c.state.health else 0) == count


@pytest.mark.parametrize(
    ("action", "expected"), [("kill", "kill SIGKILL"), ("stop", "stop"), ("restart", "restart")]
)
def test_health_on_failure_acts_when_unhealthy(action: str, expected: str) -> None:
    svc = FakeService()
    mon = HealthMonitor(svc, FakeProbe([1]))
    c = _container(on_failure=action, retries=1)
    mon.start(c)
    try:
        _wait_for(lambda: bool(svc.actions))
    finally:
        mon.stop(c)
    assert svc.actions[0] == expected


def test_no_action_by_default_and_disabled_check_starts_nothing() -> None:
    svc = FakeService()
    mon = HealthMonitor(svc, FakeProbe([1]))
    c = _container(retries=1)
    mon.start(c)
    try:
        _wait_for(lambda: bool(svc.events))
        time.sleep(0.05)
    finally:
        mon.stop(c)
    assert svc.actions == []
    off = _container(test=["NONE"])
    mon.start(off)
    assert mon.running() == {}


def test_restarting_a_checker_replaces_the_old_one() -> None:
    svc = FakeService()
    mon = HealthMonitor(svc, FakeProbe([0]))
    c = _container()
    mon.start(c)
    first = mon.running()[c.id]
    c.state.health = Health()  # a new run's
    mon.start(c)
    assert c.state.health.status == "starting"
    second = mon.running()[c.id]
    assert first is not second
    first.join(2)
    assert not first.is_alive()
    mon.close(wait=2)
    assert not second.is_alive()
