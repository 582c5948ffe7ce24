"""``update``: change the cgroup limits of a live container (runc's ``update``).

The caller gives a partial OCI ``linux.resources`` object (``--resources FILE|-``) or
runc's flags (``--memory 32m --cpu-quota 50000 …``, turned into the same object by
:func:`from_flags`). :func:`update` merges it into the limits saved in the container's
state, checks the result as a whole (:func:`berth.cgroups.validate`, so an error names
the field: ``linux.resources.cpu.shares: 1 is not a valid cpu shares value``), writes it
to the container's cgroups and saves the merged limits, so that a later update knows the
current values (the kernel needs some in pairs: memory and memory+swap, CFS quota and
period).

Merge rules, as runc's ``update.go``:

- a zero or empty value means "unchanged" (``--pids-limit 0``, ``"cpus": ""``); -1 is
  "no limit" where the kernel has one (memory, swap, cpu quota, pids);
- a memory limit of -1 with no swap given sets swap to -1 too (cgroup v1 keeps
  memory+swap >= memory);
- device rules are never touched; ``hugepageLimits``, ``network``, ``rdma`` and the
  kernel memory fields are ignored with a warning (runc ignores them silently);
  ``unified`` (cgroup v2 files) is merged key by key.

The container must be created, running or paused: a stopped one has no cgroup to change
(runc: "container not running").
"""

from __future__ import annotations

from berth.errdefs import InvalidArgument

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from berth.runtime.state import Store

__all__ = ["from_flags", "merge", "parse_bytes", "update"]

