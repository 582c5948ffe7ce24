"""Seccomp filters from the OCI ``linux.seccomp`` object, compiled by libseccomp.

A seccomp filter (seccomp(2), SECCOMP_SET_MODE_FILTER) is a classic-BPF program the kernel
runs on every system call of the thread and its descendants; it sees the syscall number,
the audit architecture and the six arguments, and returns an action: allow, log, return an
errno, notify a user-space agent, trap (SIGSYS), hand to a tracer, or kill the thread or
the process. Filters stack and can never be removed.

Vocabulary (runtime-spec config-linux.md#seccomp; names are libseccomp's seccomp.h):

- **defaultAction** / **defaultErrnoRet** — what a syscall no rule matches gets.
- **architectures** — audit architectures the filter accepts besides the native one
  (x86_64 also runs x86 and x32 code); a syscall from any other architecture kills the
  process. The native architecture is always in the filter.
- **syscalls[]** — rules: each of ``names`` with ``action`` (+ ``errnoRet``), optionally limited by
  ``args`` comparisons (``index``, ``op``, ``value``, ``valueTwo``). Conditions on different
  arguments are AND-ed in one rule. When two conditions name the *same* argument, runc adds
  every condition of that entry as a separate rule (OR), and so does berth.
- **flags** — ``SECCOMP_FILTER_FLAG_*`` passed at load.

Three runc behaviours kept on purpose: a syscall name libseccomp cannot resolve is skipped
(the profile may name syscalls newer than the library: :attr:`Filter.skipped`); a rule whose
action equals the default action is skipped (libseccomp rejects it as redundant);
``SECCOMP_FILTER_FLAG_TSYNC`` is accepted (the runtime is single-threaded, it changes
nothing). runc's "patchbpf" (ENOSYS instead of the default action for syscalls newer than
the profile) is not done.

Cost: :func:`validate` is pure Python and runs before any ctypes call, so a malformed
profile fails fast and names the field (``linux.seccomp.syscalls[3].action: unknown action
"SCMP_ACT_NOPE"``). ``ctypes`` and libseccomp (``libseccomp.so.2``) are loaded only by
:func:`compile`, i.e. only when a profile is present.

Where it runs: :meth:`Filter.load` must be the runtime's last step before execve(2), since
every later syscall of the runtime itself goes through the filter. Loading needs either
``no_new_privs`` or CAP_SYS_ADMIN (seccomp(2)). The filter is built with libseccomp's
``SCMP_FLTATR_CTL_NNP`` off: the runtime owns no_new_privs (``process.noNewPrivileges``).
So, as runc does:

- with noNewPrivileges: set it, finalise the user and capabilities, then load the filter
  last, just before exec;
- without it: load the filter *before* dropping capabilities (while CAP_SYS_ADMIN is still
  held), which means the filter must allow the remaining setup syscalls (capset, setuid,
  prctl…).

Two ways to load. :meth:`Filter.load` lets libseccomp generate and load the BPF. A
:class:`Program` is the generated BPF as bytes plus the seccomp(2) flags: build it in the
runtime's parent with :func:`program` (optionally through an on-disk cache keyed by the
validated profile, the libseccomp version and the machine), carry it across fork and
pivot_root, and load it in the container's init with one seccomp(2) call. libseccomp
needs ~10 ms to generate the default three-architecture profile; a cached program loads
in well under a millisecond.

``SCMP_ACT_NOTIFY``: :meth:`Filter.load` / :meth:`Program.load` return the listener fd; the runtime passes it to
the agent at ``listenerPath`` with :func:`send_to_listener` (the container process state
with ``fds: ["seccompFd"]`` over SCM_RIGHTS), from a process that is not under the filter.

References: seccomp(2), seccomp_rule_add(3), seccomp_attr_set(3), seccomp_export_bpf(3),
seccomp_notify_fd(3); runtime-spec config-linux.md#seccomp and features.md.
"""

from __future__ import annotations

import errno
import os

from berth import errdefs

TYPE_CHECKING = False  # typing costs ~3 ms at run time; the runtime must start fast
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "ACTIONS",
    "ARCHITECTURES",
    "FLAGS",
    "OPERATORS",
    "Filter",
    "Profile",
    "Program",
    "Rule",
    "compile",
    "native_arch",
    "program",
    "resolve",
    "send_to_listener",
    "supported",
    "validate",
]

