"""Load and check a bundle's ``config.json`` (OCI runtime spec config.md, config-linux.md).

Everything that can be checked before a process is forked is checked here, so that a bad
bundle fails fast with the field named (``process.args: must not be empty``) and nothing
is left behind. The document stays a plain dict: the rest of the runtime reads the spec's
own field names. Both 1.0.x and 1.1 fields are accepted.
"""

from __future__ import annotations

import os

from berth.errdefs import InvalidArgument, NotFound
from berth.oci import fastjson

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["NAMESPACE_TYPES", "RLIMITS", "load", "validate"]

NAMESPACE_TYPES = ("pid", "network", "mount", "ipc", "uts", "user", "cgroup")

# resource.RLIMIT_* numbers (Linux, every architecture we build for).
RLIMITS = {
    "RLIMIT_CPU": 0, "RLIMIT_FSIZE": 1, "RLIMIT_DATA": 2, "RLIMIT_STACK": 3, "RLIMIT_CORE": 4,
    "RLIMIT_RSS": 5, "RLIMIT_NPROC": 6, "RLIMIT_NOFILE": 7, "RLIMIT_MEMLOCK": 8, "RLIMIT_AS": 9,
    "RLIMIT_LOCKS": 10, "RLIMIT_SIGPENDING": 11, "RLIMIT_MSGQUEUE": 12, "RLIMIT_NICE": 13,
    "RLIMIT_RTPRIO": 14, "RLIMIT_RTTIME": 15,
}  # fmt: skip

MOUNT_TYPES_NEEDING_NS = {"mqueue": "ipc", "sysfs": "network"}
_HOOK_KINDS = ("prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop")
_DEV_TYPES = ("c", "b", "u", "p")

# sysctls that are namespaced (runc's validator): a sysctl outside these would change the host.
_IPC_SYSCTLS = ("kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall",
                "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced")  # fmt: skip


def load(bundle: str) -> dict[str, Any]:
    """Read and check ``<bundle>/config.json``."""
    path = os.path.join(bundle, "config.json")
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise NotFound(f"open {path!r}: no such file or directory") from None
    except OSError as exc:
        raise InvalidArgument(f"open {path!r}: {exc.strerror}") from exc
    try:
        spec = fastjson.loads(raw)
    except ValueError as exc:
        raise InvalidArgument(f"{path}: malformed JSON: {exc}") from exc
    if not isinstance(spec, dict):
        raise InvalidArgument(f"{path}: the document must be a JSON object")
    validate(spec, bundle)
    return spec


def _type(v: Any, t: type | tuple[type, ...], field: str, what: str) -> Any:
    if not isinstance(v, t) or (t is int and isinstance(v, bool)):
        raise InvalidArgument(f"{field}: must be {what}, got {fastjson.dumps(v)}")
    return v


def _str_list(v: Any, field: str) -> list[str]:
    _type(v, list, field, "an array of strings")
    for i, s in enumerate(v):
        _type(s, str, f"{field}[{i}]", "a string")
    return v  # type: ignore[no-any-return]


def _uint(v: Any, field: str, bits: int = 32) -> int:
    _type(v, int, field, "an integer")
    if v < 0 or v >= 1 << bits:
        raise InvalidArgument(f"{field}: {v} is out of range")
    return v  # type: ignore[no-any-return]


