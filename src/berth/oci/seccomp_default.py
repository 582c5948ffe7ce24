"""berth's default seccomp profile: an OCI ``linux.seccomp`` object, as data.

In the spirit of Docker's default profile (docs.docker.com, "Seccomp security profiles
for Docker"), written for berth: deny by default with EPERM, allow the ordinary system
calls of a process that lives in its own namespaces, and open the privileged ones only
when the container holds the capability the kernel would check anyway. The filter is a
second wall: it removes kernel attack surface (rarely used, poorly namespaced or
historically buggy syscalls) even from root in the container.

The shape of the result:

1. ``defaultAction: SCMP_ACT_ERRNO``, ``defaultErrnoRet: 1`` (EPERM).
2. One allow entry with the ordinary syscalls (:data:`ALLOWED`), plus the
   architecture-specific ones (``arch_prctl`` on x86, ``cacheflush`` on arm…).
3. Argument-checked entries:

   - ``clone`` only without namespace flags (``flags & 0x7E020000 == 0``; the flags are
     argument 1 on s390), unless CAP_SYS_ADMIN;
   - ``clone3`` → ENOSYS, so that glibc falls back to ``clone`` whose flags the filter can
     see (clone3 passes them in memory), unless CAP_SYS_ADMIN;
   - ``personality`` only for PER_LINUX, PER_LINUX32, UNAME26 and the query 0xffffffff
     (Docker: "prevent container from enabling BSD emulation");
   - ``socket`` for every family but AF_VSOCK (host-to-guest sockets are not namespaced).

4. One allow entry per capability in :data:`BY_CAPABILITY` that the container holds.

Never allowed (Docker documents why for each): keyring (``add_key``, ``keyctl``,
``request_key``: not namespaced), ``userfaultfd``, ``kexec_*``, obsolete or
kernel-introspecting calls (``create_module``, ``get_kernel_syms``, ``query_module``,
``nfsservctl``, ``uselib``, ``ustat``, ``sysfs``, ``_sysctl``, ``vm86``, ``vm86old``,
``lookup_dcookie``), ``swapon``/``swapoff``, and io_uring (a large surface that bypasses
this filter).

Syscall names a given libseccomp or kernel does not know are skipped by the runtime (as
runc does), so one list serves old and new kernels.
"""

from __future__ import annotations

import os

__all__ = ["ALLOWED", "BY_CAPABILITY", "NEVER", "architectures", "default_profile"]

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