# seccomp.h: action name → (value, takes errnoRet)
ACTIONS: dict[str, tuple[int, bool]] = {
    "SCMP_ACT_KILL": (0x00000000, False),  # = KILL_THREAD
    "SCMP_ACT_KILL_THREAD": (0x00000000, False),
    "SCMP_ACT_KILL_PROCESS": (0x80000000, False),
    "SCMP_ACT_TRAP": (0x00030000, False),
    "SCMP_ACT_ERRNO": (0x00050000, True),
    "SCMP_ACT_TRACE": (0x7FF00000, True),
    "SCMP_ACT_LOG": (0x7FFC0000, False),
    "SCMP_ACT_NOTIFY": (0x7FC00000, False),
    "SCMP_ACT_ALLOW": (0x7FFF0000, False),
}
_NOTIFY = 0x7FC00000

OPERATORS: dict[str, int] = {
    "SCMP_CMP_NE": 1,
    "SCMP_CMP_LT": 2,
    "SCMP_CMP_LE": 3,
    "SCMP_CMP_EQ": 4,
    "SCMP_CMP_GE": 5,
    "SCMP_CMP_GT": 6,
    "SCMP_CMP_MASKED_EQ": 7,
}

# seccomp.h SCMP_ARCH_* = linux/audit.h AUDIT_ARCH_*: ELF machine | 64-bit | little-endian
_LE, _64, _N32 = 0x40000000, 0x80000000, 0x20000000
ARCHITECTURES: dict[str, int] = {
    "SCMP_ARCH_X86": 3 | _LE,
    "SCMP_ARCH_X86_64": 62 | _64 | _LE,
    "SCMP_ARCH_X32": 62 | _LE,
    "SCMP_ARCH_ARM": 40 | _LE,
    "SCMP_ARCH_AARCH64": 183 | _64 | _LE,
    "SCMP_ARCH_MIPS": 8,
    "SCMP_ARCH_MIPS64": 8 | _64,
    "SCMP_ARCH_MIPS64N32": 8 | _64 | _N32,
    "SCMP_ARCH_MIPSEL": 8 | _LE,
    "SCMP_ARCH_MIPSEL64": 8 | _64 | _LE,
    "SCMP_ARCH_MIPSEL64N32": 8 | _64 | _LE | _N32,
    "SCMP_ARCH_PPC": 20,
    "SCMP_ARCH_PPC64": 21 | _64,
    "SCMP_ARCH_PPC64LE": 21 | _64 | _LE,
    "SCMP_ARCH_S390": 22,
    "SCMP_ARCH_S390X": 22 | _64,
    "SCMP_ARCH_PARISC": 15,
    "SCMP_ARCH_PARISC64": 15 | _64,
    "SCMP_ARCH_RISCV64": 243 | _64 | _LE,
}
_MACHINE_ARCH = {
    "x86_64": "SCMP_ARCH_X86_64", "i686": "SCMP_ARCH_X86", "i386": "SCMP_ARCH_X86",
    "aarch64": "SCMP_ARCH_AARCH64", "armv7l": "SCMP_ARCH_ARM", "armv6l": "SCMP_ARCH_ARM",
    "ppc64le": "SCMP_ARCH_PPC64LE", "ppc64": "SCMP_ARCH_PPC64", "s390x": "SCMP_ARCH_S390X",
    "riscv64": "SCMP_ARCH_RISCV64", "mips64": "SCMP_ARCH_MIPS64", "mips": "SCMP_ARCH_MIPS",
}

