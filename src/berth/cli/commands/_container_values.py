"""Parsers for the values of the ``run``/``create`` list flags (moby ``cli/opts``,
``go-connections/nat``, ``go-units``): env and label files, published ports, ``-v``
binds, ``--mount`` CSV, tmpfs, devices, blkio throttles, ulimits, capabilities and
security options, each into its Engine API wire shape.

Errors are :class:`FlagValueError` where docker's flag type rejects the value itself
(pflag's ``invalid argument "x" for "--flag" flag: …``) and :class:`OptsError` where
docker's ``parse`` finds it while building the configuration.
"""

from __future__ import annotations

import os

from berth.cli.commands._units import ram_in_bytes

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "FlagValueError",
    "OptsError",
    "blkio",
    "caps",
    "device",
    "env_value",
    "expose",
    "is_ip",
    "labels",
    "parse_env_file",
    "parse_mount",
    "parse_ports",
    "security_opts",
    "tmpfs_map",
    "ulimit",
    "volumes",
]


class FlagValueError(Exception):
    """A flag's value is malformed (pflag's ``invalid argument`` error)."""

    def __init__(self, value: str, flag: str, reason: str) -> None:
        super().__init__(f'invalid argument "{value}" for "{flag}" flag: {reason}')


class OptsError(Exception):
    """The flags do not make a valid container configuration."""


# --- list values ---


