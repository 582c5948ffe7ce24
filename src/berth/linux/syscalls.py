"""Kernel calls the runtime needs that :mod:`os` lacks, through ctypes, behind one seam.

Every call raises :class:`OSError` with the errno and the object named
(``mount proc on '/x/proc': operation not permitted``). :class:`Syscalls` is the protocol;
:class:`LinuxSyscalls` calls the kernel; :class:`RecordingSyscalls` records the calls
in order so unit tests can check the sequence of mounts, pivot_root and setns without root
(the youki habit).

References: mount(2), umount(2), pivot_root(2), unshare(2), setns(2), sethostname(2),
prctl(2), keyctl(2), close_range(2).
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing costs ~3 ms

if TYPE_CHECKING:  # typing costs ~3 ms at run time; these paths must start fast
    import ctypes
    from typing import Any, Protocol

__all__ = [
    "CLONE_NEWCGROUP",
    "CLONE_NEWIPC",
    "CLONE_NEWNET",
    "CLONE_NEWNS",
    "CLONE_NEWPID",
    "CLONE_NEWUSER",
    "CLONE_NEWUTS",
    "LinuxSyscalls",
    "RecordingSyscalls",
    "Syscalls",
    "default",
]

# sched.h
CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

# mount.h
MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_SYNCHRONOUS = 16
MS_REMOUNT = 32
MS_MANDLOCK = 64
MS_DIRSYNC = 128
MS_NOSYMFOLLOW = 256
MS_NOATIME = 1024
MS_NODIRATIME = 2048
MS_BIND = 4096
MS_MOVE = 8192
MS_REC = 16384
MS_SILENT = 32768
MS_UNBINDABLE = 1 << 17
MS_PRIVATE = 1 << 18
MS_SLAVE = 1 << 19
MS_SHARED = 1 << 20
MS_RELATIME = 1 << 21
MS_STRICTATIME = 1 << 24
MS_LAZYTIME = 1 << 25
MNT_DETACH = 2

# prctl.h
PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_KEEPCAPS = 8
PR_SET_NAME = 15
PR_CAPBSET_READ = 23
PR_CAPBSET_DROP = 24
PR_SET_SECUREBITS = 28
PR_SET_NO_NEW_PRIVS = 38
PR_SET_CHILD_SUBREAPER = 36
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_RAISE = 2
PR_CAP_AMBIENT_CLEAR_ALL = 4

# syscall numbers for the calls glibc 2.36 does not wrap
_SYSCALLS = {
    "x86_64": {"pivot_root": 155, "keyctl": 250, "close_range": 436, "capget": 125, "capset": 126},
    "aarch64": {"pivot_root": 41, "keyctl": 219, "close_range": 436, "capget": 90, "capset": 91},
}
KEYCTL_JOIN_SESSION_KEYRING = 1


if TYPE_CHECKING:
    class Syscalls(Protocol):
        """The kernel calls the runtime makes; one method per call."""

        def mount(self, source: str | None, target: str, fstype: str | None, flags: int, data: str | None) -> None: ...
        def umount2(self, target: str, flags: int) -> None: ...
        def pivot_root(self, new_root: str, put_old: str) -> None: ...
        def unshare(self, flags: int) -> None: ...
        def setns(self, fd: int, nstype: int) -> None: ...
        def sethostname(self, name: str) -> None: ...
        def setdomainname(self, name: str) -> None: ...
        def prctl(self, option: int, arg2: int = 0, arg3: int = 0, arg4: int = 0, arg5: int = 0) -> int: ...
        def join_session_keyring(self, name: str | None) -> None: ...
        def close_range(self, first: int, last: int, flags: int = 0) -> None: ...


def _flags_text(flags: int) -> str:
    return hex(flags)


class LinuxSyscalls:
    """The real kernel, through libc."""

    def __init__(self) -> None:
        import ctypes

        self._ct = ctypes
        self._libc = ctypes.CDLL(None, use_errno=True)
        self._nr = _SYSCALLS.get(os.uname().machine, _SYSCALLS["x86_64"])
        self._libc.syscall.restype = ctypes.c_long
        self._libc.mount.argtypes = [ctypes.c_char_p] * 3 + [ctypes.c_ulong, ctypes.c_char_p]

    def _check(self, ret: int, what: str) -> int:
        if ret < 0:
            err = self._ct.get_errno()
            raise OSError(err, f"{what}: {os.strerror(err).lower()}")
        return ret

    @staticmethod
    def _b(s: str | None) -> bytes | None:
        return None if s is None else os.fsencode(s)

    def mount(self, source: str | None, target: str, fstype: str | None, flags: int, data: str | None) -> None:
        ret = self._libc.mount(self._b(source), self._b(target), self._b(fstype), flags, self._b(data))
        if ret < 0:
            what = f"mount {fstype or source or ''} on {target!r}".replace("  ", " ")
            if flags & MS_BIND:
                what = f"bind mount {source!r} on {target!r}"
            if flags & (MS_PRIVATE | MS_SLAVE | MS_SHARED | MS_UNBINDABLE) and not fstype:
                what = f"set propagation of {target!r}"
            elif flags & MS_REMOUNT:
                what = f"remount {target!r} (flags {_flags_text(flags)})"
            elif flags & MS_MOVE:
                what = f"move mount {source!r} to {target!r}"
            self._check(ret, what)

    def umount2(self, target: str, flags: int) -> None:
        self._check(self._libc.umount2(self._b(target), flags), f"umount {target!r}")

    def pivot_root(self, new_root: str, put_old: str) -> None:
        ret = self._libc.syscall(self._nr["pivot_root"], self._b(new_root), self._b(put_old))
        self._check(ret, f"pivot_root {new_root!r}")

    def unshare(self, flags: int) -> None:
        self._check(self._libc.unshare(flags), f"unshare namespaces {_flags_text(flags)}")

    def setns(self, fd: int, nstype: int) -> None:
        self._check(self._libc.setns(fd, nstype), f"setns fd {fd} type {_flags_text(nstype)}")

    def sethostname(self, name: str) -> None:
        b = name.encode()
        self._check(self._libc.sethostname(b, len(b)), f"sethostname {name!r}")

    def setdomainname(self, name: str) -> None:
        b = name.encode()
        self._check(self._libc.setdomainname(b, len(b)), f"setdomainname {name!r}")

    def prctl(self, option: int, arg2: int = 0, arg3: int = 0, arg4: int = 0, arg5: int = 0) -> int:
        c = self._ct.c_ulong
        ret: int = self._libc.prctl(option, c(arg2), c(arg3), c(arg4), c(arg5))
        return self._check(ret, f"prctl option {option}")

    def join_session_keyring(self, name: str | None) -> None:
        ret = self._libc.syscall(self._nr["keyctl"], KEYCTL_JOIN_SESSION_KEYRING, self._b(name))
        self._check(ret, f"join session keyring {name!r}")

    def close_range(self, first: int, last: int, flags: int = 0) -> None:
        c = self._ct.c_uint
        ret = self._libc.syscall(self._nr["close_range"], c(first), c(last), c(flags))
        if ret < 0:  # kernels before 5.9: close one by one
            os.closerange(first, min(last, 65536) + 1)

    def raw(self) -> ctypes.CDLL:
        """libc, for the modules of this package that bind more of it (caps, seccomp)."""
        return self._libc


class RecordingSyscalls:
    """A fake that records every call as ``(name, args…)`` and succeeds, or raises an
    OSError for the calls listed in ``fail`` (``{"pivot_root": errno.EINVAL}``)."""

    def __init__(self, fail: dict[str, int] | None = None) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.fail = fail or {}

    def _rec(self, name: str, *args: Any) -> None:
        self.calls.append((name, *args))
        if name in self.fail:
            err = self.fail[name]
            raise OSError(err, f"{name} {args[:2]!r}: {os.strerror(err).lower()}")

    def mount(self, source: str | None, target: str, fstype: str | None, flags: int, data: str | None) -> None:
        self._rec("mount", source, target, fstype, flags, data)

    def umount2(self, target: str, flags: int) -> None:
        self._rec("umount2", target, flags)

    def pivot_root(self, new_root: str, put_old: str) -> None:
        self._rec("pivot_root", new_root, put_old)

    def unshare(self, flags: int) -> None:
        self._rec("unshare", flags)

    def setns(self, fd: int, nstype: int) -> None:
        self._rec("setns", fd, nstype)

    def sethostname(self, name: str) -> None:
        self._rec("sethostname", name)

    def setdomainname(self, name: str) -> None:
        self._rec("setdomainname", name)

    def prctl(self, option: int, arg2: int = 0, arg3: int = 0, arg4: int = 0, arg5: int = 0) -> int:
        self._rec("prctl", option, arg2, arg3, arg4, arg5)
        return 0

    def join_session_keyring(self, name: str | None) -> None:
        self._rec("join_session_keyring", name)

    def close_range(self, first: int, last: int, flags: int = 0) -> None:
        self._rec("close_range", first, last, flags)


_default: LinuxSyscalls | None = None


def default() -> LinuxSyscalls:
    """The process-wide real implementation (libc is loaded once)."""
    global _default
    if _default is None:
        _default = LinuxSyscalls()
    return _default
