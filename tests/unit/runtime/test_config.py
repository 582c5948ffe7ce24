import copy
import os

import pytest

from berth.errdefs import InvalidArgument, NotFound
from berth.oci.default_spec import default_spec
from berth.runtime.config import load, validate


@pytest.fixture
def bundle(tmp_path):
    (tmp_path / "rootfs").mkdir()
    return str(tmp_path)


def spec():
    return default_spec(["true"], terminal=False, seccomp=False)


def test_default_spec_is_valid(bundle):
    validate(spec(), bundle)


@pytest.mark.parametrize(
    "mutate,field",
    [
        (lambda s: s.update(ociVersion="2.0"), "ociVersion"),
        (lambda s: s["process"].update(args=[]), "process.args"),
        (lambda s: s["process"].update(args="sh"), "process.args"),
        (lambda s: s["process"].update(cwd="tmp"), "process.cwd"),
        (lambda s: s["process"].update(env=["NOEQUALS"]), "process.env[0]"),
        (lambda s: s["process"]["user"].update(uid=-1), "process.user.uid"),
        (lambda s: s["process"].update(rlimits=[{"type": "RLIMIT_NOPE", "soft": 1, "hard": 1}]), "process.rlimits[0].type"),
        (lambda s: s["process"].update(rlimits=[{"type": "RLIMIT_NOFILE", "soft": 2, "hard": 1}]), "process.rlimits[0]"),
        (lambda s: s["process"].update(oomScoreAdj=5000), "process.oomScoreAdj"),
        (lambda s: s["mounts"].append({"destination": "rel"}), "mounts[7].destination"),
        (lambda s: s["linux"]["namespaces"].append({"type": "time"}), "linux.namespaces[6].type"),
        (lambda s: s["linux"]["namespaces"].append({"type": "pid"}), "linux.namespaces[6].type"),
        (lambda s: s["linux"].update(devices=[{"path": "/dev/x", "type": "q", "major": 1, "minor": 1}]), "linux.devices[0].type"),
        (lambda s: s["linux"].update(sysctl={"vm.swappiness": "10"}), "linux.sysctl.vm.swappiness"),
        (lambda s: s["linux"].update(rootfsPropagation="sideways"), "linux.rootfsPropagation"),
        (lambda s: s["linux"]["namespaces"].append({"type": "user"}), "linux.uidMappings"),
        (lambda s: s["hooks"].update if False else s.update(hooks={"prestart": [{"path": "rel"}]}), "hooks.prestart[0].path"),
        (lambda s: s.update(hooks={"nosuch": []}), "hooks.nosuch"),
        (lambda s: s["process"].update(apparmorProfile="docker-default"), "process.apparmorProfile"),
        (lambda s: s["process"].update(capabilities={"bounding": ["CAP_CHOWN"], "sideways": []}), "process.capabilities.sideways"),
    ],
)
def test_bad_fields_are_named(bundle, mutate, field):
    s = copy.deepcopy(spec())
    mutate(s)
    with pytest.raises(InvalidArgument) as e:
        validate(s, bundle)
    assert e.value.message.startswith(field), e.value.message


def test_hostname_needs_uts_namespace(bundle):
    s = spec()
    s["linux"]["namespaces"] = [n for n in s["linux"]["namespaces"] if n["type"] != "uts"]
    with pytest.raises(InvalidArgument, match="hostname"):
        validate(s, bundle)


def test_missing_rootfs(tmp_path):
    with pytest.raises(NotFound, match=r"root\.path"):
        validate(spec(), str(tmp_path))


def test_namespace_path_must_exist(bundle):
    s = spec()
    s["linux"]["namespaces"][1]["path"] = "/proc/self/ns/nosuch"
    with pytest.raises(NotFound, match=r"linux.namespaces\[1\].path"):
        validate(s, bundle)


def test_load_reports_malformed_json_position(bundle):
    with open(os.path.join(bundle, "config.json"), "w") as f:
        f.write('{"ociVersion": "1.0.2",\n "process": }')
    with pytest.raises(InvalidArgument, match="line 2"):
        load(bundle)


def test_load_missing_config(tmp_path):
    with pytest.raises(NotFound, match=r"config\.json"):
        load(str(tmp_path))
