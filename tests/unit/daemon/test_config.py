from __future__ import annotations

import json
from pathlib import Path

import pytest

from berth.daemon.config import DEFAULT_HOST, ConfigError, load
from berth.errdefs import InvalidArgument


def cfgfile(tmp_path: Path, doc: object) -> str:
    p = tmp_path / "daemon.json"
    p.write_text(json.dumps(doc))
    return str(p)


def test_defaults_when_no_file(tmp_path: Path) -> None:
    cfg, show = load(["--config-file", cfgfile(tmp_path, {})])
    assert not show
    assert cfg.root == "/var/lib/berth" and cfg.exec_root == "/run/berth"
    assert cfg.hosts == [DEFAULT_HOST]
    assert cfg.log_level == "info" and not cfg.debug
    assert cfg.default_runtime == "berth-runtime"


def test_flags(tmp_path: Path) -> None:
    cfg, _ = load([
        "--config-file", cfgfile(tmp_path, {}),
        "--root", str(tmp_path / "r"), "--exec-root", "rel/x",
        "-H", "unix:///tmp/a.sock", "--host", "unix:///tmp/b.sock",
        "--insecure-registry", "10.0.0.0/8", "--insecure-registry", "r:5000",
        "--registry-mirror", "https://m", "-D", "--add-runtime", "fast=/usr/bin/true",
        "--default-runtime", "fast", "--label", "a=b",
    ])
    assert cfg.root == str(tmp_path / "r")
    assert cfg.exec_root.startswith("/") and cfg.exec_root.endswith("rel/x")
    assert cfg.hosts == ["unix:///tmp/a.sock", "unix:///tmp/b.sock"]
    assert cfg.insecure_registries == ["10.0.0.0/8", "r:5000"]
    assert cfg.registry_mirrors == ["https://m"]
    assert cfg.debug and cfg.log_level == "debug"
    assert cfg.runtimes == {"fast": "/usr/bin/true"}
    assert cfg.all_runtimes()["fast"] == "/usr/bin/true"
    assert cfg.default_runtime == "fast"


def test_file_settings_are_used(tmp_path: Path) -> None:
    path = cfgfile(tmp_path, {
        "data-root": "/srv/berth", "hosts": ["unix:///tmp/c.sock"], "log-level": "warn",
        "runtimes": {"mine": {"path": "/usr/bin/true"}}, "registry-mirrors": ["https://m"],
    })
    cfg, _ = load(["--config-file", path])
    assert cfg.root == "/srv/berth" and cfg.hosts == ["unix:///tmp/c.sock"]
    assert cfg.log_level == "warn" and cfg.runtimes == {"mine": "/usr/bin/true"}
    assert cfg.config_file == path


def test_flag_and_file_merge_when_disjoint(tmp_path: Path) -> None:
    cfg, _ = load(["--config-file", cfgfile(tmp_path, {"debug": True}), "--root", "/srv/x"])
    assert cfg.debug and cfg.root == "/srv/x"


def test_unknown_key_is_an_error_naming_it(tmp_path: Path) -> None:
    path = cfgfile(tmp_path, {"debug": True, "nosuch": 1, "graph": "/x"})
    with pytest.raises(ConfigError) as e:
        load(["--config-file", path])
    assert str(e.value) == (
        f"unable to configure berthd with file {path}: the following directives don't match "
        "any configuration option: nosuch, graph"
    )


def test_same_setting_in_flag_and_file_is_an_error(tmp_path: Path) -> None:
    path = cfgfile(tmp_path, {"debug": False, "data-root": "/a"})
    with pytest.raises(ConfigError) as e:
        load(["--config-file", path, "-D", "--root", "/b"])
    assert str(e.value) == (
        f"unable to configure berthd with file {path}: the following directives are specified both "
        "as a flag and in the configuration file: debug: (from flag: true, from file: false), "
        "data-root: (from flag: /b, from file: /a)"
    )


@pytest.mark.parametrize(
    "doc",
    [{"debug": "yes"}, {"hosts": "unix:///x"}, {"runtimes": {"x": "/bin/x"}}, {"data-root": 3}, [1]],
)
def test_wrong_types_in_the_file(tmp_path: Path, doc: object) -> None:
    with pytest.raises(ConfigError):
        load(["--config-file", cfgfile(tmp_path, doc)])


def test_bad_json_and_missing_file(tmp_path: Path) -> None:
    p = tmp_path / "daemon.json"
    p.write_text("{nope")
    with pytest.raises(ConfigError, match="unable to configure berthd"):
        load(["--config-file", str(p)])
    with pytest.raises(ConfigError, match="no such file"):
        load(["--config-file", str(tmp_path / "missing.json")])


def test_runtime_rules(tmp_path: Path) -> None:
    empty = cfgfile(tmp_path, {})
    with pytest.raises(ConfigError, match="reserved"):
        load(["--config-file", empty, "--add-runtime", "runc=/x"])
    with pytest.raises(ConfigError, match="expected name=path"):
        load(["--config-file", empty, "--add-runtime", "nopath"])
    with pytest.raises(ConfigError, match="default runtime 'ghost'"):
        load(["--config-file", empty, "--default-runtime", "ghost"])


def test_labels_need_an_equals(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match="invalid label"):
        load(["--config-file", cfgfile(tmp_path, {}), "--label", "x"])


def test_version_flag(tmp_path: Path) -> None:
    _, show = load(["--config-file", cfgfile(tmp_path, {}), "-v"])
    assert show