ALLOWED: tuple[str, ...] = (
    # files and directories
    "access", "chdir", "chmod", "chown", "chown32", "close", "close_range", "copy_file_range",
    "creat", "dup", "dup2", "dup3", "faccessat", "faccessat2", "fadvise64", "fadvise64_64",
    "fallocate", "fchdir", "fchmod", "fchmodat", "fchmodat2", "fchown", "fchown32", "fchownat",
    "fcntl", "fcntl64", "fdatasync", "flock", "fstat", "fstat64", "fstatat64", "fstatfs",
    "fstatfs64", "fsync", "ftruncate", "ftruncate64", "futimesat", "getcwd", "getdents",
    "getdents64", "lchown", "lchown32", "link", "linkat", "_llseek", "lseek", "lstat",
    "lstat64", "mkdir", "mkdirat", "mknod", "mknodat", "newfstatat", "open", "openat",
    "openat2", "pread64", "preadv", "preadv2", "pwrite64", "pwritev", "pwritev2", "read",
    "readahead", "readlink", "readlinkat", "readv", "rename", "renameat", "renameat2", "rmdir",
    "sendfile", "sendfile64", "splice", "stat", "stat64", "statfs", "statfs64", "statx",
    "symlink", "symlinkat", "sync", "sync_file_range", "syncfs", "tee", "truncate",
    "truncate64", "umask", "unlink", "unlinkat", "utime", "utimensat", "utimensat_time64",
    "utimes", "vmsplice", "write", "writev",
    # extended attributes
    "fgetxattr", "flistxattr", "fremovexattr", "fsetxattr", "getxattr", "lgetxattr",
    "listxattr", "llistxattr", "lremovexattr", "lsetxattr", "removexattr", "setxattr",
    # file and event notification, polling
    "epoll_create", "epoll_create1", "epoll_ctl", "epoll_ctl_old", "epoll_pwait",
    "epoll_pwait2", "epoll_wait", "epoll_wait_old", "eventfd", "eventfd2", "fanotify_mark",
    "inotify_add_watch", "inotify_init", "inotify_init1", "inotify_rm_watch", "_newselect",
    "poll", "ppoll", "ppoll_time64", "pselect6", "pselect6_time64", "select", "signalfd",
    "signalfd4", "timerfd_create", "timerfd_gettime", "timerfd_gettime64", "timerfd_settime",
    "timerfd_settime64",
    # asynchronous I/O
    "io_cancel", "io_destroy", "io_getevents", "io_pgetevents", "io_pgetevents_time64",
    "io_setup", "io_submit", "ioctl", "ioprio_get", "ioprio_set",
    # memory
    "brk", "madvise", "membarrier", "memfd_create", "memfd_secret", "mincore", "mlock",
    "mlock2", "mlockall", "mmap", "mmap2", "mprotect", "mremap", "msync", "munlock",
    "munlockall", "munmap", "pkey_alloc", "pkey_free", "pkey_mprotect", "remap_file_pages",
    "map_shadow_stack", "cachestat",
    # processes and threads
    "capget", "capset", "execve", "execveat", "exit", "exit_group", "fork", "futex",
    "futex_requeue", "futex_time64", "futex_wait", "futex_waitv", "futex_wake", "get_robust_list",
    "get_thread_area", "getcpu", "getpgid", "getpgrp", "getpid", "getppid", "getpriority",
    "getrlimit", "getrusage", "getsid", "gettid", "kill", "pidfd_open", "pidfd_send_signal", "pipe", "pipe2",
    "prctl", "prlimit64", "process_mrelease", "restart_syscall", "rseq", "sched_get_priority_max",
    "sched_get_priority_min", "sched_getaffinity", "sched_getattr", "sched_getparam",
    "sched_getscheduler", "sched_rr_get_interval", "sched_rr_get_interval_time64",
    "sched_setaffinity", "sched_setattr", "sched_setparam", "sched_setscheduler", "sched_yield",
    "seccomp", "set_robust_list", "set_thread_area", "set_tid_address", "setpgid",
    "setpriority", "setrlimit", "setsid", "tgkill", "tkill", "ugetrlimit", "vfork", "wait4",
    "waitid", "waitpid",
    # credentials (the kernel checks CAP_SETUID/CAP_SETGID itself)
    "getegid", "getegid32", "geteuid", "geteuid32", "getgid", "getgid32", "getgroups",
    "getgroups32", "getresgid", "getresgid32", "getresuid", "getresuid32", "getuid",
    "getuid32", "setfsgid", "setfsgid32", "setfsuid", "setfsuid32", "setgid", "setgid32",
    "setgroups", "setgroups32", "setregid", "setregid32", "setresgid", "setresgid32",
    "setresuid", "setresuid32", "setreuid", "setreuid32", "setuid", "setuid32",
    # signals
    "alarm", "pause", "rt_sigaction", "rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo",
    "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait", "rt_sigtimedwait_time64",
    "rt_tgsigqueueinfo", "sigaction", "sigaltstack", "signal", "sigpending", "sigprocmask",
    "sigreturn", "sigsuspend",
    # time (reading; setting needs CAP_SYS_TIME)
    "adjtimex", "clock_getres", "clock_getres_time64", "clock_gettime", "clock_gettime64",
    "clock_nanosleep", "clock_nanosleep_time64", "getitimer", "gettimeofday", "nanosleep",
    "setitimer", "time", "timer_create", "timer_delete", "timer_getoverrun", "timer_gettime",
    "timer_gettime64", "timer_settime", "timer_settime64", "times",
    # sockets (socket itself is argument-checked below)
    "accept", "accept4", "bind", "connect", "getpeername", "getsockname", "getsockopt",
    "listen", "recv", "recvfrom", "recvmmsg", "recvmmsg_time64", "recvmsg", "send", "sendmmsg",
    "sendmsg", "sendto", "setsockopt", "shutdown", "socketcall", "socketpair",
    # System V and POSIX IPC (namespaced by the IPC namespace)
    "ipc", "mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive", "mq_timedreceive_time64",
    "mq_timedsend", "mq_timedsend_time64", "mq_unlink", "msgctl", "msgget", "msgrcv", "msgsnd",
    "semctl", "semget", "semop", "semtimedop", "semtimedop_time64", "shmat", "shmctl", "shmdt",
    "shmget",
    # system information, random, sandboxing
    "getrandom", "sysinfo", "uname", "landlock_add_rule", "landlock_create_ruleset",
    "landlock_restrict_self",
)

# syscalls of one architecture family
_ARCH_ALLOWED: dict[str, tuple[str, ...]] = {
    "x86": ("arch_prctl", "modify_ldt"),
    "arm": ("arm_fadvise64_64", "arm_sync_file_range", "breakpoint", "cacheflush", "set_tls",
            "sync_file_range2"),
    "s390": ("s390_pci_mmio_read", "s390_pci_mmio_write", "s390_runtime_instr"),
}