def validate(spec: dict[str, Any], bundle: str) -> None:
    """Check ``spec`` in place; raise InvalidArgument naming the first bad field."""
    ver = spec.get("ociVersion")
    if not isinstance(ver, str) or not ver.startswith("1."):
        raise InvalidArgument(f"ociVersion: unsupported version {fastjson.dumps(ver)} (want 1.x)")
    root = _type(spec.get("root"), dict, "root", "an object with a path")
    rpath = _type(root.get("path"), str, "root.path", "a string")
    if not rpath:
        raise InvalidArgument("root.path: must not be empty")
    rootfs = rpath if rpath.startswith("/") else os.path.join(bundle, rpath)
    if not os.path.isdir(rootfs):
        raise NotFound(f"root.path: rootfs {rootfs!r} does not exist or is not a directory")
    _type(root.get("readonly", False), bool, "root.readonly", "a boolean")
    _validate_process(spec.get("process"))
    if "hostname" in spec:
        _type(spec["hostname"], str, "hostname", "a string")
    if "domainname" in spec:
        _type(spec["domainname"], str, "domainname", "a string")
    for i, m in enumerate(_type(spec.get("mounts", []), list, "mounts", "an array")):
        _validate_mount(m, f"mounts[{i}]")
    hooks = _type(spec.get("hooks") or {}, dict, "hooks", "an object")
    for kind, lst in hooks.items():
        if kind not in _HOOK_KINDS:
            raise InvalidArgument(f"hooks.{kind}: unknown hook kind (want one of {', '.join(_HOOK_KINDS)})")
        for i, h in enumerate(_type(lst or [], list, f"hooks.{kind}", "an array")):
            f = f"hooks.{kind}[{i}]"
            _type(h, dict, f, "an object")
            p = _type(h.get("path"), str, f"{f}.path", "an absolute path")
            if not p.startswith("/"):
                raise InvalidArgument(f"{f}.path: {p!r} is not an absolute path")
            _str_list(h.get("args", []), f"{f}.args")
            _str_list(h.get("env", []), f"{f}.env")
            if "timeout" in h and (_type(h["timeout"], int, f"{f}.timeout", "an integer") <= 0):
                raise InvalidArgument(f"{f}.timeout: must be greater than zero")
    ann = _type(spec.get("annotations") or {}, dict, "annotations", "an object")
    for k, v in ann.items():
        _type(v, str, f"annotations.{k}", "a string")
    _validate_linux(spec, _type(spec.get("linux") or {}, dict, "linux", "an object"))


def _validate_process(p: Any) -> None:
    p = _type(p, dict, "process", "an object (the container's process)")
    args = _str_list(p.get("args"), "process.args") if "args" in p else []
    if not args:
        raise InvalidArgument("process.args: must not be empty")
    cwd = _type(p.get("cwd", "/"), str, "process.cwd", "a string")
    if not cwd.startswith("/"):
        raise InvalidArgument(f"process.cwd: {cwd!r} is not an absolute path")
    for i, e in enumerate(_str_list(p.get("env", []), "process.env")):
        if "=" not in e:
            raise InvalidArgument(f"process.env[{i}]: {e!r} is not KEY=value")
    _type(p.get("terminal", False), bool, "process.terminal", "a boolean")
    cs = p.get("consoleSize")
    if cs is not None:
        _type(cs, dict, "process.consoleSize", "an object with height and width")
        _uint(cs.get("height", 0), "process.consoleSize.height", 16)
        _uint(cs.get("width", 0), "process.consoleSize.width", 16)
    user = _type(p.get("user", {}), dict, "process.user", "an object")
    _uint(user.get("uid", 0), "process.user.uid")
    _uint(user.get("gid", 0), "process.user.gid")
    if "umask" in user:
        if _uint(user["umask"], "process.user.umask") > 0o777:
            raise InvalidArgument(f"process.user.umask: {user['umask']:#o} is not a file mode mask")
    for i, g in enumerate(_type(user.get("additionalGids", []), list, "process.user.additionalGids", "an array")):
        _uint(g, f"process.user.additionalGids[{i}]")
    seen: set[str] = set()
    for i, r in enumerate(_type(p.get("rlimits", []), list, "process.rlimits", "an array")):
        f = f"process.rlimits[{i}]"
        _type(r, dict, f, "an object")
        t = _type(r.get("type"), str, f"{f}.type", "a string")
        if t not in RLIMITS:
            raise InvalidArgument(f"{f}.type: unknown rlimit {t!r}")
        if t in seen:
            raise InvalidArgument(f"{f}.type: {t} is given twice")
        seen.add(t)
        hard = _uint(r.get("hard"), f"{f}.hard", 64)
        soft = _uint(r.get("soft"), f"{f}.soft", 64)
        if soft > hard:
            raise InvalidArgument(f"{f}: soft limit {soft} is above the hard limit {hard}")
    if "oomScoreAdj" in p:
        v = _type(p["oomScoreAdj"], int, "process.oomScoreAdj", "an integer")
        if not -1000 <= v <= 1000:
            raise InvalidArgument(f"process.oomScoreAdj: {v} is outside -1000..1000")
    _type(p.get("noNewPrivileges", False), bool, "process.noNewPrivileges", "a boolean")
    caps = p.get("capabilities")
    if caps is not None:
        _type(caps, dict, "process.capabilities", "an object")
        for k, v in caps.items():
            if k not in ("bounding", "effective", "permitted", "inheritable", "ambient"):
                raise InvalidArgument(f"process.capabilities.{k}: unknown capability set")
            _str_list(v or [], f"process.capabilities.{k}")


