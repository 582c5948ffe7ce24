"""The public surface, and the import cost budget of berth-runtime's path."""

from __future__ import annotations

import subprocess
import sys

import berth.cgroups

HEAVY = {
    "typing",
    "json",
    "re",
    "enum",
    "dataclasses",
    "subprocess",
    "pathlib",
    "logging",
    "ctypes",
    "struct",
}


def test_exports_match_all() -> None:
    assert berth.cgroups.__all__ == sorted(berth.cgroups.__all__)
    assert set(berth.cgroups.__all__) == {
        "Manager",
        "Setup",
        "current_cgroup",
        "detect",
        "resolve_path",
        "validate",
    }
    for name in berth.cgroups.__all__:
        assert getattr(berth.cgroups, name).__module__.startswith("berth.cgroups")


def test_import_loads_no_heavy_modules() -> None:
    code = (
        "import sys; before = set(sys.modules); import berth.cgroups; "
        "print(' '.join(sorted(set(sys.modules) - before)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout
    loaded = set(out.split())
    assert loaded & HEAVY == set()
    assert not any(m.startswith(("berth.cgroups.v1", "berth.cgroups.v2")) for m in loaded)
