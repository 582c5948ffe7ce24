"""v2 device access control: a ``BPF_PROG_TYPE_CGROUP_DEVICE`` program.

cgroup v2 has no ``devices.*`` files (cgroup-v2.rst "Device controller"): access is
decided by eBPF programs attached to the group with ``BPF_CGROUP_DEVICE``. On every
open/mknod of a device node the kernel runs them with a ``struct bpf_cgroup_dev_ctx``
(include/uapi/linux/bpf.h)::

    u32 access_type;   /* (access << 16) | type */
    u32 major;
    u32 minor;

type is ``BPF_DEVCG_DEV_BLOCK`` (1) or ``BPF_DEVCG_DEV_CHAR`` (2); access is a mask of
``BPF_DEVCG_ACC_MKNOD`` (1), ``READ`` (2), ``WRITE`` (4). Returning 1 allows, 0 denies
(EPERM). With ``BPF_F_ALLOW_MULTI`` every program of the group and its ancestors must
allow.

Semantics follow the OCI list (config-linux.md "Device allowlist"): rules in order, the
last match wins, nothing matched is denied, as with v1 after ``devices.deny a``. Since a
request can ask for several accesses at once (open O_RDWR is read|write), each requested
bit is decided by the last rule that matches the device and names that bit: the program
walks the rules backwards keeping the undecided bits in r6; a matching deny rule that
names an undecided bit denies; a matching allow rule clears its bits and allows once
none are left. runc gets the same answers by first reducing the list with its v1
emulator (libcontainer/cgroups/devices) and then emitting one block per rule
(devicefilter.go, after crun's ebpf.c).

The program is built here as raw instructions (``struct bpf_insn``: u8 code, u8
dst:4/src:4, s16 off, s32 imm; Documentation/bpf/standardization/instruction-set.rst)
and loaded by :mod:`berth.cgroups.v2.bpf`.
"""

from __future__ import annotations

from .. import _rules

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .._files import Resources

_F = "linux.resources.devices"

DEV_BLOCK, DEV_CHAR = 1, 2
ACC_MKNOD, ACC_READ, ACC_WRITE = 1, 2, 4
_TYPES = {"b": DEV_BLOCK, "c": DEV_CHAR}
_ACCESS = {"m": ACC_MKNOD, "r": ACC_READ, "w": ACC_WRITE}

# Opcodes (class | op | source).
LDX_W = 0x61  # BPF_LDX | BPF_MEM | BPF_W
AND32_K = 0x54  # BPF_ALU | BPF_AND | BPF_K
RSH32_K = 0x74  # BPF_ALU | BPF_RSH | BPF_K
MOV32_K = 0xB4  # BPF_ALU | BPF_MOV | BPF_K
MOV32_X = 0xBC  # BPF_ALU | BPF_MOV | BPF_X
JEQ_K = 0x15  # BPF_JMP | BPF_JEQ | BPF_K
JNE_K = 0x55  # BPF_JMP | BPF_JNE | BPF_K
EXIT = 0x95  # BPF_JMP | BPF_EXIT

Insn = tuple[int, int, int, int, int]  # code, dst, src, off, imm
_NEXT = -(1 << 15)  # placeholder offset: "jump to the end of this block"


def _s32(value: int) -> int:
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value >= 1 << 31 else value


def access_mask(access: str) -> int:
    mask = 0
    for ch in access:
        mask |= _ACCESS[ch]
    return mask


def _block(rule: _rules.Rule) -> list[Insn]:
    allow, kind, major, minor, access = rule
    acc = access_mask(access)
    out: list[Insn] = []
    if kind != "a":
        out.append((JNE_K, 2, 0, _NEXT, _TYPES[kind]))
    if major >= 0:
        out.append((JNE_K, 4, 0, _NEXT, _s32(major)))
    if minor >= 0:
        out.append((JNE_K, 5, 0, _NEXT, _s32(minor)))
    if allow:
        out += [
            (AND32_K, 6, 0, 0, _s32(~acc)),  # these bits are decided: allowed
            (JNE_K, 6, 0, _NEXT, 0),  # bits left: look further back
            (MOV32_K, 0, 0, 0, 1),
            (EXIT, 0, 0, 0, 0),
        ]
    else:
        out += [
            (MOV32_X, 7, 6, 0, 0),
            (AND32_K, 7, 0, 0, acc),
            (JEQ_K, 7, 0, _NEXT, 0),  # names no undecided bit: look further back
            (MOV32_K, 0, 0, 0, 0),
            (EXIT, 0, 0, 0, 0),
        ]
    return [
        (code, dst, src, len(out) - i - 1 if off == _NEXT else off, imm)
        for i, (code, dst, src, off, imm) in enumerate(out)
    ]


def instructions(rules: list[_rules.Rule]) -> list[Insn]:
    """The program for ``rules`` (in OCI order) as (code, dst, src, off, imm) tuples."""
    prog: list[Insn] = [
        (LDX_W, 2, 1, 0, 0),  # r2 = ctx->access_type
        (AND32_K, 2, 0, 0, 0xFFFF),  # r2 = type
        (LDX_W, 3, 1, 0, 0),
        (RSH32_K, 3, 0, 0, 16),  # r3 = requested access
        (LDX_W, 4, 1, 4, 0),  # r4 = major
        (LDX_W, 5, 1, 8, 0),  # r5 = minor
        (MOV32_X, 6, 3, 0, 0),  # r6 = access bits not yet decided
    ]
    for rule in reversed(rules):
        prog += _block(rule)
    prog += [(MOV32_K, 0, 0, 0, 0), (EXIT, 0, 0, 0, 0)]  # nothing matched: deny
    return prog


def encode(prog: list[Insn]) -> bytes:
    """``struct bpf_insn`` array, little-endian (x86_64, aarch64)."""
    import struct

    return b"".join(
        struct.pack("<BBhi", code, (src << 4) | dst, off, imm) for code, dst, src, off, imm in prog
    )


def apply(resources: Resources, path: str) -> None:
    devices = resources.get("devices")
    if devices is None:
        return
    rules = _rules.parse(devices, _F)
    from . import bpf

    bpf.replace_device_program(path, encode(instructions(rules)))
