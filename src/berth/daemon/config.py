"""berthd's configuration: command-line flags and a daemon.json-style file.

The file (``--config-file``, default /etc/berth/daemon.json when it exists) is a JSON
object whose keys are dockerd's (``data-root``, ``hosts``, ``insecure-registries`` …, see
:data:`FILE_KEYS`). As in dockerd an unknown key is an error, and so is a setting given
both as a flag and in the file (no silent precedence); flags and file are otherwise merged
and anything set in neither takes its default.

The runtimes berthd knows are the built-in ones that are installed — ``berth-runtime``
(the one beside this Python, else on PATH), ``runc``, ``crun`` — plus those added with
``--add-runtime name=path`` or the file's ``"runtimes": {"name": {"path": …}}``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from dataclasses import dataclass, field
from typing import Any

import berth
from berth.errdefs import InvalidArgument

__all__ = [
    "DEFAULT_CONFIG_FILE",
    "DEFAULT_HOST",
    "FILE_KEYS",
    "DaemonConfig",
    "builtin_runtimes",
    "load",
    "parse_args",
]

DEFAULT_CONFIG_FILE = "/etc/berth/daemon.json"
DEFAULT_HOST = "unix:///run/berth/berth.sock"
LOG_LEVELS = ("debug", "info", "warn", "error", "fatal")
BUILTIN_RUNTIMES = ("berth-runtime", "runc", "crun")

# file key → (kind, DaemonConfig attribute)
FILE_KEYS: dict[str, tuple[str, str]] = {
    "data-root": ("str", "root"),
    "exec-root": ("str", "exec_root"),
    "hosts": ("list", "hosts"),
    "group": ("str", "group"),
    "log-level": ("str", "log_level"),
    "debug": ("bool", "debug"),
    "insecure-registries": ("list", "insecure_registries"),
    "registry-mirrors": ("list", "registry_mirrors"),
    "default-runtime": ("str", "default_runtime"),
    "runtimes": ("runtimes", "runtimes"),
    "labels": ("list", "labels"),
    "tls": ("bool", "tls"),
    "tlsverify": ("bool", "tlsverify"),
    "tlscacert": ("str", "tlscacert"),
    "tlscert": ("str", "tlscert"),
    "tlskey": ("str", "tlskey"),
    "bridge": ("str", "bridge"),
    "bip": ("str", "bip"),
    "default-address-pools": ("pools", "default_address_pools"),
    "icc": ("bool", "icc"),
    "ip-masq": ("bool", "ip_masq"),
    "nft-table": ("str", "nft_table"),
    "published-ports-policy": ("str", "published_ports_policy"),
}


class ConfigError(InvalidArgument):
    pass


@dataclass
class DaemonConfig:
    root: str = "/var/lib/berth"
    exec_root: str = "/run/berth"
    hosts: list[str] = field(default_factory=lambda: [DEFAULT_HOST])
    group: str = "berth"
    group_explicit: bool = False
    log_level: str = "info"
    debug: bool = False
    insecure_registries: list[str] = field(default_factory=list)
    registry_mirrors: list[str] = field(default_factory=list)
    default_runtime: str = "berth-runtime"
    runtimes: dict[str, str] = field(default_factory=dict)  # added ones; see all_runtimes
    labels: list[str] = field(default_factory=list)
    tls: bool = False
    tlsverify: bool = False
    tlscacert: str = ""
    tlscert: str = ""
    tlskey: str = ""
    config_file: str = ""
    # networking: the default bridge's interface and address, the pools networks take
    # their subnets from (daemon.json's [{"base": "10.20.0.0/16", "size": 24}]), berth's
    # nftables table, and whether published ports follow the host's input policy
    bridge: str = "berth0"
    bip: str = ""
    default_address_pools: list[str] = field(default_factory=list)  # CIDRs of the pools, in order
    icc: bool = True
    ip_masq: bool = True
    nft_table: str = "berth"
    published_ports_policy: str = "auto"  # auto | accept | drop

    def all_runtimes(self) -> dict[str, str]:
        """Every runtime by name: the installed built-ins, then the added ones."""
        out = builtin_runtimes()
        out.update(self.runtimes)
        return out


def builtin_runtimes() -> dict[str, str]:
    found = {}
    beside = os.path.join(os.path.dirname(sys.executable), "berth-runtime")
    for name in BUILTIN_RUNTIMES:
        path = beside if name == "berth-runtime" and os.access(beside, os.X_OK) else shutil.which(name)
        if path:
            found[name] = path
    return found


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="berthd",
        description="berthd: the berth container engine daemon (Docker Engine API)",
        argument_default=argparse.SUPPRESS,
    )
    a = p.add_argument
    a("--root", "--data-root", dest="root", metavar="DIR", help="persistent state (default /var/lib/berth)")
    a("--exec-root", dest="exec_root", metavar="DIR", help="runtime state: socket, pid file (default /run/berth)")
    a("-H", "--host", dest="hosts", action="append", metavar="HOST",
      help=f"socket to listen on, unix:///path or tcp://host:port (TLS only); repeatable (default {DEFAULT_HOST})")
    a("-G", "--group", dest="group", metavar="GROUP", help="group owning the unix socket (default berth, if it exists)")
    a("--log-level", dest="log_level", choices=LOG_LEVELS, help="logging level (default info)")
    a("-D", "--debug", dest="debug", action="store_true", help="debug mode: debug logging, Debug in info")
    a("--config-file", dest="config_file", metavar="FILE", help=f"daemon.json-style file (default {DEFAULT_CONFIG_FILE})")
    a("--insecure-registry", dest="insecure_registries", action="append", metavar="REGISTRY",
      help="registry host[:port] or CIDR reached over plain HTTP / unverified TLS; repeatable")
    a("--registry-mirror", dest="registry_mirrors", action="append", metavar="URL",
      help="mirror tried first for docker.io; repeatable")
    a("--default-runtime", dest="default_runtime", metavar="NAME", help="OCI runtime for containers (default berth-runtime)")
    a("--add-runtime", dest="runtimes", action="append", metavar="NAME=PATH", help="register an OCI runtime; repeatable")
    a("--label", dest="labels", action="append", metavar="KEY=VALUE", help="daemon label; repeatable")
    a("--tls", dest="tls", action="store_true", help="use TLS (implied by --tlsverify)")
    a("--tlsverify", dest="tlsverify", action="store_true", help="use TLS and require client certificates signed by --tlscacert")
    a("--tlscacert", dest="tlscacert", metavar="FILE", help="CA that signs client certificates")
    a("--tlscert", dest="tlscert", metavar="FILE", help="server certificate")
    a("--tlskey", dest="tlskey", metavar="FILE", help="server key")
    a("-b", "--bridge", dest="bridge", metavar="NAME", help="host bridge of the default network (default berth0)")
    a("--bip", dest="bip", metavar="CIDR", help="the default bridge's address and prefix, e.g. 10.213.0.1/24")
    a("--default-address-pool", dest="default_address_pools", action="append", metavar="base=CIDR,size=N",
      help="pool networks take subnets from; repeatable")
    a("--icc", dest="icc", type=_flag_bool, metavar="BOOL", help="containers on the default bridge may talk (default true)")
    a("--ip-masq", dest="ip_masq", type=_flag_bool, metavar="BOOL", help="masquerade traffic leaving bridge networks (default true)")
    a("--nft-table", dest="nft_table", metavar="NAME", help="berth's nftables table (default berth)")
    a("--published-ports-policy", dest="published_ports_policy", choices=("auto", "accept", "drop"),
      help="published ports: follow the host's input policy (auto, default), or always accept/drop")
    a("-v", "--version", dest="version", action="store_true", help="print the version and exit")
    return p


def _flag_bool(text: str) -> bool:
    if text.lower() in ("1", "true", "t"):
        return True
    if text.lower() in ("0", "false", "f"):
        return False
    raise argparse.ArgumentTypeError(f"invalid boolean {text!r}")


def pools(specs: list[Any], where: str) -> list[str]:
    """Docker's default-address-pools (``{"base": CIDR, "size": N}`` objects, or the
    flag's ``base=CIDR,size=N``) as the subnets they are cut into, in order."""
    import ipaddress

    out: list[str] = []
    for spec in specs:
        if isinstance(spec, str):
            spec = dict(part.partition("=")[::2] for part in spec.split(","))
        if not isinstance(spec, dict) or "base" not in spec or "size" not in spec:
            raise ConfigError(f"invalid default address pool {spec!r} in {where}: want base and size")
        try:
            base = ipaddress.ip_network(str(spec["base"]))
            size = int(spec["size"])
            if base.version != 4 or not base.prefixlen <= size <= 30 or size - base.prefixlen > 16:
                raise ValueError("an IPv4 base, size from its prefix to 30, at most 65536 subnets")
        except ValueError as exc:
            raise ConfigError(f"invalid default address pool {spec!r} in {where}: {exc}") from None
        out += [str(n) for n in base.subnets(new_prefix=size)]
    return out


