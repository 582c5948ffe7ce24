"""berth-shim without root: its command line, and that it stays lean (its memory is paid
per container, so heavy imports are a defect)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from berth.shim.main import Config

SRC = os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "src"
)
HEAVY = ["json", "re", "typing", "enum", "dataclasses", "argparse", "subprocess", "logging",
         "asyncio", "socket", "signal", "ctypes", "datetime", "threading", "selectors"]  # fmt: skip


def test_shim_imports_nothing_heavy():
    code = (
        f"import sys\nsys.path.insert(0, {SRC!r})\nimport berth.shim.main\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-SE", "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "", f"heavy modules imported by berth-shim: {out}"


def test_config_parses_flags_both_spellings():
    c = Config.parse(
        ["--id", "c1", "--bundle=/b", "--state-dir", "/s", "--runtime", "/r", "--tty",
         "--log-opt", "max-size=1m", "--log-opt=max-file=2", "--stdin-once", "--linger", "1.5"]
    )  # fmt: skip
    assert (c.id, c.bundle, c.state_dir, c.runtime, c.tty) == ("c1", "/b", "/s", "/r", True)
    assert c.log_opts == {"max-size": "1m", "max-file": "2"}
    assert c.stdin and c.stdin_once and c.linger == 1.5
    assert c.runtime_root == "/run/berth/runtime"


@pytest.mark.parametrize(
    "argv",
    [[], ["--id", "x"], ["--id", "x", "--bundle", "/b", "--state-dir", "/s", "--runtime", "/r", "--what"],
     ["--id"]],
)  # fmt: skip
def test_config_rejects_bad_command_lines(argv):
    with pytest.raises(ValueError):
        Config.parse(argv)


def test_bad_log_opt_is_a_usage_error(tmp_path):
    argv = ["--id", "x", "--bundle", "/b", "--state-dir", str(tmp_path), "--runtime", "/r",
            "--log-opt", "max-size=lots"]  # fmt: skip
    p = subprocess.run(
        [sys.executable, "-SE", "-c", f"import sys; sys.path.insert(0, {SRC!r}); from berth.shim.main import main; sys.exit(main())", *argv],
        capture_output=True, text=True,
    )  # fmt: skip
    assert p.returncode == 2 and "invalid size" in p.stderr
