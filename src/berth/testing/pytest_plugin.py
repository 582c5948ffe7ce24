"""pytest plugin: ``root`` tests skip unless run as root, ``oracle`` tests need
``--oracle``, shared fixtures (busybox template), and the session-end leak check that
fails the run when tests leave mounts, cgroups, netns, links, nft tables or processes."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from typing import Any

import pytest

from berth.testing import leaks
from berth.testing.busybox import template

_before: leaks.Snapshot | None = None


def pytest_addoption(parser: Any) -> None:
    parser.addoption("--oracle", action="store_true", help="run tests that drive real peer engines (docker, containerd)")


def pytest_configure(config: Any) -> None:
    config.addinivalue_line("markers", "root: needs root and a real kernel")
    config.addinivalue_line("markers", "oracle: drives a real peer engine; opt-in with --oracle")


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    is_root = os.geteuid() == 0
    oracle = config.getoption("--oracle")
    for item in items:
        if "root" in item.keywords and not is_root:
            item.add_marker(pytest.mark.skip(reason="needs root"))
        if "oracle" in item.keywords and not oracle:
            item.add_marker(pytest.mark.skip(reason="oracle test: pass --oracle"))


def pytest_sessionstart(session: Any) -> None:
    global _before
    if os.geteuid() == 0:
        _before = leaks.snapshot()


def pytest_sessionfinish(session: Any, exitstatus: int) -> None:
    if _before is None:
        return
    # Give just-killed processes a moment to be reaped before judging.
    try:
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass
    except ChildProcessError:
        pass
    leaked = leaks.snapshot().new_since(_before)
    if leaked:
        sys.stderr.write("\nLEAK CHECK FAILED: the tests left these behind:\n")
        for kind, items in leaked.items():
            for it in items:
                sys.stderr.write(f"  {kind}: {it}\n")
        session.exitstatus = 1


@pytest.fixture(scope="session")
def busybox_template() -> Iterator[str]:
    d = tempfile.mkdtemp(prefix="berth-tmpl-")
    try:
        yield template(os.path.join(d, "rootfs"))
    finally:
        import shutil

        shutil.rmtree(d, ignore_errors=True)
