"""Seccomp profile validation and compilation (libseccomp, no root, nothing loaded).

The compiled filters are checked by running the exported BPF in a small classic-BPF
interpreter (:func:`run`) over made-up ``struct seccomp_data``: what the kernel would
answer, without loading anything.
"""

from __future__ import annotations

import errno
import json
import os
import re
import socket
import struct

import pytest

from berth import errdefs
from berth.linux import seccomp
from berth.oci import seccomp_default
from berth.oci.seccomp_default import default_profile

ALLOW = 0x7FFF0000
KILL_THREAD = 0
KILL_PROCESS = 0x80000000
TRAP = 0x00030000
LOG = 0x7FFC0000
NOTIFY = 0x7FC00000


def ERRNO(e: int) -> int:
    return 0x00050000 | e


def TRACE(e: int) -> int:
    return 0x7FF00000 | e


ARCH = seccomp.native_arch()
AUDIT = seccomp.ARCHITECTURES


def run(bpf: bytes, nr: int, args: tuple[int, ...] = (), arch: str = ARCH) -> int:
    """Evaluate a classic-BPF seccomp program on (nr, arch, args) like the kernel does."""
    full = (tuple(args) + (0,) * 6)[:6]
    # x32 is libseccomp's own token: the kernel reports AUDIT_ARCH_X86_64 and the nr with
    # __X32_SYSCALL_BIT, which seccomp_syscall_resolve_name_arch already includes
    audit = AUDIT["SCMP_ARCH_X86_64" if arch == "SCMP_ARCH_X32" else arch]
    data = struct.pack("<iIQ6Q", nr, audit, 0, *full)
    insns = [struct.unpack_from("<HBBI", bpf, i) for i in range(0, len(bpf), 8)]
    a = x = 0
    mem = [0] * 16
    pc = 0
    while True:
        code, jt, jf, k = insns[pc]
        pc += 1
        cls = code & 0x07
        if code == 0x20:  # ld [k]
            a = struct.unpack_from("<I", data, k)[0]
        elif code == 0x00:  # ld #k
            a = k
        elif code == 0x60:  # ld M[k]
            a = mem[k]
        elif code == 0x61:  # ldx M[k]
            x = mem[k]
        elif code == 0x02:  # st M[k]
            mem[k] = a
        elif code == 0x03:  # stx M[k]
            mem[k] = x
        elif code == 0x07:  # tax
            x = a
        elif code == 0x87:  # txa
            a = x
        elif cls == 0x04:  # alu with k
            op = code & 0xF0
            if code & 0x08:
                k = x
            a = {0x00: a + k, 0x10: a - k, 0x50: a & k, 0x40: a | k, 0xA0: a ^ k,
                 0x60: a << k, 0x70: a >> k}[op] & 0xFFFFFFFF
        elif cls == 0x05:  # jumps
            op = code & 0xF0
            if code & 0x08:
                k = x
            if op == 0x00:
                pc += k
                continue
            taken = {0x10: a == k, 0x20: a > k, 0x30: a >= k, 0x40: bool(a & k)}[op]
            pc += jt if taken else jf
        elif code == 0x06:  # ret #k
            return k
        elif code == 0x16:  # ret a
            return a
        else:
            raise AssertionError(f"opcode {code:#x} not interpreted")


def compiled(profile: dict) -> tuple[bytes, seccomp.Filter]:
    f = seccomp.compile(profile)
    try:
        return f.bpf(), f
    finally:
        f.release()


def nr(name: str, arch: str = ARCH) -> int:
    n = seccomp.resolve(name, arch)
    assert n >= 0, name
    return n


# --- tables --------------------------------------------------------------------------


def test_architecture_tokens_match_libseccomp():
    _, lib, _ = seccomp._lib()
    for name, token in seccomp.ARCHITECTURES.items():
        libname = name.removeprefix("SCMP_ARCH_").lower()
        assert lib.seccomp_arch_resolve_name(libname.encode()) == token, name