# capability (any of) → syscalls it opens; the kernel checks the same capability inside
BY_CAPABILITY: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (("CAP_SYS_ADMIN",), (
        "clone", "clone3", "fanotify_init", "fsconfig", "fsmount", "fsopen", "fspick",
        "mount", "mount_setattr", "move_mount", "name_to_handle_at", "open_tree", "pivot_root",
        "quotactl", "quotactl_fd", "setdomainname", "sethostname", "setns", "umount",
        "umount2", "unshare",
    )),
    (("CAP_SYS_ADMIN", "CAP_BPF"), ("bpf",)),
    (("CAP_SYS_ADMIN", "CAP_PERFMON"), ("perf_event_open",)),
    (("CAP_SYS_ADMIN", "CAP_SYSLOG"), ("syslog",)),
    (("CAP_DAC_READ_SEARCH",), ("open_by_handle_at",)),
    (("CAP_SYS_BOOT",), ("reboot",)),
    (("CAP_SYS_CHROOT",), ("chroot",)),
    (("CAP_SYS_MODULE",), ("delete_module", "finit_module", "init_module")),
    (("CAP_SYS_PACCT",), ("acct",)),
    (("CAP_SYS_PTRACE",), (
        "kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv", "process_vm_writev",
        "ptrace",
    )),
    (("CAP_SYS_RAWIO",), ("ioperm", "iopl")),
    (("CAP_SYS_TIME",), (
        "clock_adjtime", "clock_adjtime64", "clock_settime", "clock_settime64",
        "settimeofday", "stime",
    )),
    (("CAP_SYS_TTY_CONFIG",), ("vhangup",)),
    (("CAP_SYS_NICE",), ("get_mempolicy", "mbind", "move_pages", "set_mempolicy",
                         "set_mempolicy_home_node")),
)

NEVER: tuple[str, ...] = (
    "add_key", "keyctl", "request_key", "userfaultfd", "kexec_file_load", "kexec_load",
    "create_module", "get_kernel_syms", "query_module", "nfsservctl", "uselib", "ustat",
    "sysfs", "_sysctl", "vm86", "vm86old", "lookup_dcookie", "swapon", "swapoff",
    "io_uring_enter", "io_uring_register", "io_uring_setup",
)

# sched.h: CLONE_NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET
_CLONE_NAMESPACE_FLAGS = 0x7E020000
# personality(2): PER_LINUX, PER_LINUX32, UNAME26, UNAME26|PER_LINUX32, query
_PERSONALITIES = (0x0, 0x8, 0x20000, 0x20008, 0xFFFFFFFF)
_AF_VSOCK = 40
_ENOSYS = 38

_MACHINES: dict[str, tuple[str, list[str]]] = {
    # uname -m (or GOARCH) → (family, SCMP architectures)
    "x86_64": ("x86", ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]),
    "amd64": ("x86", ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]),
    "i386": ("x86", ["SCMP_ARCH_X86"]),
    "i686": ("x86", ["SCMP_ARCH_X86"]),
    "aarch64": ("arm", ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"]),
    "arm64": ("arm", ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"]),
    "armv7l": ("arm", ["SCMP_ARCH_ARM"]),
    "s390x": ("s390", ["SCMP_ARCH_S390X", "SCMP_ARCH_S390"]),
    "ppc64le": ("ppc", ["SCMP_ARCH_PPC64LE"]),
    "riscv64": ("riscv", ["SCMP_ARCH_RISCV64"]),
}


def architectures(arch: str | None = None) -> list[str]:
    """The SCMP architectures the profile covers on ``arch`` (uname -m; default this
    machine): x86_64 also runs x86 and x32 code, aarch64 also arm."""
    machine = arch or os.uname().machine
    return list(_MACHINES.get(machine, ("", []))[1])


def _normalise(cap: str) -> str:
    cap = cap.upper()
    return cap if cap.startswith("CAP_") else "CAP_" + cap


def default_profile(capabilities: list[str] | None = None, arch: str | None = None) -> dict[str, Any]:
    """berth's default ``linux.seccomp`` for a container holding ``capabilities`` (its
    bounding set; ``None`` = none) on ``arch`` (uname -m or GOARCH; default this machine)."""
    machine = arch or os.uname().machine
    family, archs = _MACHINES.get(machine, ("", []))
    held = {_normalise(c) for c in capabilities or ()}
    admin = "CAP_SYS_ADMIN" in held

    syscalls: list[dict[str, Any]] = [
        {"names": list(ALLOWED + _ARCH_ALLOWED.get(family, ())), "action": "SCMP_ACT_ALLOW"},
        # one entry per value: several conditions on one argument mean OR only by
        # runc's convention, separate entries mean OR to every runtime
        *({"names": ["personality"], "action": "SCMP_ACT_ALLOW",
           "args": [{"index": 0, "value": v, "op": "SCMP_CMP_EQ"}]} for v in _PERSONALITIES),
        {"names": ["socket"], "action": "SCMP_ACT_ALLOW",
         "args": [{"index": 0, "value": _AF_VSOCK, "op": "SCMP_CMP_NE"}]},
    ]
    if not admin:
        flags_arg = 1 if family == "s390" else 0
        syscalls.append({
            "names": ["clone"], "action": "SCMP_ACT_ALLOW",
            "args": [{"index": flags_arg, "value": _CLONE_NAMESPACE_FLAGS, "valueTwo": 0,
                      "op": "SCMP_CMP_MASKED_EQ"}],
        })
        syscalls.append({"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": _ENOSYS})
    for caps, names in BY_CAPABILITY:
        if held.intersection(caps):
            syscalls.append({"names": list(names), "action": "SCMP_ACT_ALLOW"})
    profile: dict[str, Any] = {
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": 1,
        "architectures": archs,
        "syscalls": syscalls,
    }
    return profile
