"""A container's confinement in its OCI spec: capabilities, ``--security-opt`` and the
seccomp filter, as dockerd computes them.

- **Capabilities** (moby ``oci/caps`` TweakCapabilities): Docker's 14 default
  capabilities, minus ``--cap-drop``, plus ``--cap-add``; ``--cap-add ALL`` is every
  capability minus the drops, ``--cap-drop ALL`` keeps only the adds; ``--privileged`` is
  every capability. Names are case-insensitive and may omit ``CAP_``.
- **Security options** (moby ``parseSecurityOpt``): ``no-new-privileges[=bool]``,
  ``seccomp=unconfined|default|<profile JSON>``, ``apparmor=NAME``, ``label=…`` (SELinux),
  ``writable-cgroups[=bool]``. This host has neither AppArmor nor SELinux unless the
  caller says so: a profile or label that would need one is refused rather than dropped.
- **Seccomp**: Docker's profile format (``archMap``, ``syscalls[].includes/excludes`` by
  capability, architecture and minimum kernel) filtered down to the OCI ``linux.seccomp``
  the runtime loads (moby ``profiles/seccomp`` setupSeccomp).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

from berth import errdefs
from berth.errdefs import InvalidArgument
from berth.linux.caps import CAPABILITIES
from berth.oci.default_spec import DEFAULT_CAPS

__all__ = [
    "ALL_CAPS",
    "SecurityOptions",
    "goarch",
    "parse_security_opts",
    "seccomp_from_profile",
    "tweak_capabilities",
]

ALL_CAPS: tuple[str, ...] = tuple(sorted(CAPABILITIES, key=CAPABILITIES.__getitem__))


def _normalise_caps(caps: list[str]) -> list[str]:
    out = []
    for c in caps:
        c = c.upper()
        if c != "ALL" and not c.startswith("CAP_"):
            c = "CAP_" + c
        if c != "ALL" and c not in CAPABILITIES:
            raise InvalidArgument(f"unknown capability: {json.dumps(c)}")
        out.append(c)
    return out


def tweak_capabilities(adds: list[str], drops: list[str], privileged: bool) -> list[str]:
    """The container's capability list (the bounding set) from Docker's defaults."""
    if privileged:
        return list(ALL_CAPS)
    if not adds and not drops:
        return list(DEFAULT_CAPS)
    cap_drop = _normalise_caps(drops)
    cap_add = _normalise_caps(adds)
    if "ALL" in cap_add:
        caps = [c for c in ALL_CAPS if c not in cap_drop]
    elif "ALL" in cap_drop:
        caps = [c for c in cap_add if c != "ALL"]
    else:
        caps = [c for c in DEFAULT_CAPS if c not in cap_drop] + cap_add
    out: list[str] = []
    for c in caps:
        if c not in out:
            out.append(c)
    return out


@dataclass
class SecurityOptions:
    no_new_privileges: bool = False
    seccomp: str = ""  # "" | "unconfined" | "default" | "builtin" | profile JSON
    apparmor: str = ""
    labels: tuple[str, ...] = ()
    writable_cgroups: bool | None = None


_TRUE = ("1", "t", "T", "TRUE", "true", "True")
_FALSE = ("0", "f", "F", "FALSE", "false", "False")


def _parse_bool(v: str, opt: str) -> bool:
    if v in _TRUE:
        return True
    if v in _FALSE:
        return False
    raise InvalidArgument(f"invalid --security-opt 2: {json.dumps(opt)}")


def parse_security_opts(
    opts: list[str],
    *,
    no_new_privileges: bool = False,
    apparmor_enabled: bool = False,
    selinux_enabled: bool = False,
) -> SecurityOptions:
    """``HostConfig.SecurityOpt`` parsed with Docker's messages; ``no_new_privileges`` is
    the daemon's default. AppArmor profiles other than ``unconfined`` and SELinux labels
    other than ``disable`` are refused on a host without that LSM."""
    so = SecurityOptions(no_new_privileges=no_new_privileges)
    labels: list[str] = []
    for opt in opts:
        if opt == "no-new-privileges":
            so.no_new_privileges = True
            continue
        if opt == "writable-cgroups":
            so.writable_cgroups = True
            continue
        if opt == "disable":
            labels.append("disable")
            continue
        if "=" in opt:
            k, v = opt.split("=", 1)
        elif ":" in opt:
            k, v = opt.split(":", 1)
        else:
            raise InvalidArgument(f"invalid --security-opt 1: {json.dumps(opt)}")
        if k == "label":
            labels.append(v)
        elif k == "apparmor":
            so.apparmor = v
        elif k == "seccomp":
            so.seccomp = v
        elif k == "no-new-privileges":
            so.no_new_privileges = _parse_bool(v, opt)
        elif k == "writable-cgroups":
            so.writable_cgroups = _parse_bool(v, opt)
        else:
            raise InvalidArgument(f"invalid --security-opt 2: {json.dumps(opt)}")
    so.labels = tuple(labels)
    if so.apparmor and so.apparmor != "unconfined" and not apparmor_enabled:
        raise InvalidArgument(
            f"--security-opt apparmor={so.apparmor}: AppArmor is not enabled on this host"
        )
    for label in so.labels:
        if label == "disable":
            continue
        if not selinux_enabled:
            raise InvalidArgument(
                f"--security-opt label={label}: SELinux is not enabled on this host"
            )
        raise errdefs.NotImplemented(
            f"--security-opt label={label}: SELinux labels are not supported by berth"
        )
    return so


# uname -m → GOARCH, the names Docker's profiles use in includes/excludes "arches"
_GOARCH = {
    "x86_64": "amd64", "i386": "386", "i686": "386", "aarch64": "arm64", "armv7l": "arm",
    "armv6l": "arm", "s390x": "s390x", "ppc64le": "ppc64le", "riscv64": "riscv64",
    "mips64": "mips64", "loongarch64": "loong64",
}  # fmt: skip
_SCMP_NATIVE = {
    "amd64": "SCMP_ARCH_X86_64", "386": "SCMP_ARCH_X86", "arm64": "SCMP_ARCH_AARCH64",
    "arm": "SCMP_ARCH_ARM", "s390x": "SCMP_ARCH_S390X", "ppc64le": "SCMP_ARCH_PPC64LE",
    "riscv64": "SCMP_ARCH_RISCV64", "mips64": "SCMP_ARCH_MIPS64", "loong64": "SCMP_ARCH_LOONGARCH64",
}  # fmt: skip


def goarch(machine: str = "") -> str:
    """``machine`` (uname -m or already a GOARCH; "" = this machine) as Go names it."""
    m = machine or os.uname().machine
    return _GOARCH.get(m, m)


def _kernel_at_least(release: str, want: str) -> bool:
    def parse(v: str, what: str) -> tuple[int, int]:
        parts = v.split("-", 1)[0].split(".")
        try:
            return int(parts[0]), int(parts[1]) if len(parts) > 1 else 0
        except ValueError:
            raise InvalidArgument(f"invalid kernel version {what}: {v!r}") from None

    return parse(release, "of this host") >= parse(want, "in the seccomp profile (minKernel)")


_LINUX_SECCOMP_KEYS = (
    "defaultAction",
    "defaultErrnoRet",
    "flags",
    "listenerPath",
    "listenerMetadata",
)
_SYSCALL_KEYS = ("action", "errnoRet", "args")


def _filter_skips(
    f: dict[str, Any], arch: str, caps: list[str], kernel: str, include: bool
) -> bool:
    arches = f.get("arches") or []
    fcaps = f.get("caps") or []
    min_kernel = f.get("minKernel")
    if include:
        if arches and arch not in arches:
            return True
        if fcaps and any(c not in caps for c in fcaps):
            return True
        return bool(min_kernel) and not _kernel_at_least(kernel, str(min_kernel))
    if arches and arch in arches:
        return True
    if fcaps and any(c in caps for c in fcaps):
        return True
    return bool(min_kernel) and _kernel_at_least(kernel, str(min_kernel))


def seccomp_from_profile(
    text: str, caps: list[str], arch: str = "", kernel: str = ""
) -> dict[str, Any] | None:
    """A Docker seccomp profile (JSON text) as the OCI ``linux.seccomp`` for a container
    whose bounding set is ``caps`` on ``arch`` (uname -m or GOARCH) with ``kernel``
    (release string); None when the profile sets nothing (Docker: seccomp disabled)."""
    try:
        prof = json.loads(text)
    except ValueError as exc:
        raise InvalidArgument(f"Decoding seccomp profile failed: {exc}") from exc
    if not isinstance(prof, dict):
        raise InvalidArgument("Decoding seccomp profile failed: the profile is not a JSON object")
    syscalls = prof.get("syscalls") or []
    if not prof.get("defaultAction") and not syscalls:
        return None
    if not isinstance(syscalls, list):
        raise InvalidArgument("Decoding seccomp profile failed: syscalls is not a list")
    if prof.get("architectures") and prof.get("archMap"):
        raise InvalidArgument(
            "both 'architectures' and 'archMap' are specified in the seccomp profile, use either 'architectures' or 'archMap'"
        )
    go = goarch(arch)
    kernel = kernel or os.uname().release
    out: dict[str, Any] = {k: prof[k] for k in _LINUX_SECCOMP_KEYS if prof.get(k) is not None}
    archs = list(prof.get("architectures") or [])
    native = _SCMP_NATIVE.get(go)
    for a in prof.get("archMap") or []:
        if isinstance(a, dict) and a.get("architecture") == native:
            archs = [native, *(a.get("subArchitectures") or [])]
            break
    out["architectures"] = archs
    out_calls: list[dict[str, Any]] = []
    for i, call in enumerate(syscalls):
        if not isinstance(call, dict):
            raise InvalidArgument(
                f"Decoding seccomp profile failed: syscalls[{i}] is not an object"
            )
        names = list(call.get("names") or [])
        if call.get("name"):
            if names:
                raise InvalidArgument(
                    "both 'name' and 'names' are specified in the seccomp profile, use either 'name' or 'names'"
                )
            names = [call["name"]]
        if call.get("excludes") and _filter_skips(
            call["excludes"], go, caps, kernel, include=False
        ):
            continue
        if call.get("includes") and _filter_skips(call["includes"], go, caps, kernel, include=True):
            continue
        entry: dict[str, Any] = {"names": names}
        entry.update({k: call[k] for k in _SYSCALL_KEYS if call.get(k) is not None})
        out_calls.append(entry)
    out["syscalls"] = out_calls
    return out
