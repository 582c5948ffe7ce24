"""The v2 device program: built from OCI rules, then run by a small interpreter of the
instructions it uses, so the last-match-wins answers are checked without a kernel."""

from __future__ import annotations

import struct

import pytest

from berth.cgroups import _rules
from berth.cgroups.v2 import devices
from berth.errdefs import InvalidArgument

R, W, M = devices.ACC_READ, devices.ACC_WRITE, devices.ACC_MKNOD
CHAR, BLOCK = devices.DEV_CHAR, devices.DEV_BLOCK


def run(code: bytes, kind: int, major: int, minor: int, access: int) -> int:
    """Interpret the encoded program on one bpf_cgroup_dev_ctx."""
    ctx = struct.pack("<III", (access << 16) | kind, major, minor)
    regs = [0] * 11
    insns = [struct.unpack_from("<BBhi", code, i) for i in range(0, len(code), 8)]
    pc = 0
    for _ in range(10000):
        op, regbyte, off, imm = insns[pc]
        dst, src = regbyte & 0xF, regbyte >> 4
        u32 = imm & 0xFFFFFFFF
        pc += 1
        if op == devices.LDX_W:
            assert src == 1
            regs[dst] = struct.unpack_from("<I", ctx, off)[0]
        elif op == devices.AND32_K:
            regs[dst] = (regs[dst] & u32) & 0xFFFFFFFF
        elif op == devices.RSH32_K:
            regs[dst] = (regs[dst] & 0xFFFFFFFF) >> imm
        elif op == devices.MOV32_K:
            regs[dst] = u32
        elif op == devices.MOV32_X:
            regs[dst] = regs[src] & 0xFFFFFFFF
        elif op == devices.JNE_K:
            if regs[dst] != u32:
                pc += off
        elif op == devices.JEQ_K:
            if regs[dst] == u32:
                pc += off
        elif op == devices.EXIT:
            return regs[0]
        else:
            raise AssertionError(f"unexpected opcode {op:#x}")
    raise AssertionError("program did not exit")


def program(rules: list[dict[str, object]]) -> bytes:
    return devices.encode(devices.instructions(_rules.parse(rules)))


def test_nothing_matched_is_denied() -> None:
    code = program([])
    assert run(code, CHAR, 1, 3, R) == 0


def test_allow_all_then_deny_one_device_read() -> None:
    code = program(
        [
            {"allow": True, "access": "rwm"},
            {"allow": False, "type": "c", "major": 1, "minor": 3, "access": "r"},
        ]
    )
    assert run(code, CHAR, 1, 3, R) == 0
    assert run(code, CHAR, 1, 3, W) == 1
    assert run(code, CHAR, 1, 3, R | W) == 0  # open O_RDWR asks for both
    assert run(code, CHAR, 1, 5, R) == 1
    assert run(code, BLOCK, 1, 3, R) == 1


def test_last_matching_rule_wins() -> None:
    code = program(
        [
            {"allow": False, "access": "rwm"},
            {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rwm"},
            {"allow": False, "type": "c", "major": 1, "minor": 3, "access": "w"},
            {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "w"},
        ]
    )
    assert run(code, CHAR, 1, 3, R | W) == 1
    assert run(code, CHAR, 1, 5, R) == 0


def test_each_requested_access_needs_an_allowing_rule() -> None:
    code = program(
        [
            {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "r"},
            {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "w"},
        ]
    )
    assert run(code, CHAR, 1, 3, R | W) == 1
    assert run(code, CHAR, 1, 3, M) == 0
    assert run(code, CHAR, 1, 3, R | M) == 0


def test_wildcard_major_and_minor() -> None:
    code = program(
        [
            {"allow": True, "type": "c", "major": 136, "access": "rwm"},  # any pts
            {"allow": True, "type": "b", "minor": 0, "access": "r"},
            {"allow": True, "type": "c", "major": -1, "minor": -1, "access": "m"},
        ]
    )
    assert run(code, CHAR, 136, 7, R | W) == 1
    assert run(code, CHAR, 137, 7, R) == 0
    assert run(code, BLOCK, 8, 0, R) == 1
    assert run(code, BLOCK, 8, 1, R) == 0
    assert run(code, CHAR, 10, 200, M) == 1
    assert run(code, BLOCK, 10, 200, M) == 0


def test_docker_default_rules() -> None:
    code = program(
        [
            {"allow": False, "access": "rwm"},
            {"allow": True, "type": "c", "major": 1, "minor": 5, "access": "rwm"},
            {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rwm"},
            {"allow": True, "type": "c", "major": 5, "minor": 0, "access": "rwm"},
            {"allow": True, "type": "c", "major": 136, "access": "rwm"},
            {"allow": False, "type": "c", "major": 10, "minor": 229, "access": "rwm"},
        ]
    )
    assert run(code, CHAR, 1, 5, R) == 1
    assert run(code, CHAR, 5, 0, R | W) == 1
    assert run(code, CHAR, 10, 229, R) == 0
    assert run(code, BLOCK, 8, 0, R) == 0


def test_encoding_is_struct_bpf_insn() -> None:
    code = devices.encode([(devices.LDX_W, 2, 1, 4, 0), (devices.EXIT, 0, 0, 0, 0)])
    assert code == bytes([0x61, 0x12, 4, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0])


def test_jumps_stay_inside_the_program() -> None:
    prog = devices.instructions(
        _rules.parse(
            [
                {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "r"},
                {"allow": False, "type": "b", "access": "w"},
            ]
        )
    )
    for i, (code, _, _, off, _) in enumerate(prog):
        if code in (devices.JNE_K, devices.JEQ_K):
            assert 0 <= i + 1 + off < len(prog)


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"allow": True, "type": "x"}, r"devices\[0\].type: 'x' is not a device type"),
        ({"allow": True, "access": "rwx"}, r"devices\[0\].access: 'rwx' is not a device access"),
        ({"allow": True, "access": ""}, r"devices\[0\].access: '' is not a device access"),
        ({"type": "c"}, r"devices\[0\].allow: None is not a boolean"),
        ({"allow": True, "major": -2}, r"devices\[0\].major: -2 is not a device number"),
    ],
)
def test_bad_rules_are_refused(rule: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        _rules.parse([rule])


def test_apply_without_devices_loads_nothing(tmp_path: object) -> None:
    devices.apply({"memory": {}}, "/nonexistent")