def _validate_mount(m: Any, f: str) -> None:
    _type(m, dict, f, "an object")
    dest = _type(m.get("destination"), str, f"{f}.destination", "a string")
    if not dest.startswith("/"):
        raise InvalidArgument(f"{f}.destination: {dest!r} is not an absolute path")
    _type(m.get("type", ""), str, f"{f}.type", "a string")
    _type(m.get("source", ""), str, f"{f}.source", "a string")
    for i, o in enumerate(_str_list(m.get("options", []), f"{f}.options")):
        if o in ("idmap", "ridmap"):
            raise InvalidArgument(f"{f}.options[{i}]: id-mapped mounts are not supported")


def _validate_linux(spec: dict[str, Any], lx: dict[str, Any]) -> None:
    kinds: set[str] = set()
    for i, ns in enumerate(_type(lx.get("namespaces", []), list, "linux.namespaces", "an array")):
        f = f"linux.namespaces[{i}]"
        _type(ns, dict, f, "an object")
        t = _type(ns.get("type"), str, f"{f}.type", "a string")
        if t not in NAMESPACE_TYPES:
            raise InvalidArgument(f"{f}.type: unknown namespace type {t!r} (want one of {', '.join(NAMESPACE_TYPES)})")
        if t in kinds:
            raise InvalidArgument(f"{f}.type: namespace {t!r} is given twice")
        kinds.add(t)
        if ns.get("path"):
            p = _type(ns["path"], str, f"{f}.path", "a path")
            if not os.path.exists(p):
                raise NotFound(f"{f}.path: namespace path {p!r} does not exist")
    for field in ("uidMappings", "gidMappings"):
        for i, m in enumerate(_type(lx.get(field, []), list, f"linux.{field}", "an array")):
            g = f"linux.{field}[{i}]"
            _type(m, dict, g, "an object")
            for k in ("containerID", "hostID", "size"):
                _uint(m.get(k), f"{g}.{k}")
            if m["size"] == 0:
                raise InvalidArgument(f"{g}.size: must be greater than zero")
    if ("uidMappings" in lx or "gidMappings" in lx) and "user" not in kinds:
        raise InvalidArgument("linux.uidMappings: user mappings given without a user namespace")
    if "user" in kinds and not any(n.get("path") for n in lx["namespaces"] if n["type"] == "user"):
        if not lx.get("uidMappings") or not lx.get("gidMappings"):
            raise InvalidArgument("linux.uidMappings: a new user namespace needs uidMappings and gidMappings")
    if spec.get("hostname") and "uts" not in kinds:
        raise InvalidArgument("hostname: unable to set hostname without a new UTS namespace")
    prop = lx.get("rootfsPropagation", "")
    if prop and prop not in ("private", "rprivate", "slave", "rslave", "shared", "rshared", "unbindable", "runbindable"):
        raise InvalidArgument(f"linux.rootfsPropagation: unknown propagation {prop!r}")
    for field in ("maskedPaths", "readonlyPaths"):
        for i, p in enumerate(_str_list(lx.get(field, []), f"linux.{field}")):
            if not p.startswith("/"):
                raise InvalidArgument(f"linux.{field}[{i}]: {p!r} is not an absolute path")
    for i, d in enumerate(_type(lx.get("devices", []), list, "linux.devices", "an array")):
        f = f"linux.devices[{i}]"
        _type(d, dict, f, "an object")
        p = _type(d.get("path"), str, f"{f}.path", "an absolute path")
        if not p.startswith("/dev/") and p != "/dev":
            raise InvalidArgument(f"{f}.path: {p!r} is not under /dev")
        if _type(d.get("type"), str, f"{f}.type", "c, b, u or p") not in _DEV_TYPES:
            raise InvalidArgument(f"{f}.type: unknown device type {d['type']!r} (want c, b, u or p)")
        if d["type"] != "p":
            _uint(d.get("major", -1), f"{f}.major", 32)
            _uint(d.get("minor", -1), f"{f}.minor", 32)
    sysctl = _type(lx.get("sysctl") or {}, dict, "linux.sysctl", "an object")
    for k, v in sysctl.items():
        _type(v, str, f"linux.sysctl.{k}", "a string")
        _check_sysctl(k, kinds, lx)
    for lsm, key in (("process.apparmorProfile", "apparmorProfile"), ("process.selinuxLabel", "selinuxLabel")):
        val = spec["process"].get(key)
        if val:
            _check_lsm(lsm, str(val))
    if lx.get("mountLabel"):
        _check_lsm("linux.mountLabel", lx["mountLabel"])
    pers = lx.get("personality")
    if pers is not None:
        dom = _type(pers, dict, "linux.personality", "an object").get("domain")
        if dom not in ("LINUX", "LINUX32"):
            raise InvalidArgument(f"linux.personality.domain: unknown domain {dom!r} (want LINUX or LINUX32)")


