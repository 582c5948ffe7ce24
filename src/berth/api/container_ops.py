"""Routes for pause, unpause, top, update and stats (Engine API 1.41; traces
``pause.txt``, ``unpause.txt``, ``top.txt``, ``stats_no_stream.txt``).

Stats on the wire are Docker's ``types.StatsJSON`` as Go encodes it: the ``omitempty``
fields (``pids_stats`` members, ``percpu_usage``, ``system_cpu_usage``,
``online_cpus``, every ``memory_stats`` member, ``networks``) are left out when zero,
the rest are always there. ``stream=1`` (the default) sends one object per second, each
with the previous reading as ``precpu_stats``/``preread``; ``stream=0`` reads twice a
second apart and answers the second (so a client can compute a CPU percentage), or
once with ``one-shot=1``. A container that is not running reads as zeros with zero
times, as dockerd's.
"""

from __future__ import annotations

import asyncio
from typing import Any

from berth import errdefs
from berth.api.container_wire import pascal
from berth.api.request import Request
from berth.api.response import (
    Reply,
    StreamResponse,
    StreamWriter,
    empty,
    encode_json,
    json_response,
)
from berth.api.router import Router
from berth.engine.containers import ops
from berth.engine.containers.codec import decode
from berth.engine.containers.model import Resources, RestartPolicy
from berth.engine.containers.service import ContainerService
from berth.logs.timefmt import format_nano

__all__ = ["register", "stats_wire"]

_ZERO_TIME = "0001-01-01T00:00:00Z"
_INTERVAL = 1.0  # s, dockerd's stats collector period

# memory_stats.stats keys dockerd reports on cgroup v1 (daemon_unix.go statsV1) and v2
_V1_MEMORY_KEYS = (
    "cache", "rss", "rss_huge", "mapped_file", "dirty", "writeback", "pgpgin", "pgpgout",
    "pgfault", "pgmajfault", "inactive_anon", "active_anon", "inactive_file", "active_file",
    "unevictable",
)  # fmt: skip
_V1_HIERARCHICAL = ("hierarchical_memory_limit", "hierarchical_memsw_limit")
_V2_MEMORY_KEYS = (
    "anon", "file", "kernel_stack", "slab", "sock", "shmem", "file_mapped", "file_dirty",
    "file_writeback", "anon_thp", "inactive_anon", "active_anon", "inactive_file",
    "active_file", "unevictable", "slab_reclaimable", "slab_unreclaimable", "pgfault",
    "pgmajfault", "workingset_refault", "workingset_activate", "workingset_nodereclaim",
    "pgrefill", "pgscan", "pgsteal", "pgactivate", "pgdeactivate", "pglazyfree",
    "pglazyfreed", "thp_fault_alloc", "thp_collapse_alloc",
)  # fmt: skip
_V1_BLKIO = (
    ("io_service_bytes_recursive", "ioServiceBytesRecursive"),
    ("io_serviced_recursive", "ioServicedRecursive"),
    ("io_queue_recursive", "ioQueueRecursive"),
    ("io_service_time_recursive", "ioServiceTimeRecursive"),
    ("io_wait_time_recursive", "ioWaitTimeRecursive"),
    ("io_merged_recursive", "ioMergedRecursive"),
    ("io_time_recursive", "ioTimeRecursive"),
    ("sectors_recursive", "sectorsRecursive"),
)


def _cpu_wire(sample: ops.StatsSample | None) -> dict[str, Any]:
    usage: dict[str, Any] = {"total_usage": 0, "usage_in_kernelmode": 0, "usage_in_usermode": 0}
    throttling = {"periods": 0, "throttled_periods": 0, "throttled_time": 0}
    out: dict[str, Any] = {"cpu_usage": usage}
    if sample is not None and sample.cgroup is not None:
        cpu = sample.cgroup["cpu"]
        u, t = cpu["usage"], cpu["throttling"]
        usage["total_usage"] = u["total"]
        if u["percpu"]:
            usage["percpu_usage"] = list(u["percpu"])
        usage["usage_in_kernelmode"] = u["kernel"]
        usage["usage_in_usermode"] = u["user"]
        usage = {
            k: usage[k]
            for k in ("total_usage", "percpu_usage", "usage_in_kernelmode", "usage_in_usermode")
            if k in usage
        }
        out["cpu_usage"] = usage
        if sample.system_usage:
            out["system_cpu_usage"] = sample.system_usage
        if sample.online_cpus:
            out["online_cpus"] = sample.online_cpus
        throttling = {
            "periods": t["periods"],
            "throttled_periods": t["throttledPeriods"],
            "throttled_time": t["throttledTime"],
        }
    out["throttling_data"] = throttling
    return out