# flag → libseccomp filter attribute (seccomp.h enum scmp_filter_attr); TSYNC is also an
# attribute, WAIT_KILLABLE_RECV needs libseccomp >= 2.6 (SCMP_FLTATR_CTL_WAITKILL)
FLAGS: dict[str, int] = {
    "SECCOMP_FILTER_FLAG_TSYNC": 4,  # SCMP_FLTATR_CTL_TSYNC
    "SECCOMP_FILTER_FLAG_LOG": 6,  # SCMP_FLTATR_CTL_LOG
    "SECCOMP_FILTER_FLAG_SPEC_ALLOW": 7,  # SCMP_FLTATR_CTL_SSB
    "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV": 10,  # SCMP_FLTATR_CTL_WAITKILL
}
# linux/seccomp.h: seccomp(2) operation and flags
_SECCOMP_SET_MODE_FILTER = 1
_KERNEL_FLAGS: dict[str, int] = {
    "SECCOMP_FILTER_FLAG_TSYNC": 1,
    "SECCOMP_FILTER_FLAG_LOG": 2,
    "SECCOMP_FILTER_FLAG_SPEC_ALLOW": 4,
    "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV": 32,
}
_FLAG_NEW_LISTENER = 8
_FLAG_TSYNC_ESRCH = 16
_NR_SECCOMP = {"x86_64": 317, "aarch64": 277, "i686": 354, "i386": 354, "armv7l": 383,
               "s390x": 348, "ppc64le": 358, "ppc64": 358, "riscv64": 277}
_ATTR_CTL_NNP = 3
_ATTR_CTL_TSYNC = 4
_ATTR_CTL_OPTIMIZE = 8
_ATTR_API_SYSRAWRC = 9
_MAX_ARGS = 6  # a Linux syscall has at most six arguments
_U64 = (1 << 64) - 1
_ERRNO_MAX = 0xFFFF  # SECCOMP_RET_DATA


def native_arch() -> str:
    """The ``SCMP_ARCH_*`` name of this machine (from uname(2), no libseccomp)."""
    machine = os.uname().machine
    return _MACHINE_ARCH.get(machine, "SCMP_ARCH_" + machine.upper())


class Rule:
    """One libseccomp rule: a syscall name, an action value and its AND-ed conditions
    ``(index, op, value, valueTwo)``. ``where`` names the OCI entry it came from."""

    __slots__ = ("action", "conditions", "name", "where")

    def __init__(self, name: str, action: int, conditions: tuple[tuple[int, int, int, int], ...],
                 where: str) -> None:
        self.name = name
        self.action = action
        self.conditions = conditions
        self.where = where

    def __repr__(self) -> str:
        return f"Rule({self.name!r}, {self.action:#x}, {self.conditions!r})"


class Profile:
    """A validated ``linux.seccomp`` object: every value checked and translated, rules
    expanded one per (name, condition group), rules equal to the default already dropped.
    No libseccomp yet; :meth:`compile` builds the filter."""

    __slots__ = ("_digest", "architectures", "default_action", "field", "flags",
                 "listener_metadata", "listener_path", "rules")

    def __init__(self, default_action: int, architectures: list[int], flags: list[str],
                 rules: list[Rule], listener_path: str | None = None,
                 listener_metadata: str | None = None, field: str = "linux.seccomp") -> None:
        self.default_action = default_action
        self.architectures = architectures
        self.flags = flags
        self.rules = rules
        self.listener_path = listener_path
        self.listener_metadata = listener_metadata
        self.field = field
        self._digest: str | None = None

    @property
    def uses_notify(self) -> bool:
        return any(r.action == _NOTIFY for r in self.rules)

    def kernel_flags(self) -> int:
        """The seccomp(2) flags to load with. WAIT_KILLABLE_RECV only means something
        with a listener and the kernel refuses it without one: dropped then."""
        notify = self.uses_notify
        flags = 0
        for name in self.flags:
            if name != "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV" or notify:
                flags |= _KERNEL_FLAGS[name]
        if notify:
            flags |= _FLAG_NEW_LISTENER
            if flags & _KERNEL_FLAGS["SECCOMP_FILTER_FLAG_TSYNC"]:
                flags |= _FLAG_TSYNC_ESRCH  # TSYNC with a listener needs it (Linux 5.7)
        return flags

    def digest(self) -> str:
        """sha256 of everything that decides the generated BPF (not the field names)."""
        if self._digest is None:
            text = repr((self.default_action, self.architectures, self.flags,
                         [(r.name, r.action, r.conditions) for r in self.rules]))
            self._digest = _sha256_hex(text.encode())
        return self._digest

    def compile(self) -> Filter:
        return _build(self)


def _sha256_hex(data: bytes) -> str:
    # hashlib costs ~2 ms to import (OpenSSL); the builtin module ~0.05 ms
    try:
        from _sha2 import sha256  # type: ignore[import-not-found]  # 3.12+
    except ImportError:
        try:
            from _sha256 import sha256  # type: ignore[import-not-found,no-redef]
        except ImportError:
            from hashlib import sha256  # type: ignore[assignment]
    return str(sha256(data).hexdigest())


