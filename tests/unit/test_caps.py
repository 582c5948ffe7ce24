"""Capability names, masks and validation (no root: nothing here changes the process)."""

from __future__ import annotations

import errno
import os
import re
import subprocess
import sys

import pytest

from berth import errdefs
from berth.linux import caps
from berth.linux.syscalls import PR_CAPBSET_DROP, PR_SET_KEEPCAPS, RecordingSyscalls

ALL = (1 << 41) - 1
NO_SYS_RESOURCE = ALL & ~(1 << caps.CAPABILITIES["CAP_SYS_RESOURCE"])


def test_table_is_dense_from_chown_to_checkpoint_restore():
    assert caps.CAPABILITIES["CAP_CHOWN"] == 0
    assert caps.CAPABILITIES["CAP_CHECKPOINT_RESTORE"] == 40
    assert sorted(caps.CAPABILITIES.values()) == list(range(41))


@pytest.mark.skipif(not os.path.exists("/usr/include/linux/capability.h"), reason="no kernel headers")
def test_table_matches_the_kernel_header():
    with open("/usr/include/linux/capability.h") as f:
        header = dict(re.findall(r"#define (CAP_[A-Z_]+)\s+(\d+)\s*$", f.read(), re.M))
    header = {k: int(v) for k, v in header.items() if k != "CAP_LAST_CAP"}
    assert {k: v for k, v in header.items() if v <= 40} == caps.CAPABILITIES


def test_names_and_masks_round_trip():
    names = ["CAP_CHOWN", "CAP_NET_RAW", "CAP_SYS_ADMIN", "CAP_CHECKPOINT_RESTORE"]
    mask = caps.to_mask(names)
    assert mask == 1 | 1 << 13 | 1 << 21 | 1 << 40
    assert caps.names(mask) == names
    assert caps.names(0) == []
    assert caps.names(1 << 45 | 1) == ["CAP_CHOWN", "45"]


def test_to_mask_rejects_an_unknown_name():
    with pytest.raises(errdefs.InvalidArgument, match='x: unknown capability "CAP_FOO"'):
        caps.to_mask(["CAP_FOO"], "x")


def test_last_cap_reads_the_kernel():
    with open("/proc/sys/kernel/cap_last_cap") as f:
        assert caps.last_cap() == int(f.read())


def test_absent_capabilities_mean_none_as_in_runc():
    c = caps.validate(None, available=ALL, kernel_last_cap=40)
    assert (c.bounding, c.effective, c.permitted, c.inheritable, c.ambient) == (0, 0, 0, 0, 0)
    assert c.warnings == []


def test_validate_builds_one_mask_per_set():
    spec = {
        "bounding": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
        "effective": ["CAP_CHOWN", "CAP_KILL"],
        "permitted": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
        "inheritable": ["CAP_NET_BIND_SERVICE"],
        "ambient": ["CAP_NET_BIND_SERVICE"],
    }
    c = caps.validate(spec, available=ALL, kernel_last_cap=40)
    assert c.names("bounding") == ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
    assert c.effective == 1 | 1 << 5
    assert c.permitted == c.bounding
    assert c.inheritable == c.ambient == 1 << 10
    assert c.last_cap == 40
    assert c.warnings == []
    assert c == caps.validate(spec, available=ALL, kernel_last_cap=40)


def test_unknown_capability_is_an_error_naming_set_and_name():
    with pytest.raises(errdefs.InvalidArgument) as ei:
        caps.validate({"bounding": ["CAP_CHOWN", "CAP_FOO"]}, available=ALL)
    assert str(ei.value) == 'process.capabilities.bounding: unknown capability "CAP_FOO"'


def test_unknown_capability_message_suggests_the_oci_spelling():
    with pytest.raises(errdefs.InvalidArgument, match=r'unknown capability "net_raw" \(did you mean "CAP_NET_RAW"\?\)'):
        caps.validate({"effective": ["net_raw"]}, "spec.caps", available=ALL)


@pytest.mark.parametrize("value", ["CAP_CHOWN", {"a": 1}, 7])
def test_a_set_must_be_a_list_of_names(value):
    with pytest.raises(errdefs.InvalidArgument, match=r"^process\.capabilities\.permitted: "):
        caps.validate({"permitted": value if not isinstance(value, int) else [value]}, available=ALL)


def test_capabilities_must_be_an_object():
    with pytest.raises(errdefs.InvalidArgument, match=r"process\.capabilities: expected an object"):
        caps.validate(["CAP_CHOWN"], available=ALL)  # type: ignore[arg-type]


def test_unknown_keys_are_ignored_as_the_spec_requires():
    c = caps.validate({"bounding": ["CAP_KILL"], "future": ["x"]}, available=ALL)
    assert c.names("bounding") == ["CAP_KILL"]


