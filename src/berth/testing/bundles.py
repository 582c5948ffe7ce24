"""OCI bundles for tests: a rootfs and a config.json derived from the default spec."""

from __future__ import annotations

import json
import os
from typing import Any

from berth.oci.default_spec import default_spec
from berth.testing.busybox import rootfs

__all__ = ["make_bundle", "write_config"]


def make_bundle(
    bundle: str,
    template_dir: str,
    args: list[str],
    *,
    seccomp: bool = False,
    cgroups_path: str | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """Create ``bundle`` with a fresh busybox rootfs and a config running ``args`` without
    a terminal; ``overrides`` replace top-level keys (``process``, ``linux`` …) after
    ``tweak`` functions are applied. Returns the config written."""
    os.makedirs(bundle, exist_ok=True)
    rootfs(template_dir, os.path.join(bundle, "rootfs"))
    spec = default_spec(args=args, terminal=False, seccomp=seccomp)
    spec["root"]["readonly"] = False
    if cgroups_path is not None:
        spec["linux"]["cgroupsPath"] = cgroups_path
    for k, v in overrides.items():
        spec[k] = v
    write_config(bundle, spec)
    return spec


def write_config(bundle: str, spec: dict[str, Any]) -> None:
    with open(os.path.join(bundle, "config.json"), "w") as f:
        json.dump(spec, f, indent=2)
