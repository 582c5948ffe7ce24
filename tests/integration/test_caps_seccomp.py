"""Capabilities and seccomp applied for real, each in a forked child that reports back
through a pipe and always leaves with os._exit (the test process keeps its own caps)."""

from __future__ import annotations

import ctypes
import errno
import json
import os
import signal
import socket
import tempfile

import pytest

from berth import errdefs
from berth.linux import caps, seccomp
from berth.linux.syscalls import PR_SET_NO_NEW_PRIVS, default
from berth.oci.seccomp_default import default_profile

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root"),
]

CLONE_NEWUTS = 0x04000000
NOBODY = 1000  # any unmapped-in-passwd uid will do: the kernel does not care


def in_child(fn, stdout: bool = False) -> tuple[int, object]:
    """Run ``fn`` in a forked child; return (wait status, what it returned via JSON).
    With ``stdout``, the child's fd 1 is the pipe and its raw output is returned."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: never return into pytest
        code = 0
        try:
            os.close(r)
            if stdout:
                os.dup2(w, 1)
            result = fn()
            os.write(w, json.dumps(result).encode())
        except BaseException as exc:
            code = 1
            try:
                os.write(w, json.dumps({"error": type(exc).__name__, "message": str(exc)}).encode())
            except BaseException:
                pass
        finally:
            os._exit(code)
    os.close(w)
    chunks = []
    while chunk := os.read(r, 65536):
        chunks.append(chunk)
    os.close(r)
    _, status = os.waitpid(pid, 0)
    data = b"".join(chunks)
    if stdout:
        return status, data.decode()
    return status, json.loads(data) if data else None


def ok(status: int, result: object) -> object:
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, result
    return result


def set_nnp() -> None:
    default().prctl(PR_SET_NO_NEW_PRIVS, 1)


def libc_errno(fn, *args) -> int:
    libc = default().raw()
    ret = getattr(libc, fn)(*args)
    return 0 if ret >= 0 else ctypes.get_errno()


# --- capabilities ----------------------------------------------------------------------


def test_apply_sets_bounding_and_effective_without_net_raw():
    spec = {"bounding": ["CAP_CHOWN", "CAP_SETUID", "CAP_KILL"],
            "effective": ["CAP_CHOWN", "CAP_KILL"],
            "permitted": ["CAP_CHOWN", "CAP_SETUID", "CAP_KILL"]}

    def child():
        c = caps.validate(spec)
        caps.drop_bounding(c)
        caps.apply(c)
        return caps.current()

    got = ok(*in_child(child))
    assert caps.names(got["bounding"]) == ["CAP_CHOWN", "CAP_KILL", "CAP_SETUID"]
    assert caps.names(got["effective"]) == ["CAP_CHOWN", "CAP_KILL"]
    assert caps.names(got["permitted"]) == ["CAP_CHOWN", "CAP_KILL", "CAP_SETUID"]
    assert got["inheritable"] == got["ambient"] == 0
    assert not got["effective"] >> caps.CAPABILITIES["CAP_NET_RAW"] & 1


def test_dropped_capability_is_really_gone():
    def child():
        c = caps.validate({"bounding": ["CAP_KILL"], "effective": ["CAP_KILL"],
                           "permitted": ["CAP_KILL"]})
        caps.drop_bounding(c)
        caps.apply(c)
        with tempfile.NamedTemporaryFile() as f:
            try:
                os.chown(f.name, 4242, 4242)
            except PermissionError:
                return "denied"
        return "allowed"

    assert ok(*in_child(child)) == "denied"


def test_keepcaps_carries_capabilities_across_setuid():
    spec = {name: ["CAP_CHOWN", "CAP_NET_BIND_SERVICE"]
            for name in ("bounding", "effective", "permitted")}

    def child():
        c = caps.validate(spec)
        caps.drop_bounding(c)
        caps.set_keepcaps(True)
        os.setgroups([])
        os.setgid(NOBODY)
        os.setuid(NOBODY)
        caps.set_keepcaps(False)
        caps.apply(c)
        return {"uid": os.getuid(), **caps.current()}

    got = ok(*in_child(child))
    assert got["uid"] == NOBODY
    assert caps.names(got["effective"]) == ["CAP_CHOWN", "CAP_NET_BIND_SERVICE"]
    assert caps.names(got["permitted"]) == ["CAP_CHOWN", "CAP_NET_BIND_SERVICE"]


def test_without_keepcaps_setuid_loses_them_and_apply_says_so():
    spec = {name: ["CAP_CHOWN"] for name in ("bounding", "effective", "permitted")}

    def child():
        c = caps.validate(spec)
        caps.drop_bounding(c)
        os.setgid(NOBODY)
        os.setuid(NOBODY)
        caps.apply(c)
        return "applied"

    status, got = in_child(child)
    assert os.WEXITSTATUS(status) == 1
    assert got["error"] == "PermissionDenied"
    assert got["message"].startswith("capset effective=['CAP_CHOWN']")


def test_ambient_capabilities_survive_exec_as_non_root():
    spec = {name: ["CAP_NET_BIND_SERVICE"]
            for name in ("bounding", "effective", "permitted", "inheritable", "ambient")}

    def child():
        c = caps.validate(spec)
        caps.drop_bounding(c)
        caps.set_keepcaps(True)
        os.setgroups([])
        os.setgid(NOBODY)
        os.setuid(NOBODY)
        caps.set_keepcaps(False)
        caps.apply(c)
        os.execv("/bin/grep", ["grep", "^Cap", "/proc/self/status"])

    status, out = in_child(child, stdout=True)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, out
    sets = dict(line.split(":\t") for line in out.splitlines())
    bit = 1 << caps.CAPABILITIES["CAP_NET_BIND_SERVICE"]
    assert int(sets["CapAmb"], 16) == bit
    assert int(sets["CapEff"], 16) == bit  # after execve, from the ambient set
    assert int(sets["CapBnd"], 16) == bit


def test_unavailable_capability_is_skipped_not_fatal():
    bounding = caps.current()["bounding"]
    if bounding >> caps.CAPABILITIES["CAP_SYS_RESOURCE"] & 1:
        pytest.skip("CAP_SYS_RESOURCE is available here")
    spec = {name: ["CAP_CHOWN", "CAP_SYS_RESOURCE"] for name in ("bounding", "effective", "permitted")}

    def child():
        c = caps.validate(spec)
        caps.drop_bounding(c)
        caps.apply(c)
        return {"warnings": c.warnings, **caps.current()}

    got = ok(*in_child(child))
    assert caps.names(got["effective"]) == ["CAP_CHOWN"]
    assert "CAP_SYS_RESOURCE" in got["warnings"][0]


# --- seccomp -------------------------------------------------------------------------

MKDIR_ENOSYS = {"defaultAction": "SCMP_ACT_ALLOW",
                "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO",
                              "errnoRet": 38}]}


def load(profile: dict, how: str) -> int:
    if how == "filter":
        with seccomp.compile(profile) as f:
            return f.load()
    return seccomp.program(profile).load()


@pytest.fixture(params=["filter", "program"])
def how(request):
    return request.param


def test_errno_rule_returns_its_errno(how, tmp_path):
    def child():
        load(MKDIR_ENOSYS, how)
        try:
            os.mkdir(tmp_path / "blocked")
        except OSError as exc:
            return exc.errno
        return 0

    assert ok(*in_child(child)) == errno.ENOSYS
    assert not (tmp_path / "blocked").exists()


def test_argument_condition_blocks_only_packet_sockets(how):
    profile = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{
        "names": ["socket"], "action": "SCMP_ACT_ERRNO", "errnoRet": errno.EAFNOSUPPORT,
        "args": [{"index": 0, "value": socket.AF_PACKET, "op": "SCMP_CMP_EQ"}]}]}

    def child():
        load(profile, how)
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM).close()
        try:
            socket.socket(socket.AF_PACKET, socket.SOCK_RAW).close()
        except OSError as exc:
            return exc.errno
        return 0

    assert ok(*in_child(child)) == errno.EAFNOSUPPORT


@pytest.mark.parametrize("action", ["SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_TRAP"])
def test_kill_and_trap_end_the_process_with_sigsys(action, how):
    profile = {"defaultAction": "SCMP_ACT_ALLOW",
               "syscalls": [{"names": ["getcwd"], "action": action}]}

    def child():
        load(profile, how)
        os.getcwd()
        return "survived"

    status, _ = in_child(child)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGSYS


def test_default_profile_blocks_unshare_and_allows_the_ordinary(how):
    def child():
        load(default_profile([], arch=os.uname().machine), how)
        out = {"unshare": libc_errno("unshare", CLONE_NEWUTS),
               "mount": libc_errno("mount", b"none", b"/mnt", b"tmpfs", 0, None),
               "pid": os.getpid(), "uname": os.uname().sysname}
        pid = os.fork()  # clone(SIGCHLD) is fine
        if pid == 0:
            os._exit(7)
        out["fork"] = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
        return out

    got = ok(*in_child(child))
    assert got["unshare"] == errno.EPERM
    assert got["mount"] == errno.EPERM
    assert got["pid"] > 1 and got["uname"] == "Linux"
    assert got["fork"] == 7


def test_loading_without_nnp_needs_cap_sys_admin_so_load_before_dropping(how):
    def child():
        c = caps.validate({n: ["CAP_CHOWN"] for n in ("bounding", "effective", "permitted")})
        caps.drop_bounding(c)
        caps.apply(c)
        try:
            load(MKDIR_ENOSYS, how)
        except errdefs.PermissionDenied as exc:
            refused = str(exc)
        else:
            return "loaded without no_new_privs"
        set_nnp()
        load(MKDIR_ENOSYS, how)  # the noNewPrivileges order: works after dropping
        try:
            os.mkdir("/nonexistent-dir-for-test/x")
        except OSError as exc:
            return {"refused": refused, "errno": exc.errno}
        return "mkdir ran"

    got = ok(*in_child(child))
    assert "load seccomp filter" in got["refused"] and "permission denied" in got["refused"]
    assert got["errno"] == errno.ENOSYS


def test_notify_fd_is_handed_to_the_listener(tmp_path):
    path = str(tmp_path / "agent.sock")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(1)
    profile = {"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": path,
               "listenerMetadata": "test", "syscalls": [
                   {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY"}]}

    def child():
        srv.close()
        fd = seccomp.program(profile).load()
        seccomp.send_to_listener(path, fd, os.getpid(), {"ociVersion": "1.0.2", "id": "t"},
                                 "test")
        os.close(fd)
        try:  # waits for the agent; once it closes the listener, ENOSYS
            os.mkdir(tmp_path / "notified")
        except OSError as exc:
            return exc.errno
        return 0

    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.close(r)
            os.write(w, json.dumps(child()).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(w)
    try:
        srv.settimeout(10)
        conn, _ = srv.accept()
        with conn:
            msg, fds, _, _ = socket.recv_fds(conn, 65536, 1)
        state = json.loads(msg)
        assert state["fds"] == ["seccompFd"] and state["pid"] == pid
        assert state["metadata"] == "test"
        assert len(fds) == 1
        os.close(fds[0])  # the agent goes away without answering
        result = json.loads(os.read(r, 4096))
    finally:
        srv.close()
        os.close(r)
        _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    assert result == errno.ENOSYS
    assert not (tmp_path / "notified").exists()