def parse_args(argv: list[str]) -> dict[str, Any]:
    """The flags given on the command line (only those), as DaemonConfig attributes."""
    ns = _parser().parse_args(argv)
    flags = vars(ns)
    if "runtimes" in flags:
        added: dict[str, str] = {}
        for spec in flags["runtimes"]:
            name, eq, path = spec.partition("=")
            if not eq or not name or not path:
                raise ConfigError(f"invalid --add-runtime {spec!r}: expected name=path")
            added[name] = path
        flags["runtimes"] = added
    if "default_address_pools" in flags:
        flags["default_address_pools"] = pools(flags["default_address_pools"], "--default-address-pool")
    return flags


def _file_value(path: str, key: str, kind: str, value: Any) -> Any:
    def bad(expected: str) -> ConfigError:
        return ConfigError(f"invalid value for {key!r} in {path}: expected {expected}")

    if kind == "bool":
        if not isinstance(value, bool):
            raise bad("true or false")
        return value
    if kind == "str":
        if not isinstance(value, str):
            raise bad("a string")
        return value
    if kind == "list":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise bad("a list of strings")
        return list(value)
    if kind == "pools":
        if not isinstance(value, list):
            raise bad('a list of {"base": CIDR, "size": N}')
        return pools(value, path)
    # runtimes: {"name": {"path": "...", "runtimeArgs": [...]}}
    if not isinstance(value, dict):
        raise bad('an object {"name": {"path": "..."}}')
    out = {}
    for name, spec in value.items():
        if not isinstance(spec, dict) or not isinstance(spec.get("path"), str) or not spec["path"]:
            raise bad(f'runtime {name!r} as {{"path": "..."}}')
        out[name] = spec["path"]
    return out