def _uint(value: object, where: str, limit: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= limit:
        raise errdefs.InvalidArgument(f"{where}: expected an integer from 0 to {limit}, "
                                      f"not {value!r}")
    return int(value)


def _action(name: object, errno_ret: object, where: str) -> int:
    if not isinstance(name, str):
        raise errdefs.InvalidArgument(f"{where}: expected an action name, not {name!r}")
    entry = ACTIONS.get(name)
    if entry is None:
        raise errdefs.InvalidArgument(f'{where}: unknown action "{name}"')
    value, takes_errno = entry
    if not takes_errno:
        if errno_ret is not None:  # runtime-spec: MUST fail
            raise errdefs.InvalidArgument(
                f'{where}: action "{name}" does not take an errno return code')
        return value
    ret = errno.EPERM if errno_ret is None else _uint(errno_ret, where + " errnoRet", _ERRNO_MAX)
    return value | ret


def _list(value: object, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise errdefs.InvalidArgument(f"{where}: expected a list, not {type(value).__name__}")
    return value


def validate(profile: dict[str, Any], field: str = "linux.seccomp") -> Profile:
    """Check and translate the OCI seccomp object; no libseccomp, no kernel."""
    if not isinstance(profile, dict):
        raise errdefs.InvalidArgument(f"{field}: expected an object, not {type(profile).__name__}")
    if "defaultAction" not in profile:
        raise errdefs.InvalidArgument(f"{field}.defaultAction: required")
    default = _action(profile["defaultAction"], profile.get("defaultErrnoRet"),
                      f"{field}.defaultAction")
    if default == _NOTIFY:  # the agent would have to answer the runtime's own write(2)s
        raise errdefs.InvalidArgument(
            f'{field}.defaultAction: "SCMP_ACT_NOTIFY" cannot be the default action')

    archs: list[int] = []
    for i, name in enumerate(_list(profile.get("architectures"), f"{field}.architectures")):
        token = ARCHITECTURES.get(name) if isinstance(name, str) else None
        if token is None:
            raise errdefs.InvalidArgument(f'{field}.architectures[{i}]: unknown architecture "{name}"')
        if token not in archs:
            archs.append(token)

    flags: list[str] = []
    for i, name in enumerate(_list(profile.get("flags"), f"{field}.flags")):
        if not isinstance(name, str) or name not in FLAGS:
            raise errdefs.InvalidArgument(f'{field}.flags[{i}]: unknown flag "{name}"')
        if name not in flags:
            flags.append(name)

    listener_path = profile.get("listenerPath") or None
    metadata = profile.get("listenerMetadata") or None
    if listener_path is not None and not isinstance(listener_path, str):
        raise errdefs.InvalidArgument(f"{field}.listenerPath: expected a string")
    if metadata is not None:
        if not isinstance(metadata, str):
            raise errdefs.InvalidArgument(f"{field}.listenerMetadata: expected a string")
        if listener_path is None:
            raise errdefs.InvalidArgument(f"{field}.listenerMetadata: set without listenerPath")

    rules: list[Rule] = []
    for i, entry in enumerate(_list(profile.get("syscalls"), f"{field}.syscalls")):
        where = f"{field}.syscalls[{i}]"
        if not isinstance(entry, dict):
            raise errdefs.InvalidArgument(f"{where}: expected an object")
        names = entry.get("names")
        if not isinstance(names, list) or not names:
            raise errdefs.InvalidArgument(f"{where}.names: expected a non-empty list of names")
        for j, name in enumerate(names):
            if not isinstance(name, str) or not name:
                raise errdefs.InvalidArgument(f"{where}.names[{j}]: expected a syscall name, "
                                              f"not {name!r}")
        if "action" not in entry:
            raise errdefs.InvalidArgument(f"{where}.action: required")
        action = _action(entry["action"], entry.get("errnoRet"), f"{where}.action")
        if action == _NOTIFY:
            if listener_path is None:
                raise errdefs.InvalidArgument(
                    f'{where}.action: "SCMP_ACT_NOTIFY" needs {field}.listenerPath')
            if "write" in names:  # the init could never report the listener fd (as runc)
                raise errdefs.InvalidArgument(
                    f'{where}.action: "SCMP_ACT_NOTIFY" cannot be used for "write"')
        conds: list[tuple[int, int, int, int]] = []
        per_arg = [0] * _MAX_ARGS
        for k, arg in enumerate(_list(entry.get("args"), f"{where}.args")):
            at = f"{where}.args[{k}]"
            if not isinstance(arg, dict):
                raise errdefs.InvalidArgument(f"{at}: expected an object")
            index = _uint(arg.get("index"), f"{at}.index", _MAX_ARGS - 1)
            op_name = arg.get("op")
            op = OPERATORS.get(op_name) if isinstance(op_name, str) else None
            if op is None:
                raise errdefs.InvalidArgument(f'{at}.op: unknown operator "{op_name}"')
            value = _uint(arg.get("value"), f"{at}.value", _U64)
            value2 = _uint(arg.get("valueTwo", 0), f"{at}.valueTwo", _U64)
            per_arg[index] += 1
            conds.append((index, op, value, value2))
        if action == default:  # redundant, and libseccomp refuses it: skip as runc does
            continue
        groups = [(c,) for c in conds] if max(per_arg) > 1 else [tuple(conds)]
        for name in names:
            for group in groups:
                rules.append(Rule(name, action, group, where))
    return Profile(default, archs, flags, rules, listener_path, metadata, field)


def compile(profile: dict[str, Any] | Profile, field: str = "linux.seccomp") -> Filter:
    """Validate the OCI seccomp object and build its libseccomp filter (not loaded)."""
    p = profile if isinstance(profile, Profile) else validate(profile, field)
    return _build(p)


# --- libseccomp ----------------------------------------------------------------------

_lib_cache: list[Any] = []


def _lib() -> Any:
    """(ctypes module, libseccomp CDLL, scmp_arg_cmp type), loaded once."""
    if _lib_cache:
        return _lib_cache[0]
    import ctypes

    try:
        lib = ctypes.CDLL("libseccomp.so.2")
    except OSError as exc:
        raise errdefs.FailedPrecondition(f"load libseccomp.so.2: {exc}") from exc

    class ArgCmp(ctypes.Structure):
        _fields_ = (("arg", ctypes.c_uint), ("op", ctypes.c_int),
                    ("datum_a", ctypes.c_uint64), ("datum_b", ctypes.c_uint64))

    class Version(ctypes.Structure):
        _fields_ = (("major", ctypes.c_uint), ("minor", ctypes.c_uint), ("micro", ctypes.c_uint))

    ctx, u32, c_int = ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int
    for name, res, args in (
        ("seccomp_init", ctx, [u32]),
        ("seccomp_release", None, [ctx]),
        ("seccomp_arch_add", c_int, [ctx, u32]),
        ("seccomp_arch_exist", c_int, [ctx, u32]),
        ("seccomp_arch_native", u32, []),
        ("seccomp_arch_resolve_name", u32, [ctypes.c_char_p]),
        ("seccomp_syscall_resolve_name", c_int, [ctypes.c_char_p]),
        ("seccomp_syscall_resolve_name_arch", c_int, [u32, ctypes.c_char_p]),
        ("seccomp_rule_add_array", c_int, [ctx, u32, c_int, ctypes.c_uint, ctypes.POINTER(ArgCmp)]),
        ("seccomp_attr_set", c_int, [ctx, c_int, u32]),
        ("seccomp_load", c_int, [ctx]),
        ("seccomp_export_bpf", c_int, [ctx, c_int]),
        ("seccomp_notify_fd", c_int, [ctx]),
        ("seccomp_api_get", ctypes.c_uint, []),
        ("seccomp_version", ctypes.POINTER(Version), []),
    ):
        fn = getattr(lib, name)
        fn.restype = res
        fn.argtypes = args
    _lib_cache.append((ctypes, lib, ArgCmp))
    return _lib_cache[0]


def _fail(what: str, rc: int) -> errdefs.BerthError:
    err = -rc if rc < 0 else errno.EINVAL
    return errdefs.from_oserror(what, OSError(err, os.strerror(err)))


def _version() -> str:
    _, lib, _ = _lib()
    v = lib.seccomp_version().contents
    return f"{v.major}.{v.minor}.{v.micro}"


def resolve(name: str, arch: str | None = None) -> int:
    """The syscall number of ``name`` on ``arch`` (an ``SCMP_ARCH_*`` name, default native);
    negative for a libseccomp pseudo-syscall, -1 (__NR_SCMP_ERROR) when unknown."""
    _, lib, _ = _lib()
    if arch is None:
        return int(lib.seccomp_syscall_resolve_name(name.encode()))
    return int(lib.seccomp_syscall_resolve_name_arch(ARCHITECTURES[arch], name.encode()))


def _build(p: Profile) -> Filter:
    _, lib, arg_cmp = _lib()
    f = p.field
    if p.uses_notify and lib.seccomp_api_get() < 6:
        raise errdefs.NotImplemented(
            f"{f}: SCMP_ACT_NOTIFY needs libseccomp API level 6 (libseccomp >= 2.5.0, "
            f"Linux >= 5.7), have level {lib.seccomp_api_get()}")
    handle = lib.seccomp_init(p.default_action)
    if not handle:
        raise errdefs.InvalidArgument(f"{f}.defaultAction: libseccomp refused {p.default_action:#x}")
    flt = Filter(handle, p)
    try:
        # the runtime sets no_new_privs itself (process.noNewPrivileges)
        rc = lib.seccomp_attr_set(handle, _ATTR_CTL_NNP, 0)
        if rc < 0:
            raise _fail(f"{f}: unset libseccomp's no_new_privs attribute", rc)
        lib.seccomp_attr_set(handle, _ATTR_API_SYSRAWRC, 1)  # kernel errnos from load
        if len(p.rules) > 32:  # binary tree of syscalls (runc does the same); not fatal
            lib.seccomp_attr_set(handle, _ATTR_CTL_OPTIMIZE, 2)
        for token in p.architectures:
            rc = lib.seccomp_arch_add(handle, token)
            if rc < 0 and rc != -errno.EEXIST:
                name = next(k for k, v in ARCHITECTURES.items() if v == token)
                if rc == -errno.EDOM:
                    raise errdefs.InvalidArgument(
                        f'{f}.architectures: "{name}" cannot share a filter with the '
                        f'native "{native_arch()}" (byte order differs)')
                raise _fail(f'{f}.architectures: add "{name}"', rc)
        for flag in p.flags:
            # a flag this libseccomp cannot set only matters to Filter.load: a Program
            # passes it to the kernel itself
            if lib.seccomp_attr_set(handle, FLAGS[flag], 1) < 0:
                flt.missing_flags.append(flag)
        cache: dict[str, int] = {}
        for r in p.rules:
            nr = cache.get(r.name)
            if nr is None:
                nr = cache[r.name] = lib.seccomp_syscall_resolve_name(r.name.encode())
            if nr == -1:  # __NR_SCMP_ERROR: unknown to libseccomp, skipped as runc does
                if r.name not in flt.skipped:
                    flt.skipped.append(r.name)
                continue
            n = len(r.conditions)
            arr = (arg_cmp * n)(*(arg_cmp(*c) for c in r.conditions)) if n else None
            rc = lib.seccomp_rule_add_array(handle, r.action, nr, n, arr)
            if rc < 0:
                raise _fail(f'{r.where}: add rule for "{r.name}"', rc)
    except BaseException:
        flt.release()
        raise
    return flt


class Filter:
    """A compiled (not yet loaded) libseccomp filter. Release it when done; :meth:`load`
    does not release it, so a failed load can be reported and retried."""

    __slots__ = ("_handle", "missing_flags", "profile", "skipped")

    def __init__(self, handle: int, profile: Profile) -> None:
        self._handle: int | None = handle
        self.profile = profile
        self.skipped: list[str] = []
        self.missing_flags: list[str] = []

    def _ctx(self) -> int:
        if self._handle is None:
            raise errdefs.FailedPrecondition(f"{self.profile.field}: filter already released")
        return self._handle

    def load(self) -> int:
        """Load the filter into the kernel for this thread (and, with TSYNC, its siblings).
        Returns the notify listener fd when a rule uses SCMP_ACT_NOTIFY, else -1."""
        _, lib, _ = _lib()
        ctx = self._ctx()
        if self.missing_flags:
            flag = self.missing_flags[0]
            raise errdefs.NotImplemented(
                f'{self.profile.field}.flags[{self.profile.flags.index(flag)}]: "{flag}" is '
                f"not supported by libseccomp {_version()} (load a Program instead)")
        rc = lib.seccomp_load(ctx)
        if rc < 0:
            raise _fail("load seccomp filter", rc)
        if not self.profile.uses_notify:
            return -1
        fd = int(lib.seccomp_notify_fd(ctx))
        if fd < 0:
            raise _fail("get seccomp notify fd", fd)
        return fd

    def export_bpf(self, fd: int) -> None:
        """Write the BPF program (struct sock_filter[], host byte order) to ``fd``."""
        _, lib, _ = _lib()
        rc = lib.seccomp_export_bpf(self._ctx(), fd)
        if rc < 0:
            raise _fail(f"export seccomp filter to fd {fd}", rc)

    def bpf(self) -> bytes:
        """The BPF program as bytes (8 bytes per instruction)."""
        fd = os.memfd_create("berth-seccomp-bpf")
        try:
            self.export_bpf(fd)
            os.lseek(fd, 0, os.SEEK_SET)
            chunks = []
            while chunk := os.read(fd, 1 << 16):
                chunks.append(chunk)
            return b"".join(chunks)
        finally:
            os.close(fd)

    def program(self) -> Program:
        """The generated BPF and its load flags, loadable without libseccomp."""
        p = self.profile
        return Program(self.bpf(), p.kernel_flags(), p.field)

    def release(self) -> None:
        if self._handle is not None:
            _, lib, _ = _lib()
            lib.seccomp_release(self._handle)
            self._handle = None

    def __enter__(self) -> Filter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def __del__(self) -> None:
        if self._handle is not None and _lib_cache:
            self.release()


class Program:
    """A generated seccomp BPF program (``struct sock_filter[]``, host byte order) and the
    seccomp(2) flags to load it with. Plain bytes: it survives fork, pivot_root and a
    cache file, and :meth:`load` needs neither libseccomp nor the profile."""

    __slots__ = ("bpf", "field", "flags")

    def __init__(self, bpf: bytes, flags: int = 0, field: str = "linux.seccomp") -> None:
        if not bpf or len(bpf) % 8:
            raise errdefs.InvalidArgument(f"{field}: BPF program of {len(bpf)} bytes is not a "
                                          "whole number of instructions")
        self.bpf = bpf
        self.flags = flags
        self.field = field

    @property
    def notify(self) -> bool:
        return bool(self.flags & _FLAG_NEW_LISTENER)

    def load(self) -> int:
        """seccomp(SECCOMP_SET_MODE_FILTER, flags, &prog) for this thread; the listener fd
        when the program has SCMP_ACT_NOTIFY rules, else -1."""
        ct, sock_fprog, _, _ = _ctypes_types()
        buf = ct.create_string_buffer(self.bpf, len(self.bpf))
        prog = sock_fprog(len(self.bpf) // 8, ct.addressof(buf))
        ret = _seccomp_syscall(_SECCOMP_SET_MODE_FILTER, self.flags, ct.byref(prog))
        if ret < 0:
            raise _fail(f"load seccomp filter ({len(self.bpf) // 8} instructions, flags "
                        f"{self.flags:#x})", ret)
        return ret if self.notify else -1


_types_cache: list[Any] = []


def _ctypes_types() -> Any:
    """(ctypes, struct sock_fprog, libc, seccomp(2) number), made once: defining a ctypes
    structure costs ~0.1 ms."""
    if not _types_cache:
        import ctypes

        from berth.linux.syscalls import default

        class SockFprog(ctypes.Structure):
            _fields_ = (("len", ctypes.c_ushort), ("filter", ctypes.c_void_p))

        _types_cache.append((ctypes, SockFprog, default().raw(),
                             _NR_SECCOMP.get(os.uname().machine)))
    return _types_cache[0]


def _seccomp_syscall(op: int, flags: int, arg: Any) -> int:
    """seccomp(2) through syscall(2) (glibc 2.36 has no wrapper); -errno on failure."""
    ct, _, libc, nr = _ctypes_types()
    if nr is None:
        raise errdefs.NotImplemented(f"seccomp(2) number for {os.uname().machine} not known")
    ret = int(libc.syscall(ct.c_long(nr), ct.c_uint(op), ct.c_uint(flags), arg))
    return -ct.get_errno() if ret < 0 else ret


def _kernel_has_flag(flag: int) -> bool:
    """A flag the kernel knows makes seccomp(2) fail on the NULL program (EFAULT), an
    unknown one on the flags (EINVAL) — the probe libseccomp uses too."""
    if flag == _KERNEL_FLAGS["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]:
        flag |= _FLAG_NEW_LISTENER  # refused without it
    return _seccomp_syscall(_SECCOMP_SET_MODE_FILTER, flag, None) == -errno.EFAULT


_CACHE_MAGIC = b"berthbpf"


def program(profile: dict[str, Any] | Profile, cache_dir: str | None = None,
            field: str = "linux.seccomp") -> Program:
    """Validate the profile and return its BPF :class:`Program`.

    With ``cache_dir``, the program is read from ``<cache_dir>/<key>.bpf`` when present;
    the key covers the validated profile, the libseccomp version (it decides which names
    resolve) and the machine. A miss compiles with libseccomp and writes the file
    atomically (temp, fsync, rename); a cache that cannot be written is not an error.
    """
    p = profile if isinstance(profile, Profile) else validate(profile, field)
    for i, name in enumerate(p.flags):
        if _KERNEL_FLAGS[name] & p.kernel_flags() and not _kernel_has_flag(_KERNEL_FLAGS[name]):
            raise errdefs.NotImplemented(f'{p.field}.flags[{i}]: "{name}" is not supported by '
                                         f"this kernel ({os.uname().release})")
    path = None
    if cache_dir is not None:
        key = _sha256_hex(f"{p.digest()} {_version()} {os.uname().machine}".encode())
        path = os.path.join(cache_dir, key + ".bpf")
        try:
            with open(path, "rb") as fh:
                data = fh.read()
            n = int.from_bytes(data[8:12], "little")
            if data[:8] == _CACHE_MAGIC and len(data) == 12 + 8 * n:
                return Program(data[12:], p.kernel_flags(), p.field)
        except OSError:
            pass
    with _build(p) as flt:
        prog = flt.program()
    if path is not None:
        _write_cache(path, prog.bpf)
    return prog


def _write_cache(path: str, bpf: bytes) -> None:
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        try:
            data = memoryview(_CACHE_MAGIC + (len(bpf) // 8).to_bytes(4, "little") + bpf)
            while data:
                data = data[os.write(fd, data):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.rename(tmp, path)
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass


def send_to_listener(listener_path: str, seccomp_fd: int, pid: int, state: dict[str, Any],
                     metadata: str | None = None) -> None:
    """Send the container process state and the notify fd to the seccomp agent at
    ``listener_path`` (runtime-spec config-linux.md#the-container-process-state): one
    AF_UNIX stream connection, the JSON as payload, the fd as SCM_RIGHTS, then close."""
    import json
    import socket

    msg: dict[str, Any] = {"ociVersion": state.get("ociVersion", "1.0.2"),
                           "fds": ["seccompFd"], "pid": pid, "state": state}
    if metadata:
        msg["metadata"] = metadata
    payload = json.dumps(msg, separators=(",", ":")).encode()
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.connect(listener_path)
            socket.send_fds(s, [payload], [seccomp_fd])
    except OSError as exc:
        raise errdefs.from_oserror(f"send seccomp fd to listener {listener_path!r}", exc) from exc


def supported() -> dict[str, Any]:
    """The ``linux.seccomp`` object of the runtime ``features`` command (runtime-spec
    features.md): what berth knows, and which flags this libseccomp and kernel can set."""
    out: dict[str, Any] = {
        "enabled": False,
        "actions": sorted(ACTIONS),
        "operators": sorted(OPERATORS),
        "archs": sorted(ARCHITECTURES),
        "knownFlags": list(FLAGS),
        "supportedFlags": [],
    }
    try:
        _lib()
    except errdefs.BerthError:
        return out
    out["enabled"] = True
    # what a Program (the runtime's path) can load: the kernel decides
    out["supportedFlags"] = [k for k, v in _KERNEL_FLAGS.items() if _kernel_has_flag(v)]
    return out
