"""Bad bundles fail with the field named and leave nothing behind: no state directory,
no cgroup, no process."""

from __future__ import annotations

import os

import pytest

from berth.testing.bundles import write_config

pytestmark = pytest.mark.root


def _nothing_left(ctr) -> None:
    assert ctr.rt("state", ctr.id).code != 0
    assert not os.path.exists(os.path.join(ctr.rt.root, ctr.id))
    for ctl in ("memory", "pids", "cpu", "freezer"):
        assert not os.path.exists(f"/sys/fs/cgroup/{ctl}{ctr.cgroup}"), ctl


def test_malformed_json(ctr):
    ctr.make(["true"])
    with open(os.path.join(ctr.bundle, "config.json"), "w") as f:
        f.write('{"ociVersion": "1.0.2", "process": {')
    r = ctr.create()
    assert r.code != 0
    _nothing_left(ctr)
    if ctr.rt.name == "berth-runtime":
        assert "config.json" in r.err and "line 1" in r.err


def test_wrong_field_type_is_named(ctr):
    spec = ctr.make(["true"])
    spec["process"]["args"] = "true"
    write_config(ctr.bundle, spec)
    r = ctr.create()
    assert r.code != 0
    _nothing_left(ctr)
    if ctr.rt.name == "berth-runtime":
        assert "process.args" in r.err


def test_missing_rootfs(ctr):
    spec = ctr.make(["true"])
    spec["root"]["path"] = "no-such-rootfs"
    write_config(ctr.bundle, spec)
    r = ctr.create()
    assert r.code != 0
    _nothing_left(ctr)
    if ctr.rt.name == "berth-runtime":
        assert "root.path" in r.err and "no-such-rootfs" in r.err


def test_unknown_namespace_type(ctr):
    spec = ctr.make(["true"])
    spec["linux"]["namespaces"].append({"type": "nosuchns"})
    write_config(ctr.bundle, spec)
    r = ctr.create()
    assert r.code != 0
    _nothing_left(ctr)
    if ctr.rt.name == "berth-runtime":
        assert "linux.namespaces[6].type" in r.err and "nosuchns" in r.err


def test_command_not_found_fails_create(ctr):
    ctr.make(["no-such-command"])
    r = ctr.create()
    assert r.code != 0
    assert "executable file not found" in r.err
    _nothing_left(ctr)


def test_bad_mount_fails_create_and_leaves_nothing(ctr, tmp_path):
    spec = ctr.make(["true"])
    spec["mounts"].append({"destination": "/data", "type": "bind", "source": str(tmp_path / "missing"), "options": ["bind"]})
    write_config(ctr.bundle, spec)
    r = ctr.create()
    assert r.code != 0
    _nothing_left(ctr)
    if ctr.rt.name == "berth-runtime":
        assert "mounts[7]" in r.err and "missing" in r.err


def test_mount_destination_escaping_through_symlink(ctr, tmp_path):
    if ctr.rt.name == "runc":
        pytest.skip("runc resolves the symlink inside the rootfs (securejoin clamps '..'); berth refuses it")
    spec = ctr.make(["true"])
    os.symlink("../../../../../../etc", os.path.join(ctr.bundle, "rootfs", "escape"))
    spec["mounts"].append({"destination": "/escape/berth", "type": "tmpfs", "source": "tmpfs", "options": []})
    write_config(ctr.bundle, spec)
    r = ctr.create()
    assert r.code != 0
    assert "escapes the root" in r.err and "mounts[7]" in r.err
    _nothing_left(ctr)
    assert not os.path.exists("/etc/berth")


def test_rlimit_above_the_hard_limit_is_refused_clearly(ctr):
    import resource

    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        pytest.skip("no finite hard limit here")
    with open("/proc/self/status") as f:
        capeff = int(next(ln for ln in f if ln.startswith("CapEff:")).split()[1], 16)
    if capeff >> 24 & 1:
        pytest.skip("this process holds CAP_SYS_RESOURCE: raising is allowed")
    spec = ctr.make(["true"])
    spec["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": hard + 1, "hard": hard + 1}]
    write_config(ctr.bundle, spec)
    r = ctr.create()
    assert r.code != 0
    _nothing_left(ctr)
    if ctr.rt.name == "berth-runtime":
        assert "RLIMIT_NOFILE" in r.err and str(hard) in r.err and "CAP_SYS_RESOURCE" in r.err


def test_invalid_id(rt, tmp_path, busybox_template):
    from berth.testing.bundles import make_bundle

    make_bundle(str(tmp_path / "b"), busybox_template, ["true"])
    r = rt.create("../escape", str(tmp_path / "b"), str(tmp_path / "out"))
    assert r.code != 0
    assert not os.path.exists(os.path.join(os.path.dirname(rt.root), "escape"))


def test_no_config(rt, tmp_path):
    r = rt.create("berth-test-noconfig", str(tmp_path), str(tmp_path / "out"))
    assert r.code != 0
    assert "config.json" in r.err
