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


EXEC_ARGV = ["--exec-id", "e1", "--process", "/p.json", "--id", "c1", "--state-dir", "/s",
             "--runtime", "/r"]  # fmt: skip


def test_exec_mode_parses():
    c = Config.parse([*EXEC_ARGV, "--tty", "--stdin-once", "--runtime-root=/rr", "--linger", "0"])
    assert (c.exec_id, c.process, c.id, c.state_dir, c.runtime) == (
        "e1",
        "/p.json",
        "c1",
        "/s",
        "/r",
    )
    assert c.tty and c.stdin and c.stdin_once and c.runtime_root == "/rr" and c.linger == 0
    assert c.bundle == "" and c.log_path == ""


@pytest.mark.parametrize(
    ("argv", "msg"),
    [(EXEC_ARGV[2:], "missing --exec-id"),
     ([*EXEC_ARGV[:2], *EXEC_ARGV[4:]], "missing --process"),
     ([*EXEC_ARGV[:4], *EXEC_ARGV[6:]], "missing --id"),
     ([*EXEC_ARGV, "--bundle", "/b"], "--bundle does not go with --exec-id"),
     ([*EXEC_ARGV, "--log-path", "/l"], "--log-path does not go with --exec-id"),
     ([*EXEC_ARGV, "--log-opt", "max-size=1m"], "--log-opt does not go with --exec-id"),
     (["--exec-id"], "flag needs an argument: --exec-id")],
)  # fmt: skip
def test_exec_mode_rejects_bad_command_lines(argv, msg):
    with pytest.raises(ValueError, match=msg):
        Config.parse(argv)


@pytest.mark.parametrize(
    ("content", "tty", "msg"),
    [(None, False, "process file '.*': No such file"),
     ("{nope", False, "malformed json"),
     ("[]", False, "not a json object"),
     ('{"args": ["sh"], "terminal": true}', False, "terminal is true but --tty is not given"),
     ('{"args": ["sh"]}', True, "terminal is false but --tty is given")],
)  # fmt: skip
def test_exec_process_file_is_checked_before_the_runtime_runs(tmp_path, content, tty, msg):
    from berth.logs.jsonfile import Options
    from berth.shim.main import Shim, ShimError

    pf = tmp_path / "process.json"
    if content is not None:
        pf.write_text(content)
    argv = ["--exec-id", "e", "--process", str(pf), "--id", "c", "--state-dir", str(tmp_path),
            "--runtime", "/r", *(["--tty"] if tty else [])]  # fmt: skip
    shim = Shim(Config.parse(argv), Options.parse({}), -1)
    with pytest.raises(ShimError, match=msg) as info:
        shim._check_process_file()
    assert info.value.kind == "invalid"


def _fake_shim(tmp_path, stdout: str, stderr: str, code: int) -> list[str]:
    """A stand-in for berth-shim that records its argv and answers as told."""
    script = (
        "import sys, json\n"
        f"open({str(tmp_path / 'argv.json')!r}, 'w').write(json.dumps(sys.argv[1:]))\n"
        f"sys.stdout.write({stdout!r}); sys.stderr.write({stderr!r}); sys.exit({code})\n"
    )
    return [sys.executable, "-c", script]


def test_launch_exec_passes_the_exec_command_line(tmp_path):
    import json

    from berth.shim.client import launch_exec

    shim = _fake_shim(tmp_path, "4242\n", "", 0)
    pid = launch_exec(shim, exec_id="e1", process="/p.json", id="c1", state_dir="/s",
                      runtime="/r", runtime_root="/rr", tty=True, stdin_once=True, linger=2)  # fmt: skip
    assert pid == 4242
    argv = json.loads((tmp_path / "argv.json").read_text())
    assert Config.parse(argv).exec_id == "e1"
    assert argv == ["--exec-id", "e1", "--process", "/p.json", "--id", "c1", "--state-dir", "/s",
                    "--runtime", "/r", "--runtime-root", "/rr", "--tty", "--stdin-once",
                    "--linger", "2"]  # fmt: skip


def test_runtime_refusal_keeps_the_runtime_message(tmp_path):
    from berth import errdefs
    from berth.shim.client import OCIRuntimeError, launch_exec

    said = 'exec failed: unable to start container process: exec: "nope": executable file not found in $PATH'
    shim = _fake_shim(
        tmp_path, "", f"berth-shim: runc exec 'c1': exit 255: {said}\nruntime: {said}\n", 1
    )
    with pytest.raises(OCIRuntimeError) as info:
        launch_exec(shim, exec_id="e1", process="/p", id="c1", state_dir="/s", runtime="/r",
                    runtime_root="/rr")  # fmt: skip
    assert info.value.runtime_message == said
    assert str(info.value) == f"exec 'e1' in 'c1': runc exec 'c1': exit 255: {said}"
    assert isinstance(info.value, errdefs.Internal)

    other = _fake_shim(tmp_path, "", "berth-shim: process file '/p': no such file\n", 1)
    with pytest.raises(errdefs.Internal) as info2:
        launch_exec(other, exec_id="e1", process="/p", id="c1", state_dir="/s", runtime="/r",
                    runtime_root="/rr")  # fmt: skip
    assert not isinstance(info2.value, OCIRuntimeError)
    assert str(info2.value) == "exec 'e1' in 'c1': process file '/p': no such file"
