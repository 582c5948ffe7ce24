"""OCI device cgroup rules (``linux.resources.devices``, runtime-spec config-linux.md
"Device allowlist") parsed once for validation, the v1 ``devices.allow``/``devices.deny``
writer and the v2 eBPF program.

A rule is ``{"allow": bool, "type": "a"|"b"|"c", "major": int, "minor": int,
"access": "rwm"}``; ``type`` defaults to ``a`` (all), a missing or ``-1`` major/minor is a
wildcard and ``access`` defaults to ``rwm``. Rules apply in order, the last match wins.
"""

from __future__ import annotations

from berth.errdefs import InvalidArgument

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

# (allow, type, major, minor, access); -1 is the wildcard major/minor.
Rule = tuple[bool, str, int, int, str]

_MAX_DEVNUM = (1 << 32) - 1


def _devnum(entry: dict[str, Any], key: str, field: str) -> int:
    value = entry.get(key)
    if value is None:
        return -1
    if isinstance(value, bool) or not isinstance(value, int) or not -1 <= value <= _MAX_DEVNUM:
        raise InvalidArgument(
            f"{field}.{key}: {value!r} is not a device number (want 0 to {_MAX_DEVNUM}, or -1 for any)"
        )
    return value


def parse(devices: Any, field: str = "linux.resources.devices") -> list[Rule]:
    """The rules of ``devices`` (the OCI list), checked; InvalidArgument names the entry."""
    if not isinstance(devices, list):
        raise InvalidArgument(f"{field}: {devices!r} is not a list of device rules")
    rules: list[Rule] = []
    for i, entry in enumerate(devices):
        where = f"{field}[{i}]"
        if not isinstance(entry, dict):
            raise InvalidArgument(f"{where}: {entry!r} is not a device rule object")
        allow = entry.get("allow")
        if not isinstance(allow, bool):
            raise InvalidArgument(
                f"{where}.allow: {allow!r} is not a boolean (the field is required)"
            )
        kind = entry.get("type", "a")
        if kind is None:
            kind = "a"
        if kind not in ("a", "b", "c"):
            raise InvalidArgument(
                f"{where}.type: {kind!r} is not a device type (want 'a', 'b' or 'c')"
            )
        access = entry.get("access", "rwm")
        if access is None:
            access = "rwm"
        if (
            not isinstance(access, str)
            or not access
            or any(ch not in "rwm" for ch in access)
            or len(set(access)) != len(access)
        ):
            raise InvalidArgument(
                f"{where}.access: {access!r} is not a device access (want a combination of r, w and m)"
            )
        rules.append(
            (allow, kind, _devnum(entry, "major", where), _devnum(entry, "minor", where), access)
        )
    return rules


def cgroup_string(rule: Rule) -> str:
    """The rule as devices.allow/devices.deny take it: ``c 1:3 rwm``, ``a *:* rwm``
    (Documentation/admin-guide/cgroup-v1/devices.rst)."""
    _, kind, major, minor, access = rule
    maj = "*" if major < 0 else str(major)
    mnr = "*" if minor < 0 else str(minor)
    return f"{kind} {maj}:{mnr} {access}"