@pytest.mark.skipif(not os.path.exists("/usr/include/seccomp.h"), reason="no libseccomp-dev")
def test_action_and_operator_values_match_the_header():
    with open("/usr/include/seccomp.h") as f:
        header = f.read()
    defines = {m[0]: int(m[1], 16) for m in re.findall(r"#define (SCMP_ACT_\w+)\s+(0x[0-9a-fA-F]+)U", header)}
    for name, (value, takes_errno) in seccomp.ACTIONS.items():
        if takes_errno:
            assert re.search(rf"#define {name}\(x\)\s+\({value:#010x}U", header), name
        elif name == "SCMP_ACT_KILL":
            assert value == defines["SCMP_ACT_KILL_THREAD"]
        else:
            assert defines[name] == value, name
    ops = {m[0]: int(m[1]) for m in re.findall(r"\b(SCMP_CMP_\w+) = (\d+)", header)}
    assert ops == seccomp.OPERATORS
    attrs = {m[0]: int(m[1]) for m in re.findall(r"\b(SCMP_FLTATR_\w+) = (\d+)", header)}
    assert attrs["SCMP_FLTATR_CTL_NNP"] == seccomp._ATTR_CTL_NNP
    assert attrs["SCMP_FLTATR_CTL_LOG"] == seccomp.FLAGS["SECCOMP_FILTER_FLAG_LOG"]
    assert attrs["SCMP_FLTATR_CTL_SSB"] == seccomp.FLAGS["SECCOMP_FILTER_FLAG_SPEC_ALLOW"]
    assert attrs["SCMP_FLTATR_CTL_TSYNC"] == seccomp.FLAGS["SECCOMP_FILTER_FLAG_TSYNC"]


def test_supported_describes_the_features_object():
    s = seccomp.supported()
    assert s["enabled"] is True
    assert "SCMP_ACT_KILL_PROCESS" in s["actions"] and "SCMP_ACT_NOTIFY" in s["actions"]
    assert s["operators"] == sorted(seccomp.OPERATORS)
    assert "SCMP_ARCH_X86_64" in s["archs"] and "SCMP_ARCH_AARCH64" in s["archs"]
    assert s["knownFlags"] == list(seccomp.FLAGS)
    assert set(s["supportedFlags"]) <= set(s["knownFlags"])
    assert "SECCOMP_FILTER_FLAG_LOG" in s["supportedFlags"]  # Linux 4.14


# --- validation: errors name field and value -------------------------------------------


