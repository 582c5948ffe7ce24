"""The paths that must start fast (berth-runtime) import no heavy module. A test, not a
benchmark: it fails when someone adds `import json` or `import typing` on the hot path."""

import subprocess
import sys

HEAVY = ["json", "re", "typing", "enum", "dataclasses", "argparse", "subprocess", "logging", "pathlib", "inspect"]

HOT = [
    "berth.ocicli.main",
    "berth.ocicli.v_create",
    "berth.ocicli.v_start",
    "berth.ocicli.v_delete",
    "berth.ocicli.v_state",
    "berth.ocicli.v_kill",
    "berth.runtime.container",
    "berth.runtime.init",
    "berth.runtime.rootfs",
    "berth.cgroups",
    "berth.linux.caps",
]


def test_hot_path_imports_nothing_heavy():
    import os

    src = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "src")
    code = f"import sys\nsys.path.insert(0, {src!r})\n" + "".join(f"import {m}\n" for m in HOT) + f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "", f"heavy modules imported on the hot path: {out}"
