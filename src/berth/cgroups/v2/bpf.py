"""The bpf(2) calls that load a cgroup device program and attach it to a group.

- ``BPF_PROG_LOAD`` (prog_type ``BPF_PROG_TYPE_CGROUP_DEVICE``) gives a program fd; on
  a verifier refusal the load is retried with a log so the error can quote it;
- ``BPF_PROG_QUERY`` lists the ids already attached to the group (``BPF_CGROUP_DEVICE``);
- ``BPF_PROG_ATTACH`` with ``BPF_F_ALLOW_MULTI`` adds the new program; then the old ones
  (by ``BPF_PROG_GET_FD_BY_ID``) are detached with ``BPF_PROG_DETACH``, so an update
  never leaves the group without a filter (runc devices/ebpf_linux.go does the same).

The attachment holds the program; the fds are closed after. Needs CAP_BPF or
CAP_SYS_ADMIN; a refusal becomes NotImplemented ``devices cgroup on cgroup v2: …``.
``union bpf_attr`` layouts: include/uapi/linux/bpf.h. ctypes and struct are imported
only here, when a program is attached.
"""

from __future__ import annotations

import errno
import os

from berth import errdefs
from berth.errdefs import from_oserror

TYPE_CHECKING = False
if TYPE_CHECKING:
    import ctypes

BPF_PROG_LOAD = 5
BPF_PROG_ATTACH = 8
BPF_PROG_DETACH = 9
BPF_PROG_GET_FD_BY_ID = 13
BPF_PROG_QUERY = 16
BPF_PROG_TYPE_CGROUP_DEVICE = 15
BPF_CGROUP_DEVICE = 6
BPF_F_ALLOW_MULTI = 2

_SYSCALL_NR = {"x86_64": 321, "aarch64": 280, "arm64": 280}
_WHAT = "devices cgroup on cgroup v2"


def _bpf(cmd: int, attr: ctypes.Array[ctypes.c_char], what: str) -> int:
    import ctypes

    nr = _SYSCALL_NR.get(os.uname().machine)
    if nr is None:
        raise errdefs.NotImplemented(f"{_WHAT}: bpf(2) number unknown on {os.uname().machine}")
    libc = ctypes.CDLL(None, use_errno=True)
    ret = int(
        libc.syscall(
            ctypes.c_long(nr),
            ctypes.c_long(cmd),
            ctypes.c_void_p(ctypes.addressof(attr)),
            ctypes.c_ulong(len(attr)),
        )
    )
    if ret < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err), what)
    return ret


def _refused(what: str, exc: OSError, log: str = "") -> Exception:
    if exc.errno in (errno.EPERM, errno.ENOSYS, errno.EOPNOTSUPP, errno.EINVAL, errno.EACCES):
        reason = os.strerror(exc.errno or 0).lower()
        detail = f" (verifier: {log.strip().splitlines()[-1]})" if log.strip() else ""
        err = errdefs.NotImplemented(f"{_WHAT}: {what}: {reason}{detail}")
        err.errno = exc.errno  # type: ignore[attr-defined]
        return err
    return from_oserror(f"{_WHAT}: {what}", exc)


def load(insns: bytes, license: bytes = b"Apache") -> int:
    """A program fd for the encoded instructions."""
    import ctypes
    import struct

    code = ctypes.create_string_buffer(insns, len(insns))
    lic = ctypes.create_string_buffer(license + b"\0")
    log = ctypes.create_string_buffer(0)
    for level in (0, 1):
        attr = ctypes.create_string_buffer(128)
        if level:
            log = ctypes.create_string_buffer(1 << 16)
        # prog_type, insn_cnt, insns, license, log_level, log_size, log_buf
        struct.pack_into(
            "<IIQQIIQ",
            attr,
            0,
            BPF_PROG_TYPE_CGROUP_DEVICE,
            len(insns) // 8,
            ctypes.addressof(code),
            ctypes.addressof(lic),
            level,
            len(log) if level else 0,
            ctypes.addressof(log) if level else 0,
        )
        try:
            return _bpf(BPF_PROG_LOAD, attr, "bpf(BPF_PROG_LOAD)")
        except OSError as exc:
            if level == 0 and exc.errno in (errno.EINVAL, errno.EACCES):
                continue  # again, with the verifier's log for the message
            raise _refused("bpf(BPF_PROG_LOAD)", exc, log.value.decode(errors="replace")) from exc
    raise AssertionError("unreachable")  # pragma: no cover


def attached(cgroup_fd: int) -> list[int]:
    """Ids of the device programs attached to the group."""
    import ctypes
    import struct

    ids = (ctypes.c_uint32 * 64)()
    attr = ctypes.create_string_buffer(40)
    # target_fd, attach_type, query_flags, attach_flags, prog_ids, prog_cnt
    struct.pack_into(
        "<IIIIQI", attr, 0, cgroup_fd, BPF_CGROUP_DEVICE, 0, 0, ctypes.addressof(ids), 64
    )
    try:
        _bpf(BPF_PROG_QUERY, attr, "bpf(BPF_PROG_QUERY)")
    except OSError as exc:
        raise _refused("bpf(BPF_PROG_QUERY)", exc) from exc
    count = struct.unpack_from("<I", attr, 24)[0]
    return list(ids[: min(count, 64)])


def _attach_cmd(cmd: int, cgroup_fd: int, prog_fd: int, flags: int, what: str) -> None:
    import ctypes
    import struct

    attr = ctypes.create_string_buffer(24)
    # target_fd, attach_bpf_fd, attach_type, attach_flags
    struct.pack_into("<IIII", attr, 0, cgroup_fd, prog_fd, BPF_CGROUP_DEVICE, flags)
    try:
        _bpf(cmd, attr, what)
    except OSError as exc:
        raise _refused(what, exc) from exc


def _fd_by_id(prog_id: int) -> int:
    import ctypes
    import struct

    attr = ctypes.create_string_buffer(16)
    struct.pack_into("<I", attr, 0, prog_id)
    try:
        return _bpf(BPF_PROG_GET_FD_BY_ID, attr, "bpf(BPF_PROG_GET_FD_BY_ID)")
    except OSError as exc:
        raise _refused(f"bpf(BPF_PROG_GET_FD_BY_ID, {prog_id})", exc) from exc


def replace_device_program(path: str, insns: bytes) -> None:
    """Attach the program to the group at ``path`` and detach those it replaces."""
    try:
        cgroup_fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as exc:
        raise from_oserror(f"{_WHAT}: open {path!r}", exc) from exc
    try:
        old = attached(cgroup_fd)
        prog_fd = load(insns)
        try:
            _attach_cmd(
                BPF_PROG_ATTACH,
                cgroup_fd,
                prog_fd,
                BPF_F_ALLOW_MULTI,
                f"bpf(BPF_PROG_ATTACH) to {path!r}",
            )
        finally:
            os.close(prog_fd)
        for prog_id in old:
            fd = _fd_by_id(prog_id)
            try:
                _attach_cmd(
                    BPF_PROG_DETACH, cgroup_fd, fd, 0, f"bpf(BPF_PROG_DETACH) from {path!r}"
                )
            finally:
                os.close(fd)
    finally:
        os.close(cgroup_fd)