@pytest.mark.parametrize(("profile", "message"), [
    ({}, "linux.seccomp.defaultAction: required"),
    ({"defaultAction": "SCMP_ACT_NOPE"}, 'linux.seccomp.defaultAction: unknown action "SCMP_ACT_NOPE"'),
    ({"defaultAction": "SCMP_ACT_ALLOW", "defaultErrnoRet": 1},
     'linux.seccomp.defaultAction: action "SCMP_ACT_ALLOW" does not take an errno return code'),
    ({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": -1},
     "linux.seccomp.defaultAction errnoRet: expected an integer from 0 to 65535, not -1"),
    ({"defaultAction": "SCMP_ACT_NOTIFY", "listenerPath": "/x"},
     'linux.seccomp.defaultAction: "SCMP_ACT_NOTIFY" cannot be the default action'),
    ({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_Z80"]},
     'linux.seccomp.architectures[1]: unknown architecture "SCMP_ARCH_Z80"'),
    ({"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_NOPE"]},
     'linux.seccomp.flags[0]: unknown flag "SECCOMP_FILTER_FLAG_NOPE"'),
    ({"defaultAction": "SCMP_ACT_ALLOW", "listenerMetadata": "m"},
     "linux.seccomp.listenerMetadata: set without listenerPath"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": {"names": ["read"]}},
     "linux.seccomp.syscalls: expected a list, not dict"),
])
def test_invalid_top_level_fields_are_named(profile, message):
    with pytest.raises(errdefs.InvalidArgument) as ei:
        seccomp.validate(profile)
    assert str(ei.value) == message


def _with_rule(rule: dict, index: int = 3) -> dict:
    filler = [{"names": ["getpid"], "action": "SCMP_ACT_ALLOW"}] * index
    return {"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [*filler, rule]}


@pytest.mark.parametrize(("rule", "message"), [
    ({"names": ["read"], "action": "SCMP_ACT_NOPE"},
     'linux.seccomp.syscalls[3].action: unknown action "SCMP_ACT_NOPE"'),
    ({"names": ["read"]}, "linux.seccomp.syscalls[3].action: required"),
    ({"names": [], "action": "SCMP_ACT_ALLOW"},
     "linux.seccomp.syscalls[3].names: expected a non-empty list of names"),
    ({"names": ["read", ""], "action": "SCMP_ACT_ALLOW"},
     "linux.seccomp.syscalls[3].names[1]: expected a syscall name, not ''"),
    ({"names": ["read"], "action": "SCMP_ACT_ALLOW", "errnoRet": 5},
     'linux.seccomp.syscalls[3].action: action "SCMP_ACT_ALLOW" does not take an errno return code'),
    ({"names": ["read"], "action": "SCMP_ACT_ERRNO", "errnoRet": True},
     "linux.seccomp.syscalls[3].action errnoRet: expected an integer from 0 to 65535, not True"),
    ({"names": ["read"], "action": "SCMP_ACT_NOTIFY"},
     'linux.seccomp.syscalls[3].action: "SCMP_ACT_NOTIFY" needs linux.seccomp.listenerPath'),
])
def test_invalid_rules_are_named_by_index(rule, message):
    with pytest.raises(errdefs.InvalidArgument) as ei:
        seccomp.validate(_with_rule(rule))
    assert str(ei.value) == message


@pytest.mark.parametrize(("arg", "message"), [
    ({"index": 0, "value": 1, "op": "SCMP_CMP_NOPE"},
     'linux.seccomp.syscalls[2].args[0].op: unknown operator "SCMP_CMP_NOPE"'),
    ({"index": 0, "value": 1},
     'linux.seccomp.syscalls[2].args[0].op: unknown operator "None"'),
    ({"index": 6, "value": 1, "op": "SCMP_CMP_EQ"},
     "linux.seccomp.syscalls[2].args[0].index: expected an integer from 0 to 5, not 6"),
    ({"index": 0, "value": 1 << 64, "op": "SCMP_CMP_EQ"},
     "linux.seccomp.syscalls[2].args[0].value: expected an integer from 0 to 18446744073709551615, "
     "not 18446744073709551616"),
    ({"index": 0, "value": 1, "valueTwo": "2", "op": "SCMP_CMP_EQ"},
     "linux.seccomp.syscalls[2].args[0].valueTwo: expected an integer from 0 to 18446744073709551615, "
     "not '2'"),
])
def test_invalid_args_are_named_by_index(arg, message):
    rule = {"names": ["socket"], "action": "SCMP_ACT_ALLOW", "args": [arg]}
    with pytest.raises(errdefs.InvalidArgument) as ei:
        seccomp.validate(_with_rule(rule, 2))
    assert str(ei.value) == message


def test_notify_cannot_be_used_for_write():
    profile = {"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/run/agent.sock",
               "syscalls": [{"names": ["mkdir", "write"], "action": "SCMP_ACT_NOTIFY"}]}
    with pytest.raises(errdefs.InvalidArgument, match='cannot be used for "write"'):
        seccomp.validate(profile)


def test_errors_use_the_callers_field_name():
    with pytest.raises(errdefs.InvalidArgument, match=r"^spec\.seccomp\.defaultAction: "):
        seccomp.compile({"defaultAction": "x"}, field="spec.seccomp")


# --- validation: the rules it produces ---------------------------------------------------


def test_errno_defaults_to_eperm_and_trace_carries_its_message():
    p = seccomp.validate({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"},
        {"names": ["rmdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38},
        {"names": ["chdir"], "action": "SCMP_ACT_TRACE", "errnoRet": 7},
        {"names": ["getcwd"], "action": "SCMP_ACT_KILL"},
        {"names": ["getpid"], "action": "SCMP_ACT_KILL_PROCESS"},
    ]})
    assert [(r.name, r.action) for r in p.rules] == [
        ("mkdir", ERRNO(errno.EPERM)), ("rmdir", ERRNO(38)), ("chdir", TRACE(7)),
        ("getcwd", KILL_THREAD), ("getpid", KILL_PROCESS)]
    assert p.default_action == ALLOW


def test_rule_with_the_default_action_is_skipped_as_runc_does():
    p = seccomp.validate({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
        {"names": ["mount"], "action": "SCMP_ACT_ERRNO"},
        {"names": ["umount2"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38},
        {"names": ["read"], "action": "SCMP_ACT_ALLOW"},
    ]})
    assert [r.name for r in p.rules] == ["umount2", "read"]
    bpf, _ = compiled({"defaultAction": "SCMP_ACT_ERRNO",
                       "syscalls": [{"names": ["mount"], "action": "SCMP_ACT_ERRNO"}]})
    assert run(bpf, nr("mount")) == ERRNO(errno.EPERM)


def test_conditions_on_different_arguments_make_one_rule():
    p = seccomp.validate(_with_rule({"names": ["socket"], "action": "SCMP_ACT_ALLOW", "args": [
        {"index": 0, "value": 2, "op": "SCMP_CMP_EQ"},
        {"index": 1, "value": 1, "op": "SCMP_CMP_EQ"},
    ]}, 0))
    assert [r.conditions for r in p.rules] == [((0, 4, 2, 0), (1, 4, 1, 0))]
    bpf, _ = compiled(_with_rule({"names": ["socket"], "action": "SCMP_ACT_ALLOW", "args": [
        {"index": 0, "value": 2, "op": "SCMP_CMP_EQ"},
        {"index": 1, "value": 1, "op": "SCMP_CMP_EQ"},
    ]}, 0))
    assert run(bpf, nr("socket"), (2, 1)) == ALLOW
    assert run(bpf, nr("socket"), (2, 2)) == ERRNO(errno.EPERM)  # AND
    assert run(bpf, nr("socket"), (10, 1)) == ERRNO(errno.EPERM)


def test_conditions_on_the_same_argument_become_separate_rules_as_in_runc():
    rule = {"names": ["personality"], "action": "SCMP_ACT_ERRNO", "errnoRet": 22, "args": [
        {"index": 0, "value": 1, "op": "SCMP_CMP_EQ"},
        {"index": 0, "value": 3, "op": "SCMP_CMP_EQ"},
        {"index": 1, "value": 9, "op": "SCMP_CMP_EQ"},
    ]}
    profile = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [rule]}
    p = seccomp.validate(profile)
    assert [r.conditions for r in p.rules] == [((0, 4, 1, 0),), ((0, 4, 3, 0),), ((1, 4, 9, 0),)]
    bpf, _ = compiled(profile)
    n = nr("personality")
    assert run(bpf, n, (1,)) == ERRNO(22)  # OR, not an impossible AND
    assert run(bpf, n, (3,)) == ERRNO(22)
    assert run(bpf, n, (2, 9)) == ERRNO(22)
    assert run(bpf, n, (2, 0)) == ALLOW


# --- compile --------------------------------------------------------------------------


def test_compiled_filter_returns_the_errno_for_the_named_syscall_only():
    bpf, f = compiled({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}]})
    assert f.skipped == []
    assert run(bpf, nr("mkdir")) == ERRNO(38)
    assert run(bpf, nr("mkdirat")) == ERRNO(38)
    assert run(bpf, nr("rmdir")) == ALLOW


