"""StaleFlows (a released address's conntrack entries, forgotten in the background) and the
firewall's ``then``: the forgetting runs only after a sync that no longer DNATs to it."""

from __future__ import annotations

import threading
import time

import pytest

from berth import errdefs
from berth.engine.networks.firewall import Firewall
from berth.engine.networks.flows import StaleFlows


def test_settle_waits_for_the_forgetting_of_that_address_only() -> None:
    started, release = threading.Event(), threading.Event()
    forgotten: list[list[str]] = []

    def forget(addrs: list[str]) -> int:
        started.set()
        release.wait(5)
        forgotten.append(addrs)
        return 3

    flows = StaleFlows(forget=forget)
    flows.soon(flows.job(["10.213.0.2", "", "fd00::2"]))
    assert started.wait(5)
    assert not flows.settle("10.213.0.2", timeout=0) and not flows.settle("fd00::2", timeout=0)
    assert flows.settle("10.213.0.3", timeout=0.01)  # not being forgotten: no wait
    assert not flows.settle("10.213.0.2", timeout=0.05)
    release.set()
    assert flows.settle("10.213.0.2", timeout=5)
    assert forgotten == [["10.213.0.2", "fd00::2"]]
    assert flows.settle("fd00::2", timeout=0) and flows.drain(timeout=0.01)


def test_a_failed_forgetting_is_logged_and_settles(caplog: pytest.LogCaptureFixture) -> None:
    def forget(addrs: list[str]) -> int:
        raise errdefs.Internal("netlink said no")

    flows = StaleFlows(forget=forget)
    flows.job(["10.213.0.9"])()
    assert flows.settle("10.213.0.9", timeout=0)
    assert "conntrack entries of 10.213.0.9 stay: netlink said no" in caplog.text


def test_the_same_address_twice_stays_pending_until_both_are_done() -> None:
    flows = StaleFlows(forget=lambda addrs: 0)
    first, second = flows.job(["10.0.0.2"]), flows.job(["10.0.0.2"])
    first()
    assert not flows.settle("10.0.0.2", timeout=0)
    second()
    assert flows.settle("10.0.0.2", timeout=0)


def test_ports_soon_forgets_each_port_once(caplog: pytest.LogCaptureFixture) -> None:
    got: list[tuple[int, list[int]]] = []
    done = threading.Event()

    def forget_ports(proto: int, ports: list[int]) -> int:
        got.append((proto, ports))
        done.set()
        return 0

    flows = StaleFlows(forget=lambda a: 0, forget_ports=forget_ports)
    flows.ports_soon(17, [])
    flows.ports_soon(17, [5353, 53, 5353])
    assert done.wait(5)
    assert got == [(17, [53, 5353])]


def test_then_runs_after_a_sync_that_read_the_records_as_they_were(monkeypatch: pytest.MonkeyPatch) -> None:
    fw = Firewall("berth_unit", "accept")
    order: list[str] = []
    records = {"ports": "old"}
    in_sync = threading.Event()
    go_on = threading.Event()

    def sync(inputs: object) -> None:
        order.append(f"sync saw {records['ports']}")
        in_sync.set()
        go_on.wait(5)

    monkeypatch.setattr(fw, "sync", sync)
    fw.sync_soon(lambda: ((), ()))  # a sync already running with the old records
    assert in_sync.wait(5)
    records["ports"] = "new"  # a container left: its ports are gone from the records
    done = threading.Event()
    fw.sync_soon(lambda: ((), ()), then=lambda: (order.append("forget"), done.set()))
    time.sleep(0.05)
    assert "forget" not in order  # not after the sync that still DNATs to it
    go_on.set()
    assert done.wait(5)
    assert order == ["sync saw old", "sync saw new", "forget"]


def test_then_runs_even_when_the_sync_fails(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    fw = Firewall("berth_unit", "accept")

    def sync(inputs: object) -> None:
        raise errdefs.Internal("nft is gone")

    monkeypatch.setattr(fw, "sync", sync)
    done = threading.Event()
    fw.sync_soon(lambda: ((), ()), then=done.set)
    assert done.wait(5)
    assert "firewall: nft is gone" in caplog.text


def test_a_failing_task_after_the_sync_does_not_stop_the_next(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    fw = Firewall("berth_unit", "accept")
    gate, entered = threading.Event(), threading.Event()

    def sync(inputs: object) -> None:
        entered.set()
        gate.wait(5)

    monkeypatch.setattr(fw, "sync", sync)
    done = threading.Event()

    def boom() -> None:
        raise ValueError("bad")

    fw.sync_soon(lambda: ((), ()))
    assert entered.wait(5)  # running, held at the gate
    fw.sync_soon(lambda: ((), ()), then=boom)  # the next sync waits; both tasks go with it
    fw.sync_soon(lambda: ((), ()), then=done.set)
    gate.set()
    assert done.wait(5)
    assert "a task after the sync failed" in caplog.text