def _ns_is_new(kinds: set[str], lx: dict[str, Any], t: str) -> bool:
    return t in kinds and not any(n.get("path") for n in lx.get("namespaces", []) if n["type"] == t)


def _check_sysctl(k: str, kinds: set[str], lx: dict[str, Any]) -> None:
    if k in _IPC_SYSCTLS or k.startswith("fs.mqueue."):
        if "ipc" not in kinds:
            raise InvalidArgument(f"linux.sysctl.{k}: sysctl {k!r} needs a new IPC namespace")
        return
    if k.startswith("net."):
        if "network" not in kinds:
            raise InvalidArgument(f"linux.sysctl.{k}: sysctl {k!r} needs a network namespace (it would change the host)")
        return
    if k in ("kernel.hostname", "kernel.domainname"):
        if "uts" not in kinds:
            raise InvalidArgument(f"linux.sysctl.{k}: sysctl {k!r} needs a new UTS namespace")
        return
    raise InvalidArgument(f"linux.sysctl.{k}: sysctl {k!r} is not in a separate kernel namespace and would change the host")


def _check_lsm(field: str, value: str) -> None:
    if field == "process.apparmorProfile":
        enabled = _read("/sys/module/apparmor/parameters/enabled").startswith("Y")
        if not enabled:
            raise InvalidArgument(
                f"{field}: apparmor profile {value!r} requested but AppArmor is not enabled in this kernel"
            )
        return
    if not os.path.exists("/sys/fs/selinux/enforce"):
        raise InvalidArgument(f"{field}: SELinux label {value!r} requested but SELinux is not enabled in this kernel")


def _read(path: str) -> str:
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def rootfs_path(spec: dict[str, Any], bundle: str) -> str:
    p: str = spec["root"]["path"]
    return os.path.realpath(p if p.startswith("/") else os.path.join(bundle, p))


def new_namespaces(spec: dict[str, Any]) -> list[str]:
    lx = spec.get("linux") or {}
    return [n["type"] for n in lx.get("namespaces", []) if not n.get("path")]