def test_unknown_syscall_names_are_skipped_as_runc_does():
    bpf, f = compiled({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["no_such_syscall", "mkdir", "no_such_syscall"], "action": "SCMP_ACT_ERRNO"}]})
    assert f.skipped == ["no_such_syscall"]
    assert run(bpf, nr("mkdir")) == ERRNO(errno.EPERM)


@pytest.mark.parametrize(("op", "value", "value2", "expect"), [
    ("SCMP_CMP_EQ", 17, 0, {17: True, 2: False}),
    ("SCMP_CMP_NE", 17, 0, {17: False, 2: True}),
    ("SCMP_CMP_LT", 10, 0, {9: True, 10: False}),
    ("SCMP_CMP_LE", 10, 0, {10: True, 11: False}),
    ("SCMP_CMP_GT", 10, 0, {11: True, 10: False}),
    ("SCMP_CMP_GE", 10, 0, {10: True, 9: False}),
    ("SCMP_CMP_MASKED_EQ", 0xF0, 0x10, {0x1F: True, 0x2F: False}),
    ("SCMP_CMP_EQ", 0xFFFFFFFF00000001, 0, {0xFFFFFFFF00000001: True, 1: False}),
])
def test_each_operator_compares_like_the_kernel_would(op, value, value2, expect):
    bpf, _ = compiled({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["socket"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13,
         "args": [{"index": 0, "value": value, "valueTwo": value2, "op": op}]}]})
    for arg, denied in expect.items():
        assert run(bpf, nr("socket"), (arg,)) == (ERRNO(13) if denied else ALLOW), hex(arg)


