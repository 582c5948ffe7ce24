"""``features`` — the runtime-spec features document (features.md)."""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from berth.ocicli.main import Context


def features() -> dict[str, Any]:
    from berth.linux import caps
    from berth.runtime.config import NAMESPACE_TYPES
    from berth.runtime.rootfs import _FLAGS, PROPAGATION

    try:
        from berth.linux import seccomp

        sec: dict[str, Any] = seccomp.supported()
    except (ImportError, OSError):
        sec = {"enabled": False}
    try:
        from berth import cgroups

        setup = cgroups.detect()
        v1, v2 = setup.mode in ("v1", "hybrid"), setup.mode in ("v2", "hybrid")
    except Exception:
        v1 = v2 = False
    mount_opts = sorted(set(_FLAGS) | set(PROPAGATION) | {"tmpcopyup"})
    return {
        "ociVersionMin": "1.0.0",
        "ociVersionMax": "1.1.0",
        "hooks": ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"],
        "mountOptions": mount_opts,
        "linux": {
            "namespaces": list(NAMESPACE_TYPES),
            "capabilities": sorted(caps.CAPABILITIES, key=lambda n: caps.CAPABILITIES[n]),
            "cgroup": {"v1": v1, "v2": v2, "systemd": False, "systemdUser": False, "rdma": False},
            "seccomp": sec,
            "apparmor": {"enabled": False},
            "selinux": {"enabled": False},
            "intelRdt": {"enabled": False},
            "mountExtensions": {"idmap": {"enabled": False}},
        },
        "annotations": {"io.github.berth.runtime.version": "0.1.0"},
    }


def run(ctx: Context, verb: str, args: list[str]) -> int:
    from berth.oci.fastjson import dumps_indent

    sys.stdout.write(dumps_indent(features()) + "\n")
    return 0
