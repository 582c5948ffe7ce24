"""Restart decisions, Docker's back-off, and how failed starts are reported."""

from __future__ import annotations

import pytest

from berth import errdefs
from berth.engine.containers.model import Container, ContainerConfig, HostConfig, RestartPolicy
from berth.engine.containers.policy import (
    next_backoff,
    should_restart,
    start_error,
    start_exit_code,
)
from berth.shim.client import OCIRuntimeError


def _c(name: str = "", count: int = 0, **kw: object) -> Container:
    hc = HostConfig(restart_policy=RestartPolicy(name, count), **kw)  # type: ignore[arg-type]
    return Container(id="a" * 64, name="n", created="", path="true", args=[], config=ContainerConfig(), host_config=hc, image="")


@pytest.mark.parametrize(
    ("policy", "count", "code", "restarts", "want"),
    [("", 0, 1, 0, False), ("no", 0, 1, 0, False), ("always", 0, 0, 9, True), ("unless-stopped", 0, 0, 0, True),
     ("on-failure", 0, 0, 0, False), ("on-failure", 0, 3, 50, True), ("on-failure", 2, 1, 1, True),
     ("on-failure", 2, 1, 2, False)],
)  # fmt: skip
def test_policies(policy: str, count: int, code: int, restarts: int, want: bool) -> None:
    c = _c(policy, count)
    c.restart_count = restarts
    assert should_restart(c, code) is want


def test_never_after_a_manual_stop_for_rm_or_at_shutdown() -> None:
    c = _c("always")
    assert should_restart(c, 1, closing=True) is False
    c.manually_stopped = True
    assert should_restart(c, 1) is False
    assert should_restart(_c("always", auto_remove=True), 1) is False


def test_backoff_doubles_to_a_minute_and_resets_after_ten_seconds_up() -> None:
    d = 0.0
    seen = []
    for _ in range(12):
        d = next_backoff(d, ran_for=0.5)
        seen.append(d)
    assert seen[:4] == [0.1, 0.2, 0.4, 0.8] and seen[-1] == 60.0
    assert next_backoff(60.0, ran_for=10.0) == 0.1


def test_start_errors_in_dockers_words() -> None:
    said = 'exec: "nope": executable file not found in $PATH'
    err = start_error("c1", OCIRuntimeError("start shim for 'c1': runtime refused", said))
    assert isinstance(err, errdefs.InvalidArgument)
    assert err.message == (
        "failed to create task for container: failed to create shim task: OCI runtime create failed: "
        f"unable to start container process: {said}: unknown"
    )
    assert start_exit_code(err.message) == 127
    assert start_exit_code('exec: "/etc": permission denied') == 126
    other = start_error("c1", errdefs.Internal("start shim for 'c1': cgroup write failed"))
    assert isinstance(other, errdefs.Internal) and "OCI runtime create failed: cgroup write failed" in other.message
    assert start_exit_code(other.message) == 128
    conflict = errdefs.Conflict("cannot join network of a non running container: x")
    assert start_error("c1", conflict) is conflict