def read_file(path: str) -> dict[str, Any]:
    """The file's settings as DaemonConfig attributes, keyed by file key."""
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except FileNotFoundError:
        raise ConfigError(f"open {path}: no such file or directory") from None
    except OSError as exc:
        raise ConfigError(f"open {path}: {exc.strerror.lower() if exc.strerror else exc}") from None
    except ValueError as exc:
        raise ConfigError(f"unable to configure berthd with file {path}: {exc}") from None
    if not isinstance(doc, dict):
        raise ConfigError(f"unable to configure berthd with file {path}: expected a JSON object")
    unknown = [k for k in doc if k not in FILE_KEYS]
    if unknown:
        raise ConfigError(
            f"unable to configure berthd with file {path}: the following directives don't "
            f"match any configuration option: {', '.join(unknown)}"
        )
    return {key: _file_value(path, key, FILE_KEYS[key][0], v) for key, v in doc.items()}


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + " ".join(value) + "]"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{v}" for k, v in value.items()) + "]"
    return str(value)


def load(argv: list[str]) -> tuple[DaemonConfig, bool]:
    """The merged configuration, and whether ``--version`` was asked for."""
    flags = parse_args(argv)
    show_version = bool(flags.pop("version", False))
    explicit_file = "config_file" in flags
    path = flags.pop("config_file", DEFAULT_CONFIG_FILE)
    from_file: dict[str, Any] = {}
    if explicit_file or os.path.exists(path):
        from_file = read_file(path)
    both = [(k, FILE_KEYS[k][1]) for k in from_file if FILE_KEYS[k][1] in flags]
    if both:
        detail = ", ".join(
            f"{key}: (from flag: {_show(flags[attr])}, from file: {_show(from_file[key])})" for key, attr in both
        )
        raise ConfigError(
            f"unable to configure berthd with file {path}: the following directives are "
            f"specified both as a flag and in the configuration file: {detail}"
        )
    cfg = DaemonConfig(config_file=path if from_file or explicit_file else "")
    for key, value in from_file.items():
        setattr(cfg, FILE_KEYS[key][1], value)
    for attr, value in flags.items():
        setattr(cfg, attr, value)
    cfg.group_explicit = "group" in flags or "group" in from_file
    _check(cfg)
    return cfg, show_version


def _check(cfg: DaemonConfig) -> None:
    cfg.root = os.path.abspath(cfg.root)
    cfg.exec_root = os.path.abspath(cfg.exec_root)
    if cfg.log_level not in LOG_LEVELS:
        raise ConfigError(f"invalid log level {cfg.log_level!r}: expected one of {', '.join(LOG_LEVELS)}")
    if cfg.debug:
        cfg.log_level = "debug"
    if cfg.tlsverify:
        cfg.tls = True
    for name in cfg.runtimes:
        if name in BUILTIN_RUNTIMES:
            raise ConfigError(f"runtime name {name!r} is reserved")
    known = cfg.all_runtimes()
    if cfg.default_runtime not in known:
        raise ConfigError(
            f"default runtime {cfg.default_runtime!r} is not installed or configured "
            f"(known: {', '.join(sorted(known)) or 'none'})"
        )
    if cfg.published_ports_policy not in ("auto", "accept", "drop"):
        raise ConfigError(
            f"invalid published-ports-policy {cfg.published_ports_policy!r}: expected auto, accept or drop"
        )
    for label in cfg.labels:
        if "=" not in label:
            raise ConfigError(f"invalid label {label!r}: expected key=value")
    if not cfg.hosts:
        cfg.hosts = [DEFAULT_HOST]


def version_line() -> str:
    return f"berthd version {berth.__version__}"