def test_capability_missing_from_the_runtime_bounding_set_is_dropped_with_a_warning():
    spec = {"bounding": ["CAP_CHOWN", "CAP_SYS_RESOURCE"], "permitted": ["CAP_SYS_RESOURCE"],
            "effective": ["CAP_SYS_RESOURCE"]}
    c = caps.validate(spec, available=NO_SYS_RESOURCE, kernel_last_cap=40)
    assert c.names("bounding") == ["CAP_CHOWN"]
    assert c.permitted == c.effective == 0
    assert c.warnings == ["process.capabilities: ignoring unknown or unavailable capabilities: "
                          "CAP_SYS_RESOURCE"]


def test_capability_beyond_the_kernel_last_cap_is_dropped_with_a_warning():
    spec = {"bounding": ["CAP_BPF", "CAP_PERFMON", "CAP_CHOWN"]}
    c = caps.validate(spec, available=ALL, kernel_last_cap=37)
    assert c.names("bounding") == ["CAP_CHOWN"]
    assert c.warnings == ["process.capabilities: ignoring unknown or unavailable capabilities: "
                          "CAP_BPF, CAP_PERFMON"]


def test_default_available_set_is_the_callers_bounding_set():
    bounding = caps.current()["bounding"]
    missing = [n for n in caps.CAPABILITIES if not bounding >> caps.CAPABILITIES[n] & 1]
    c = caps.validate({"bounding": list(caps.CAPABILITIES)})
    assert c.bounding == bounding & ((1 << (caps.last_cap() + 1)) - 1)
    assert bool(c.warnings) == bool(missing)


def test_effective_must_be_within_permitted():
    with pytest.raises(errdefs.InvalidArgument,
                       match=r'process\.capabilities\.effective: "CAP_KILL" is not in the permitted set'):
        caps.validate({"effective": ["CAP_KILL"], "permitted": ["CAP_CHOWN"]}, available=ALL)


def test_ambient_must_be_within_permitted_and_inheritable():
    with pytest.raises(errdefs.InvalidArgument, match=r'process\.capabilities\.ambient: "CAP_KILL"'):
        caps.validate({"ambient": ["CAP_KILL"], "permitted": ["CAP_KILL"]}, available=ALL)


def test_current_reads_all_five_sets_of_this_process():
    with open("/proc/self/status") as f:
        status = dict(line.split(":\t", 1) for line in f.read().splitlines() if ":\t" in line)
    cur = caps.current()
    assert cur["bounding"] == int(status["CapBnd"], 16)
    assert cur["effective"] == int(status["CapEff"], 16)
    assert cur["permitted"] == int(status["CapPrm"], 16)
    assert cur["inheritable"] == int(status["CapInh"], 16)
    assert cur["ambient"] == int(status["CapAmb"], 16)


def test_current_of_a_missing_process_is_not_found():
    with pytest.raises(errdefs.NotFound, match="/proc/999999999/status"):
        caps.current(999999999)


def test_drop_bounding_drops_every_capability_not_kept_in_order():
    c = caps.validate({"bounding": ["CAP_CHOWN", "CAP_NET_RAW"]}, available=ALL, kernel_last_cap=40)
    rec = RecordingSyscalls()
    caps.drop_bounding(c, rec)
    dropped = [call[2] for call in rec.calls]
    assert all(call[:2] == ("prctl", PR_CAPBSET_DROP) for call in rec.calls)
    assert dropped == [n for n in range(41) if n not in (0, 13)]


def test_drop_bounding_goes_up_to_the_kernel_last_cap_only():
    c = caps.validate({}, available=ALL, kernel_last_cap=37)
    rec = RecordingSyscalls()
    caps.drop_bounding(c, rec)
    assert [call[2] for call in rec.calls] == list(range(38))


def test_drop_bounding_failure_names_the_capability():
    c = caps.validate({}, available=ALL, kernel_last_cap=40)
    with pytest.raises(errdefs.PermissionDenied,
                       match="drop CAP_CHOWN from the bounding set: operation not permitted"):
        caps.drop_bounding(c, RecordingSyscalls(fail={"prctl": errno.EPERM}))


def test_set_keepcaps_calls_prctl():
    rec = RecordingSyscalls()
    caps.set_keepcaps(True, rec)
    caps.set_keepcaps(False, rec)
    assert [call[1:3] for call in rec.calls] == [(PR_SET_KEEPCAPS, 1), (PR_SET_KEEPCAPS, 0)]


def test_module_docstring_documents_the_runtime_order():
    doc = caps.__doc__ or ""
    order = ["drop_bounding(c)", "set_keepcaps(True)", "setuid", "set_keepcaps(False)", "apply(c)"]
    positions = [doc.index(step) for step in order]
    assert positions == sorted(positions)


def test_importing_caps_and_seccomp_stays_cheap():
    code = (
        "import sys; before = set(sys.modules)\n"
        "import berth.linux.caps, berth.linux.seccomp\n"
        "print(' '.join(sorted(set(sys.modules) - before)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    new = set(out.stdout.split())
    heavy = {"typing", "ctypes", "json", "re", "enum", "dataclasses", "subprocess", "struct",
             "hashlib", "socket"}
    assert not new & heavy, new & heavy
