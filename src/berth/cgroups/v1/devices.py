"""v1 ``devices`` controller (Documentation/admin-guide/cgroup-v1/devices.rst).

A group keeps a default (allow or deny all) and a list of exceptions. Writing ``a`` to
``devices.deny`` switches to deny-all and clears the list; then each OCI rule, in order,
is written to ``devices.allow`` or ``devices.deny`` as ``type major:minor access`` (``*``
for a wildcard number), so a later rule overrides an earlier one as the OCI spec asks.

Writing ``a`` fails (EINVAL) in a group that has child groups; containers have none.

OCI: config-linux.md "Device allowlist".
"""

from __future__ import annotations

from .. import _rules
from .._files import write

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .._files import Resources

_F = "linux.resources.devices"


def apply(resources: Resources, path: str) -> None:
    devices = resources.get("devices")
    if devices is None:
        return
    rules = _rules.parse(devices, _F)
    write(path, "devices.deny", "a", _F)
    for i, rule in enumerate(rules):
        name = "devices.allow" if rule[0] else "devices.deny"
        write(path, name, _rules.cgroup_string(rule), f"{_F}[{i}]")