def test_native_architecture_is_always_in_the_filter():
    other = "SCMP_ARCH_X86" if ARCH == "SCMP_ARCH_X86_64" else "SCMP_ARCH_ARM"
    bpf, _ = compiled({"defaultAction": "SCMP_ACT_ALLOW", "architectures": [other],
                       "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}]})
    assert run(bpf, nr("mkdir")) == ERRNO(errno.EPERM)
    assert run(bpf, nr("mkdir", other), arch=other) == ERRNO(errno.EPERM)
    stranger = "SCMP_ARCH_S390X"
    assert run(bpf, 1, arch=stranger) == KILL_THREAD  # not in the filter: killed


def test_actions_without_errno_compile_to_their_values():
    bpf, _ = compiled({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["getcwd"], "action": "SCMP_ACT_KILL"},
        {"names": ["getppid"], "action": "SCMP_ACT_KILL_PROCESS"},
        {"names": ["chdir"], "action": "SCMP_ACT_TRAP"},
        {"names": ["mkdir"], "action": "SCMP_ACT_LOG"}]})
    assert run(bpf, nr("getcwd")) == KILL_THREAD
    assert run(bpf, nr("getppid")) == KILL_PROCESS
    assert run(bpf, nr("chdir")) == TRAP
    assert run(bpf, nr("mkdir")) == LOG


def test_flags_compile_and_set_kernel_flags():
    p = seccomp.validate({"defaultAction": "SCMP_ACT_ALLOW", "flags": [
        "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_TSYNC"]})
    assert p.kernel_flags() == 2 | 4 | 1
    with seccomp.compile(p) as f:
        assert f.missing_flags == []