# (section, key) that update may change; everything else in a section is ignored.
_FIELDS = {
    "memory": ("limit", "reservation", "swap", "swappiness", "checkBeforeUpdate"),
    "cpu": ("shares", "quota", "burst", "period", "realtimeRuntime", "realtimePeriod", "cpus", "mems", "idle"),
    "blockIO": ("weight",),
    "pids": ("limit",),
}
_IGNORED = ("hugepageLimits", "network", "rdma", "devices")
_UNITS = {"": 1, "b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}


def parse_bytes(text: str, flag: str) -> int:
    """A size as docker/go-units ``RAMInBytes`` reads it: ``1048576``, ``512k``, ``32m``,
    ``1.5g``, ``64MiB`` (binary multiples, case-insensitive); ``-1`` means no limit."""
    s = text.strip()
    if s == "-1":
        return -1
    i = 0
    while i < len(s) and (s[i] in "0123456789."):
        i += 1
    num, rest = s[:i], s[i:].lower()
    rest = rest[1:] if rest.startswith(" ") else rest
    unit = ""
    if rest[:1] and rest[0] in "kmgtp":
        unit, rest = rest[0], rest[1:]
    rest = rest[1:] if rest.startswith("i") else rest
    rest = rest[1:] if rest.startswith("b") else rest
    try:
        value = float(num) if num[:1].isdigit() and not rest else None
    except ValueError:
        value = None
    if value is None:
        raise InvalidArgument(
            f"invalid value for --{flag}: {text!r} is not a size (want bytes, or a number with k, m, g, t or p)"
        )
    return int(value * _UNITS[unit])


def _int_flag(text: str, flag: str, signed: bool) -> int:
    try:
        value = int(text.strip(), 10)
    except ValueError:
        raise InvalidArgument(f"invalid value for --{flag}: {text!r} is not a number") from None
    if not signed and value < 0:
        raise InvalidArgument(f"invalid value for --{flag}: {text!r} must not be negative")
    return value


def from_flags(opts: dict[str, Any]) -> dict[str, Any]:
    """runc's update flags (as parsed strings, None when not given) as a partial
    ``linux.resources``. Keys of ``opts`` are the flag names with ``_`` for ``-``."""
    res: dict[str, dict[str, Any]] = {"memory": {}, "cpu": {}, "blockIO": {}, "pids": {}}
    if opts.get("blkio_weight"):
        res["blockIO"]["weight"] = opts["blkio_weight"]
    for flag, key in (("cpuset_cpus", "cpus"), ("cpuset_mems", "mems")):
        if opts.get(flag):
            res["cpu"][key] = opts[flag]
    for flag, key, signed in (
        ("cpu_period", "period", False), ("cpu_quota", "quota", True), ("cpu_burst", "burst", False),
        ("cpu_share", "shares", False), ("cpu_rt_period", "realtimePeriod", False),
        ("cpu_rt_runtime", "realtimeRuntime", True), ("cpu_idle", "idle", True),
    ):  # fmt: skip
        if opts.get(flag):
            res["cpu"][key] = _int_flag(opts[flag], flag.replace("_", "-"), signed)
    for flag, key in (("memory", "limit"), ("memory_swap", "swap"), ("memory_reservation", "reservation")):
        if opts.get(flag):
            res["memory"][key] = parse_bytes(opts[flag], flag.replace("_", "-"))
    if opts.get("pids_limit"):
        res["pids"]["limit"] = opts["pids_limit"]
    return {k: v for k, v in res.items() if v}


def _changed(value: Any) -> bool:
    return value is not None and value != 0 and value != ""


def merge(current: dict[str, Any] | None, changes: Any) -> tuple[dict[str, Any], list[str]]:
    """``current`` limits with ``changes`` applied (see the module docstring); returns
    (merged, warnings). ``current`` is not modified."""
    if not isinstance(changes, dict):
        raise InvalidArgument(f"resources: {changes!r} is not an object")
    merged: dict[str, Any] = {k: (dict(v) if isinstance(v, dict) else v) for k, v in (current or {}).items()}
    warnings: list[str] = []
    for section, value in changes.items():
        if section in _IGNORED:
            if value:
                warnings.append(f"linux.resources.{section}: update does not change it, ignored")
            continue
        if section == "unified":
            if value:
                if not isinstance(value, dict):
                    raise InvalidArgument(f"linux.resources.unified: {value!r} is not an object")
                merged["unified"] = {**(merged.get("unified") or {}), **value}
            continue
        if section not in _FIELDS:
            raise InvalidArgument(
                f"linux.resources.{section}: unknown resource (update changes {', '.join(_FIELDS)}"
                " and unified)"
            )
        if value is None:
            continue
        if not isinstance(value, dict):
            raise InvalidArgument(f"linux.resources.{section}: {value!r} is not an object")
        target = merged.setdefault(section, {})
        for key, v in value.items():
            if key in ("kernel", "kernelTCP") and section == "memory":
                if _changed(v):
                    warnings.append(f"linux.resources.memory.{key}: kernel memory limits are obsolete, ignored")
                continue
            if key not in _FIELDS[section]:
                if _changed(v):
                    warnings.append(f"linux.resources.{section}.{key}: update does not change it, ignored")
                continue
            if _changed(v):
                target[key] = v
    mem = changes.get("memory")
    if isinstance(mem, dict) and mem.get("limit") == -1 and not _changed(mem.get("swap")):
        merged["memory"]["swap"] = -1
    return merged, warnings


def update(store: Store, container_id: str, changes: dict[str, Any]) -> list[str]:
    """Merge ``changes`` into the container's limits, write them to its cgroups and save
    them; returns warnings (fields this host or this verb ignores)."""
    from berth import cgroups
    from berth.runtime.container import status_of
    from berth.runtime.state import CREATING, STOPPED, Status

    st = store.load(container_id)
    s = status_of(store, st)
    if s in (STOPPED, CREATING):
        raise Status.refuse("update", container_id, s)
    if not st.cgroup_path:
        raise InvalidArgument(f"container {container_id} has no cgroup to update")
    lx = st.config.setdefault("linux", {})
    current = lx.get("resources") or {}
    merged, warnings = merge(current, changes)
    setup = cgroups.detect()
    # Device rules stay as create wrote them (runc: SkipDevices).
    to_apply = {k: v for k, v in merged.items() if k not in ("devices", *_IGNORED)}
    warnings += cgroups.validate(to_apply, setup)
    cgroups.Manager.load(setup, st.cgroup_path).apply(to_apply)
    lx["resources"] = merged
    store.save(st)
    return warnings
