"""The berth CLI's path to a command imports nothing heavy: the standard library's
light modules and berth's own. A test, not a benchmark: it fails when someone adds
``import json`` (or http.client, socket, typing …) on the way to ``berth version``."""

import os
import subprocess
import sys

HEAVY = [
    "json", "re", "typing", "enum", "dataclasses", "argparse", "subprocess", "logging", "pathlib",
    "inspect", "socket", "http", "http.client", "email", "urllib", "urllib.parse", "asyncio", "ssl",
    "platform", "selectors",
]

HOT = [
    "berth.cli.main",
    "berth.cli.commands.version",
    "berth.cli.commands.info",
    "berth.cli.format",
    "berth.cli.tabwriter",
    "berth.client.api",
    "berth.api.wire",
    "berth.api.stdcopy",
]


def test_cli_hot_path_imports_nothing_heavy() -> None:
    src = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))), "src")
    code = (
        f"import sys\nsys.path.insert(0, {src!r})\n"
        + "".join(f"import {m}\n" for m in HOT)
        + f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-S", "-E", "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "", f"heavy modules imported on the CLI's path: {out}"
