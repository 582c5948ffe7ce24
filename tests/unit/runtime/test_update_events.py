"""update's flag parsing and merge rules, events' duration parsing and runc shape."""

from __future__ import annotations

import pytest

from berth.errdefs import InvalidArgument
from berth.runtime.events import parse_duration, runc_stats
from berth.runtime.update import from_flags, merge, parse_bytes


@pytest.mark.parametrize(
    ("text", "want"),
    [("1048576", 1 << 20), ("512k", 512 << 10), ("32m", 32 << 20), ("32M", 32 << 20), ("1.5g", 3 << 29),
     ("64MiB", 64 << 20), ("64mb", 64 << 20), ("10b", 10), ("2 g", 2 << 30), ("-1", -1)],
)  # fmt: skip
def test_parse_bytes_reads_go_units_sizes(text, want):
    assert parse_bytes(text, "memory") == want


@pytest.mark.parametrize("text", ["lots", "", "m", "12q", "1.2.3m", "--5"])
def test_parse_bytes_refuses_what_is_not_a_size(text):
    with pytest.raises(InvalidArgument, match="--memory"):
        parse_bytes(text, "memory")


def test_from_flags_builds_partial_resources():
    opts = {"memory": "32m", "memory_swap": "-1", "cpu_quota": "-1", "cpu_share": "512", "cpuset_cpus": "0-1",
            "pids_limit": 30, "blkio_weight": 0, "cpu_period": ""}  # fmt: skip
    assert from_flags(opts) == {
        "memory": {"limit": 32 << 20, "swap": -1},
        "cpu": {"quota": -1, "shares": 512, "cpus": "0-1"},
        "pids": {"limit": 30},
    }
    with pytest.raises(InvalidArgument, match="--cpu-quota"):
        from_flags({"cpu_quota": "half"})
    with pytest.raises(InvalidArgument, match="--cpu-period"):
        from_flags({"cpu_period": "-5"})


def test_merge_keeps_what_is_not_named_and_ignores_zero():
    current = {"memory": {"limit": 64, "swap": 128}, "cpu": {"quota": 100000, "period": 100000},
               "devices": [{"allow": False, "access": "rwm"}]}  # fmt: skip
    merged, warnings = merge(current, {"cpu": {"quota": 50000, "period": 0, "cpus": ""}, "pids": {"limit": 0}})
    assert merged["cpu"] == {"quota": 50000, "period": 100000}
    assert merged["memory"] == {"limit": 64, "swap": 128}
    assert merged["devices"] == current["devices"] and merged["pids"] == {}
    assert warnings == []
    assert current["cpu"]["quota"] == 100000  # not modified


def test_merge_unlimited_memory_makes_swap_unlimited():
    merged, _ = merge({"memory": {"limit": 64, "swap": 128}}, {"memory": {"limit": -1}})
    assert merged["memory"] == {"limit": -1, "swap": -1}


def test_merge_warns_about_what_update_ignores_and_refuses_unknown():
    _, warnings = merge({}, {"hugepageLimits": [{"pageSize": "2MB", "limit": 1}], "memory": {"kernel": 5}})
    assert any("hugepageLimits" in w for w in warnings) and any("memory.kernel" in w for w in warnings)
    with pytest.raises(InvalidArgument, match=r"linux\.resources\.gpu: unknown resource"):
        merge({}, {"gpu": {}})
    with pytest.raises(InvalidArgument, match=r"linux\.resources\.memory"):
        merge({}, {"memory": 5})


@pytest.mark.parametrize(("text", "want"), [("5s", 5.0), ("100ms", 0.1), ("1m30s", 90.0), ("1.5h", 5400.0), ("250us", 0.00025)])
def test_parse_duration(text, want):
    assert parse_duration(text) == pytest.approx(want)


@pytest.mark.parametrize("text", ["0", "0s", "5", "soon", "-1s", "1x", ""])
def test_parse_duration_refuses(text):
    with pytest.raises(InvalidArgument):
        parse_duration(text)


def test_runc_stats_omits_what_go_omits():
    zero = {"limit": 0, "usage": 0, "max": 0, "failcnt": 0}
    s = {
        "cpu": {"usage": {"total": 0, "percpu": [], "percpu_kernel": [], "percpu_user": [], "kernel": 0, "user": 0},
                "throttling": {"periods": 0, "throttledPeriods": 0, "throttledTime": 0}},
        "cpuset": {"cpus": [0, 1], "mems": []},
        "memory": {"cache": 0, "usage": {**zero, "limit": 5}, "swap": zero, "kernel": zero, "kernelTCP": zero, "raw": {"b": 1, "a": 2}},
        "pids": {"current": 1, "limit": 0},
        "blkio": {"ioServicedRecursive": [{"major": 8, "minor": 0, "op": "Read", "value": 0}], "ioTimeRecursive": []},
        "hugetlb": {"2MB": {"usage": 0, "max": 0, "failcnt": 0}},
    }  # fmt: skip
    out = runc_stats(s)
    assert out["cpu"] == {"usage": {"kernel": 0, "user": 0}, "throttling": {}}
    assert list(out["cpuset"])[:3] == ["cpus", "cpu_exclusive", "mem_hardwall"] and "mems" not in out["cpuset"]
    assert out["memory"]["usage"] == {"limit": 5, "failcnt": 0} and "cache" not in out["memory"]
    assert list(out["memory"]["raw"]) == ["a", "b"]
    assert out["pids"] == {"current": 1}
    assert out["blkio"] == {"ioServicedRecursive": [{"major": 8, "op": "Read"}]}
    assert out["hugetlb"] == {"2MB": {"failcnt": 0}}
    assert out["intel_rdt"] == {} and out["network_interfaces"] is None