def test_notify_adds_a_listener_and_esrch_with_tsync():
    p = seccomp.validate({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/run/a.sock",
                          "flags": ["SECCOMP_FILTER_FLAG_TSYNC",
                                    "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"],
                          "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]})
    assert p.uses_notify
    assert p.kernel_flags() == 1 | 8 | 16 | 32
    bpf, _ = compiled(p)  # type: ignore[arg-type]
    assert run(bpf, nr("mkdir")) == NOTIFY


def test_wait_killable_recv_without_a_listener_is_dropped():
    p = seccomp.validate({"defaultAction": "SCMP_ACT_ALLOW",
                          "flags": ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]})
    assert p.kernel_flags() == 0


def test_flag_this_libseccomp_lacks_is_refused_by_filter_load_only():
    with seccomp.compile({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/a",
                          "flags": ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"],
                          "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]}) as f:
        if tuple(int(v) for v in seccomp._version().split(".")[:2]) >= (2, 6):
            assert f.missing_flags == []
            return
        assert f.missing_flags == ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]
        with pytest.raises(errdefs.NotImplemented, match=r'flags\[0\]: "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"'):
            f.load()  # refused before any kernel call


def test_released_filter_refuses_use():
    f = seccomp.compile({"defaultAction": "SCMP_ACT_ALLOW"})
    f.release()
    f.release()
    with pytest.raises(errdefs.FailedPrecondition, match="already released"):
        f.bpf()


# --- programs and the cache --------------------------------------------------------------


def test_program_is_the_exported_bpf_with_its_flags():
    profile = {"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_LOG"],
               "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}]}
    prog = seccomp.program(profile)
    bpf, _ = compiled(profile)
    assert prog.bpf == bpf
    assert prog.flags == 2
    assert not prog.notify


def test_program_cache_is_written_once_and_then_read(tmp_path, monkeypatch):
    profile = {"defaultAction": "SCMP_ACT_ALLOW",
               "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}]}
    first = seccomp.program(profile, cache_dir=str(tmp_path / "cache"))
    files = os.listdir(tmp_path / "cache")
    assert len(files) == 1 and files[0].endswith(".bpf")

    def no_compile(_p):
        raise AssertionError("compiled again")

    monkeypatch.setattr(seccomp, "_build", no_compile)
    again = seccomp.program(profile, cache_dir=str(tmp_path / "cache"))
    assert again.bpf == first.bpf
    other = dict(profile, syscalls=[{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}])
    with pytest.raises(AssertionError, match="compiled again"):  # another profile, another key
        seccomp.program(other, cache_dir=str(tmp_path / "cache"))


def test_corrupt_cache_entry_is_recompiled(tmp_path):
    profile = {"defaultAction": "SCMP_ACT_ALLOW",
               "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}]}
    good = seccomp.program(profile, cache_dir=str(tmp_path))
    (entry,) = tmp_path.iterdir()
    entry.write_bytes(entry.read_bytes()[:-8])  # a torn write
    assert seccomp.program(profile, cache_dir=str(tmp_path)).bpf == good.bpf
    assert entry.read_bytes().endswith(good.bpf)


def test_program_rejects_a_partial_instruction():
    with pytest.raises(errdefs.InvalidArgument, match="not a whole number of instructions"):
        seccomp.Program(b"\x06\x00\x00\x00\x00\x00\xff")


def test_send_to_listener_passes_state_and_fd(tmp_path):
    path = str(tmp_path / "agent.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as srv:
        srv.bind(path)
        srv.listen(1)
        r, w = os.pipe()
        try:
            state = {"ociVersion": "1.0.2", "id": "c1", "status": "creating", "pid": 42,
                     "bundle": "/b"}
            seccomp.send_to_listener(path, r, 42, state, metadata="MKNOD=/dev/null")
            conn, _ = srv.accept()
            with conn:
                msg, fds, _, _ = socket.recv_fds(conn, 65536, 1)
            got = json.loads(msg)
            assert got == {"ociVersion": "1.0.2", "fds": ["seccompFd"], "pid": 42,
                           "metadata": "MKNOD=/dev/null", "state": state}
            assert os.fstat(fds[0]).st_ino == os.fstat(r).st_ino
            os.close(fds[0])
        finally:
            os.close(r)
            os.close(w)


def test_send_to_a_missing_listener_names_it(tmp_path):
    with pytest.raises(errdefs.NotFound, match=r"send seccomp fd to listener .*nope\.sock"):
        seccomp.send_to_listener(str(tmp_path / "nope.sock"), 0, 1, {})


# --- the default profile -----------------------------------------------------------------

X86 = ("SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32")
CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWNET, SIGCHLD = 0x20000, 0x10000000, 0x40000000, 17
CLONE_THREAD_FLAGS = 0x3D0F00  # what pthread_create passes
EPERM = ERRNO(errno.EPERM)


def default_bpf(caps: list[str] | None = None) -> bytes:
    bpf, f = compiled(default_profile(caps, arch="x86_64"))
    assert f.skipped == []
    return bpf


def test_every_name_in_the_default_profile_is_known_to_libseccomp():
    names = set(seccomp_default.ALLOWED) | set(seccomp_default.NEVER)
    names |= {n for _, group in seccomp_default.BY_CAPABILITY for n in group}
    names |= {n for group in seccomp_default._ARCH_ALLOWED.values() for n in group}
    unknown = sorted(n for n in names if seccomp.resolve(n) == -1)
    assert unknown == []


def test_default_profile_shape():
    p = default_profile(arch="x86_64")
    assert p["defaultAction"] == "SCMP_ACT_ERRNO" and p["defaultErrnoRet"] == 1
    assert p["architectures"] == list(X86)
    assert default_profile(arch="aarch64")["architectures"] == ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"]
    assert default_profile(arch="arm64")["architectures"] == ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"]
    assert seccomp_default.architectures("amd64") == list(X86)
    seccomp.validate(p)


def test_never_allowed_syscalls_stay_out_even_with_every_capability():
    from berth.linux.caps import CAPABILITIES

    p = default_profile(list(CAPABILITIES), arch="x86_64")
    allowed = {n for rule in p["syscalls"] if rule["action"] == "SCMP_ACT_ALLOW" for n in rule["names"]}
    assert not allowed & set(seccomp_default.NEVER)
    assert not set(seccomp_default.ALLOWED) & set(seccomp_default.NEVER)
    gated = {n for _, group in seccomp_default.BY_CAPABILITY for n in group}
    assert not gated & set(seccomp_default.ALLOWED)


def test_default_profile_compiles_for_each_little_endian_machine():
    for machine in ("x86_64", "aarch64", "ppc64le", "riscv64"):
        with seccomp.compile(default_profile(["CAP_CHOWN"], arch=machine)) as f:
            assert f.skipped == []


def test_architecture_of_the_other_byte_order_is_a_clear_error():
    with pytest.raises(errdefs.InvalidArgument, match='"SCMP_ARCH_S390X" cannot share a filter'):
        seccomp.compile(default_profile(arch="s390x"))


@pytest.mark.parametrize("arch", X86)
def test_default_profile_allows_ordinary_syscalls(arch):
    bpf = default_bpf()
    for name in ("read", "write", "execve", "getpid", "uname", "openat", "mmap", "exit_group",
                 "futex", "rt_sigreturn", "epoll_wait", "wait4"):
        n = seccomp.resolve(name, arch)
        if n >= 0:
            assert run(bpf, n, arch=arch) == ALLOW, (arch, name)


@pytest.mark.parametrize("arch", X86)
def test_default_profile_denies_mount_unshare_and_friends_with_eperm(arch):
    bpf = default_bpf()
    for name in ("mount", "umount2", "unshare", "setns", "pivot_root", "ptrace", "keyctl",
                 "add_key", "bpf", "reboot", "init_module", "kexec_load", "userfaultfd",
                 "settimeofday", "open_by_handle_at", "io_uring_setup", "chroot", "acct"):
        n = seccomp.resolve(name, arch)
        if n >= 0:
            assert run(bpf, n, arch=arch) == EPERM, (arch, name)


def test_default_profile_allows_clone_without_namespace_flags_only():
    bpf = default_bpf()
    clone = nr("clone")
    assert run(bpf, clone, (SIGCHLD,)) == ALLOW  # fork
    assert run(bpf, clone, (CLONE_THREAD_FLAGS,)) == ALLOW  # a thread
    for flag in (CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWNET):
        assert run(bpf, clone, (flag | SIGCHLD,)) == EPERM
    assert run(bpf, nr("clone3")) == ERRNO(errno.ENOSYS)  # glibc falls back to clone


def test_cap_sys_admin_opens_mount_unshare_and_namespaced_clone():
    bpf = default_bpf(["CAP_SYS_ADMIN"])
    assert run(bpf, nr("mount")) == ALLOW
    assert run(bpf, nr("unshare")) == ALLOW
    assert run(bpf, nr("clone"), (CLONE_NEWNET | SIGCHLD,)) == ALLOW
    assert run(bpf, nr("clone3")) == ALLOW
    assert run(bpf, nr("ptrace")) == EPERM  # another capability's


@pytest.mark.parametrize(("cap", "names"), [
    ("CAP_SYS_PTRACE", ("ptrace", "process_vm_readv", "process_vm_writev", "kcmp")),
    ("sys_module", ("init_module", "finit_module", "delete_module")),
    ("CAP_SYS_BOOT", ("reboot",)),
    ("CAP_SYS_TIME", ("settimeofday", "clock_settime", "clock_adjtime")),
    ("CAP_SYS_CHROOT", ("chroot",)),
])
def test_capabilities_open_their_syscalls(cap, names):
    without, with_cap = default_bpf(), default_bpf([cap])
    for name in names:
        assert run(without, nr(name)) == EPERM, name
        assert run(with_cap, nr(name)) == ALLOW, name


def test_personality_only_for_documented_values():
    bpf = default_bpf()
    n = nr("personality")
    for value in (0, 0x8, 0x20000, 0x20008, 0xFFFFFFFF):
        assert run(bpf, n, (value,)) == ALLOW, hex(value)
    for value in (0x0400000, 0x0040000, 0x6):  # READ_IMPLIES_EXEC, ADDR_NO_RANDOMIZE, PER_BSD
        assert run(bpf, n, (value,)) == EPERM, hex(value)


def test_vsock_sockets_are_denied_others_allowed():
    bpf = default_bpf()
    n = nr("socket")
    assert run(bpf, n, (socket.AF_INET, socket.SOCK_STREAM)) == ALLOW
    assert run(bpf, n, (socket.AF_UNIX, socket.SOCK_STREAM)) == ALLOW
    assert run(bpf, n, (40, socket.SOCK_STREAM)) == EPERM  # AF_VSOCK


def test_syscalls_of_a_foreign_architecture_kill():
    assert run(default_bpf(), 0, arch="SCMP_ARCH_AARCH64") == KILL_THREAD
