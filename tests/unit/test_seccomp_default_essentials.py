"""Every syscall an ordinary program (a shell, a libc's start-up, a web server) needs is
allowed by the default profile: a missing one breaks containers in ways users cannot
diagnose (busybox sh says "can't create pipe: Operation not permitted")."""

import pytest

from berth.oci.default_spec import DEFAULT_CAPS
from berth.oci.seccomp_default import default_profile

ESSENTIAL = [
    "read", "write", "open", "openat", "close", "stat", "fstat", "lstat", "newfstatat", "statx",
    "poll", "lseek", "mmap", "mprotect", "munmap", "brk", "rt_sigaction", "rt_sigprocmask",
    "rt_sigreturn", "ioctl", "pread64", "pwrite64", "readv", "writev", "access", "pipe", "pipe2",
    "select", "sched_yield", "mremap", "dup", "dup2", "dup3", "nanosleep", "getpid", "socket",
    "connect", "accept", "accept4", "sendto", "recvfrom", "bind", "listen", "clone", "fork",
    "vfork", "execve", "exit", "exit_group", "wait4", "kill", "uname", "fcntl", "flock", "fsync",
    "getdents64", "getcwd", "chdir", "rename", "mkdir", "rmdir", "unlink", "symlink", "readlink",
    "chmod", "chown", "umask", "gettimeofday", "getrlimit", "getuid", "getgid", "setuid", "setgid",
    "geteuid", "getppid", "setsid", "setpgid", "getpgrp", "arch_prctl", "futex", "set_tid_address",
    "set_robust_list", "rseq", "clock_gettime", "clock_nanosleep", "epoll_create1", "epoll_ctl",
    "epoll_wait", "eventfd2", "getrandom", "prlimit64", "sendfile", "socketpair", "setsockopt",
    "getsockopt", "shutdown", "sendmsg", "recvmsg", "faccessat2", "close_range", "memfd_create",
]  # fmt: skip


@pytest.mark.parametrize("name", ESSENTIAL)
def test_essential_syscall_is_allowed(name):
    prof = default_profile(DEFAULT_CAPS, arch="x86_64")
    allowed = {n for r in prof["syscalls"] if r["action"] == "SCMP_ACT_ALLOW" for n in r["names"]}
    assert name in allowed