def _memory_wire(s: ops.StatsSample, mem: dict[str, Any]) -> dict[str, Any]:
    raw = mem.get("raw") or {}
    usage = mem["usage"]
    if s.cgroup_v2:
        stats = dict(sorted((k, int(raw.get(k, 0))) for k in _V2_MEMORY_KEYS))
        fields = {
            "usage": usage["usage"],
            "stats": stats,
            "failcnt": usage["failcnt"],
            "limit": usage["limit"],
        }
    else:
        stats = {k: int(raw.get(k, 0)) for k in _V1_MEMORY_KEYS}
        stats.update({k: int(raw.get(k, 0)) for k in _V1_HIERARCHICAL})
        stats.update({f"total_{k}": int(raw.get(f"total_{k}", 0)) for k in _V1_MEMORY_KEYS})
        stats = dict(sorted(stats.items()))
        fields = {
            "usage": usage["usage"],
            "max_usage": usage["max"],
            "stats": stats,
            "failcnt": usage["failcnt"],
            "limit": usage["limit"],
        }
    if s.machine_memory and fields["limit"] > s.machine_memory:
        fields["limit"] = s.machine_memory  # no limit set: the machine's memory
    return {k: v for k, v in fields.items() if v}


def _blkio_wire(s: ops.StatsSample, blkio: dict[str, Any]) -> dict[str, Any]:
    def entries(key: str) -> list[dict[str, Any]]:
        return [
            {"major": e["major"], "minor": e["minor"], "op": e["op"], "value": e["value"]}
            for e in blkio.get(key) or []
        ]

    if s.cgroup_v2:
        out: dict[str, Any] = {wire: None for wire, _ in _V1_BLKIO}
        out["io_service_bytes_recursive"] = entries("ioServiceBytesRecursive") or None
        return out
    return {wire: entries(key) for wire, key in _V1_BLKIO}


def stats_wire(cur: ops.StatsSample, pre: ops.StatsSample | None) -> dict[str, Any]:
    """Docker's StatsJSON of reading ``cur`` with ``pre`` as the previous one."""
    running = cur.cgroup is not None
    doc: dict[str, Any] = {
        "read": format_nano(cur.read_ns) if cur.read_ns else _ZERO_TIME,
        "preread": format_nano(pre.read_ns) if pre is not None and pre.read_ns else _ZERO_TIME,
    }
    if cur.cgroup is not None:
        pids = cur.cgroup["pids"]
        doc["pids_stats"] = {
            k: v for k, v in (("current", pids["current"]), ("limit", pids["limit"])) if v
        }
        doc["blkio_stats"] = _blkio_wire(cur, cur.cgroup["blkio"])
    else:
        doc["pids_stats"] = {}
        doc["blkio_stats"] = {wire: None for wire, _ in _V1_BLKIO}
    doc["num_procs"] = 0
    doc["storage_stats"] = {}
    doc["cpu_stats"] = _cpu_wire(cur)
    doc["precpu_stats"] = _cpu_wire(pre)
    doc["memory_stats"] = _memory_wire(cur, cur.cgroup["memory"]) if cur.cgroup is not None else {}
    doc["name"] = cur.name
    doc["id"] = cur.id
    if running and cur.networks:
        doc["networks"] = cur.networks
    return doc


def _update_request(body: Any) -> tuple[Resources, RestartPolicy]:
    """The body of ``POST /containers/{id}/update``: HostConfig's Resources fields, flat,
    and RestartPolicy."""
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise errdefs.InvalidArgument("update: expected a JSON object")
    resources = decode(Resources, body, pascal, "UpdateConfig")
    policy = decode(RestartPolicy, body.get("RestartPolicy"), pascal, "UpdateConfig.RestartPolicy")
    return resources, policy


def register(router: Router, service: ContainerService) -> None:
    run = asyncio.to_thread

    async def pause(req: Request) -> Reply:
        await run(ops.pause, service, req.params["id"])
        return empty(204)

    async def unpause(req: Request) -> Reply:
        await run(ops.unpause, service, req.params["id"])
        return empty(204)

    async def top(req: Request) -> Reply:
        titles, rows = await run(ops.top, service, req.params["id"], req.q("ps_args"))
        return json_response({"Processes": rows, "Titles": titles})

    async def update(req: Request) -> Reply:
        resources, policy = _update_request(await req.json())
        warnings = await run(ops.update, service, req.params["id"], resources, policy)
        return json_response({"Warnings": warnings or []})

    async def stats(req: Request) -> Reply:
        c = service.get(req.params["id"])
        stream = req.q_bool("stream", True)
        one_shot = req.q_bool("one-shot")
        if not stream:
            if not c.state.running or c.state.restarting:
                return json_response(stats_wire(ops.StatsSample(name="/" + c.name, id=c.id), None))
            first = await run(ops.stats_sample, service, c)
            if one_shot:
                return json_response(stats_wire(first, None))
            await asyncio.sleep(_INTERVAL)
            return json_response(stats_wire(await run(ops.stats_sample, service, c), first))

        async def produce(w: StreamWriter) -> None:
            pre: ops.StatsSample | None = None
            while True:
                try:
                    current = service.get(c.id)
                except errdefs.NotFound:
                    return  # removed: dockerd's collector closes the stream
                cur = await run(ops.stats_sample, service, current)
                await w.write(encode_json(stats_wire(cur, pre)))
                pre = cur
                await asyncio.sleep(_INTERVAL)

        return StreamResponse(produce)

    router.add("POST", "/containers/{id}/pause", pause)
    router.add("POST", "/containers/{id}/unpause", unpause)
    router.add("GET", "/containers/{id}/top", top)
    router.add("POST", "/containers/{id}/update", update)
    router.add("GET", "/containers/{id}/stats", stats)