def _key_value_file(path: str, what: str) -> list[str]:
    """opts.ParseEnvFile / ParseLabelFile: ``KEY=VALUE`` lines, ``#`` comments, a bare
    ``KEY`` takes its value from the environment (env files) or stays as is."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as exc:
        raise OptsError(f"open {path}: {(exc.strerror or str(exc)).lower()}") from None
    out: list[str] = []
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.lstrip()
        if n == 1:
            line = line.lstrip("\ufeff")
        if not line or line.startswith("#"):
            continue
        key, eq, value = line.partition("=")
        if not key:
            raise OptsError(f"no variable name on line '{line}'")
        if any(c.isspace() for c in key):
            raise OptsError(f"variable '{key}' contains whitespaces")
        if eq:
            out.append(f"{key}={value}")
        elif what == "env":
            if key in os.environ:
                out.append(f"{key}={os.environ[key]}")
        else:
            out.append(key)
    return out


def parse_env_file(path: str) -> list[str]:
    return _key_value_file(path, "env")


def env_value(value: str) -> str:
    key, eq, _ = value.partition("=")
    if not key:
        raise FlagValueError(value, "-e, --env", f"invalid environment variable: {value}")
    if not eq and key in os.environ:
        return f"{key}={os.environ[key]}"
    return value


def labels(opts: dict[str, Any]) -> dict[str, str]:
    lines: list[str] = []
    for path in opts.get("label_file") or []:
        lines += _key_value_file(path, "label")
    lines += opts.get("label") or []
    out: dict[str, str] = {}
    for line in lines:
        key, _, value = line.partition("=")
        if not key.strip():
            raise OptsError(f"invalid label '{line}': empty name")
        out[key] = value
    return out


# --- ports ---


def _port_range(value: str) -> tuple[int, int]:
    if not value:
        raise ValueError("empty string specified for ports")
    lo_s, dash, hi_s = value.partition("-")
    for part in (lo_s, hi_s) if dash else (lo_s,):
        if not part.isdigit() or int(part) > 65535:
            raise ValueError(f"invalid port {part}")
    lo = int(lo_s)
    hi = int(hi_s) if dash else lo
    if hi < lo:
        raise ValueError(f"invalid range specified for port: {value}")
    return lo, hi


def _split_proto(value: str) -> tuple[str, str]:
    port, slash, proto = value.partition("/")
    if not port:
        return "", ""
    return (proto if slash else "tcp"), port


def parse_ports(specs: list[str]) -> tuple[dict[str, dict[str, Any]], dict[str, list[dict[str, str]]]]:
    """``-p`` values (nat.ParsePortSpecs): (ExposedPorts, PortBindings)."""
    exposed: dict[str, dict[str, Any]] = {}
    bindings: dict[str, list[dict[str, str]]] = {}
    for raw in specs:
        parts = raw.split(":")
        cport = parts[-1]
        if len(parts) == 1:
            ip, hport = "", ""
        elif len(parts) == 2:
            ip, hport = "", parts[0]
        else:
            ip, hport = ":".join(parts[:-2]), parts[-2]
        if ip.startswith("[") and ip.endswith("]"):
            ip = ip[1:-1]
        if ip and not is_ip(ip):
            raise OptsError(f"invalid IP address: {ip}")
        proto, cport = _split_proto(cport)
        if not cport:
            raise OptsError(f"no port specified: {raw}<empty>")
        try:
            start, end = _port_range(cport)
        except ValueError:
            raise OptsError(f"invalid containerPort: {cport}") from None
        hstart = hend = 0
        if hport:
            try:
                hstart, hend = _port_range(hport)
            except ValueError:
                raise OptsError(f"invalid hostPort: {hport}") from None
            if end - start != hend - hstart and end != start:
                raise OptsError(f"invalid ranges specified for container and host Ports: {cport} and {hport}")
        if proto.lower() not in ("tcp", "udp", "sctp"):
            raise OptsError(f"invalid proto: {proto}")
        for i in range(end - start + 1):
            host = str(hstart + i) if hport else ""
            if start == end and hstart != hend:
                host = f"{hport.split('-')[0]}-{hend}"
            key = f"{start + i}/{proto.lower()}"
            exposed[key] = {}
            bindings.setdefault(key, []).append({"HostIp": ip, "HostPort": host})
    return exposed, bindings


def is_ip(value: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def expose(specs: list[str], exposed: dict[str, dict[str, Any]]) -> None:
    for e in specs:
        if ":" in e:
            raise OptsError(f"invalid port format for --expose: {e}")
        proto, port = _split_proto(e)
        try:
            start, end = _port_range(port)
        except ValueError as exc:
            raise OptsError(f"invalid range format for --expose: {e}, error: {exc}") from None
        for p in range(start, end + 1):
            exposed.setdefault(f"{p}/{proto}", {})


# --- mounts ---


def _parse_bool(value: str) -> bool:
    if value in ("1", "t", "T", "true", "TRUE", "True"):
        return True
    if value in ("0", "f", "F", "false", "FALSE", "False"):
        return False
    raise ValueError(value)


def parse_mount(value: str) -> dict[str, Any]:
    """``--mount`` (cli/opts/mount.go): the CSV form as a ``mount.Mount``."""
    import csv

    try:
        fields = next(csv.reader([value]))
    except (csv.Error, StopIteration):
        raise ValueError(f"invalid mount {value}") from None
    m: dict[str, Any] = {"Type": "volume"}
    bind: dict[str, Any] = {}
    vol: dict[str, Any] = {}
    tmpfs: dict[str, Any] = {}
    used = {"bind": False, "volume": False, "tmpfs": False}

    def driver() -> dict[str, Any]:
        d: dict[str, Any] = vol.setdefault("DriverConfig", {})
        return d

    for field in fields:
        key, eq, val = field.partition("=")
        key = key.lower()
        if not eq:
            if key in ("readonly", "ro"):
                m["ReadOnly"] = True
            elif key == "volume-nocopy":
                vol["NoCopy"] = True
                used["volume"] = True
            elif key == "bind-nonrecursive":
                bind["NonRecursive"] = True
                used["bind"] = True
            else:
                raise ValueError(f"invalid field '{field}' must be a key=value pair")
            continue
        if key == "type":
            m["Type"] = val.lower()
        elif key in ("source", "src"):
            m["Source"] = os.path.abspath(val) if val == "." or val.startswith("./") else val
        elif key in ("target", "dst", "destination"):
            m["Target"] = val
        elif key in ("readonly", "ro"):
            try:
                m["ReadOnly"] = _parse_bool(val)
            except ValueError:
                raise ValueError(f"invalid value for {key}: {val}") from None
        elif key == "consistency":
            m["Consistency"] = val.lower()
        elif key == "bind-propagation":
            bind["Propagation"] = val.lower()
            used["bind"] = True
        elif key == "bind-nonrecursive":
            try:
                bind["NonRecursive"] = _parse_bool(val)
            except ValueError:
                raise ValueError(f"invalid value for {key}: {val}") from None
            used["bind"] = True
        elif key == "volume-nocopy":
            try:
                vol["NoCopy"] = _parse_bool(val)
            except ValueError:
                raise ValueError(f"invalid value for volume-nocopy: {val}") from None
            used["volume"] = True
        elif key == "volume-label":
            k, _, v = val.partition("=")
            vol.setdefault("Labels", {})[k] = v
            used["volume"] = True
        elif key == "volume-driver":
            driver()["Name"] = val
            used["volume"] = True
        elif key == "volume-subpath":
            vol["Subpath"] = val
            used["volume"] = True
        elif key == "volume-opt":
            k, _, v = val.partition("=")
            driver().setdefault("Options", {})[k] = v
            used["volume"] = True
        elif key == "tmpfs-size":
            try:
                tmpfs["SizeBytes"] = ram_in_bytes(val)
            except ValueError:
                raise ValueError(f"invalid value for {key}: {val}") from None
            used["tmpfs"] = True
        elif key == "tmpfs-mode":
            try:
                tmpfs["Mode"] = int(val, 8)
            except ValueError:
                raise ValueError(f"invalid value for {key}: {val}") from None
            used["tmpfs"] = True
        else:
            raise ValueError(f"unexpected key '{key}' in '{field}'")
    if not m.get("Type"):
        raise ValueError("type is required")
    if not m.get("Target"):
        raise ValueError("target is required")
    for kind in ("volume", "bind", "tmpfs"):
        if used[kind] and m["Type"] != kind:
            raise ValueError(f"cannot mix '{kind}-*' options with mount type '{m['Type']}'")
    if bind:
        m["BindOptions"] = bind
    if vol:
        m["VolumeOptions"] = vol
    if tmpfs:
        m["TmpfsOptions"] = tmpfs
    return m


def volumes(specs: list[str]) -> tuple[list[str], dict[str, dict[str, Any]]]:
    """``-v``: binds (``src:dst[:opts]``, relative ``./src`` made absolute) and anonymous
    volumes (a bare container path)."""
    binds: list[str] = []
    anon: dict[str, dict[str, Any]] = {}
    for spec in specs:
        if not spec:
            raise OptsError("invalid empty volume spec")
        src, sep, rest = spec.partition(":")
        if not sep:
            if not spec.startswith("/"):
                raise OptsError(f"invalid volume specification: '{spec}': invalid mount config for type \"volume\": invalid mount path: '{spec}' mount path must be absolute")
            anon[spec] = {}
            continue
        if not rest or not rest.split(":")[0]:
            raise OptsError(f"invalid spec: {spec}: empty section between colons")
        if src.startswith("."):
            src = os.path.abspath(src)
        binds.append(f"{src}:{rest}")
    return binds, anon


def tmpfs_map(specs: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for spec in specs:
        dest, _, options = spec.partition(":")
        out[dest] = options
    return out


# --- devices, blkio, ulimits ---


def device(value: str) -> dict[str, str]:
    parts = value.split(":")
    src = parts[0]
    dst = src
    perms = "rwm"
    if len(parts) == 3:
        dst, perms = parts[1], parts[2]
    elif len(parts) == 2:
        if parts[1] and all(c in "rwm" for c in parts[1]):
            perms = parts[1]
        else:
            dst = parts[1]
    elif len(parts) > 3:
        raise FlagValueError(value, "--device", f"invalid device specification: {value}")
    if not dst.startswith("/"):
        raise FlagValueError(value, "--device", f"bad format for path: {dst}")
    return {"PathOnHost": src, "PathInContainer": dst, "CgroupPermissions": perms}


def blkio(value: str, flag: str, kind: str) -> dict[str, Any]:
    path, sep, rate = value.rpartition(":")
    if not sep or not path:
        raise FlagValueError(value, flag, f"bad format: {value}")
    if not path.startswith("/dev/"):
        raise FlagValueError(value, flag, f"bad format for device path: {value}")
    if kind == "weight":
        if not rate.isdigit() or not 10 <= int(rate) <= 1000:
            raise FlagValueError(value, flag, f"invalid weight for device: {value}")
        return {"Path": path, "Weight": int(rate)}
    if kind == "bps":
        try:
            n = ram_in_bytes(rate)
        except ValueError:
            raise FlagValueError(
                value, flag, f"invalid rate for device: {value}. The correct format is <device-path>:<number>[<unit>]. Number must be a positive integer. Unit is optional and can be kb, mb, or gb"
            ) from None
        return {"Path": path, "Rate": n}
    if not rate.isdigit():
        raise FlagValueError(value, flag, f"invalid rate for device: {value}. The correct format is <device-path>:<number>. Number must be a positive integer")
    return {"Path": path, "Rate": int(rate)}


def ulimit(value: str) -> dict[str, Any]:
    name, eq, limits = value.partition("=")
    if not eq:
        raise FlagValueError(value, "--ulimit", f"invalid ulimit argument: {value}")
    known = {"core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile", "nproc", "rss", "rtprio", "rttime", "sigpending", "stack"}
    if name not in known:
        raise FlagValueError(value, "--ulimit", f"invalid ulimit type: {name}")
    soft_s, colon, hard_s = limits.partition(":")
    try:
        soft = int(soft_s)
    except ValueError:
        raise FlagValueError(value, "--ulimit", f'invalid ulimit soft value {soft_s}: strconv.ParseInt: parsing "{soft_s}": invalid syntax') from None
    hard = soft
    if colon:
        try:
            hard = int(hard_s)
        except ValueError:
            raise FlagValueError(value, "--ulimit", f'invalid ulimit hard value {hard_s}: strconv.ParseInt: parsing "{hard_s}": invalid syntax') from None
    if soft > hard:
        raise FlagValueError(value, "--ulimit", f"ulimit soft limit must be less than or equal to hard limit: {soft} > {hard}")
    return {"Name": name, "Hard": hard, "Soft": soft}


def caps(values: list[str]) -> list[str] | None:
    """docker normalises capability names: upper case, ``CAP_`` prefix, ``ALL`` kept."""
    out: list[str] = []
    for v in values:
        c = v.strip().upper()
        if c != "ALL" and not c.startswith("CAP_"):
            c = "CAP_" + c
        if c not in out:
            out.append(c)
    return out or None


def security_opts(values: list[str]) -> list[str] | None:
    """``seccomp=<file>`` is read by the CLI and sent inline, as docker does."""
    from berth.oci.fastjson import dumps, loads

    out: list[str] = []
    for opt in values:
        if opt == "systempaths=unconfined":
            out.append(opt)
            continue
        key, eq, val = opt.partition("=")
        if not eq:
            key, colon, val = opt.partition(":")
            if colon:
                out.append(f"{key}={val}")
                continue
            if opt != "no-new-privileges":
                raise OptsError(f"Invalid --security-opt: {opt!r}")
            out.append(opt)
            continue
        if key == "seccomp" and val not in ("unconfined", "builtin"):
            try:
                with open(val, "rb") as f:
                    profile = f.read()
            except OSError as exc:
                raise OptsError(f"opening seccomp profile ({val}) failed: open {val}: {(exc.strerror or '').lower()}") from None
            try:
                val = dumps(loads(profile))
            except ValueError as exc:
                raise OptsError(f"compacting json for seccomp profile ({val}) failed: {exc}") from None
        out.append(f"{key}={val}")
    return out or None
