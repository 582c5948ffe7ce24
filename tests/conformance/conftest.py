"""The OCI runtime conformance suite runs every test against berth-runtime and against
runc (Debian's, the oracle). A test that only berth passes by design says why and skips
runc."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from typing import Any

import pytest

from berth.testing.bundles import make_bundle
from berth.testing.runtimes import Runtime, become_subreaper, find, reap

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BERTH_RUNTIME = os.path.join(REPO, ".venv", "bin", "berth-runtime")

pytestmark = pytest.mark.root


def _runtimes() -> list[Any]:
    out = [pytest.param("berth-runtime", id="berth")]
    out.append(pytest.param("runc", id="runc", marks=pytest.mark.skipif(find("runc") is None, reason="runc not installed")))
    return out


@pytest.fixture(scope="session", autouse=True)
def _subreaper() -> None:
    if os.geteuid() == 0:
        become_subreaper()


@pytest.fixture(params=_runtimes())
def rt(request: Any) -> Iterator[Runtime]:
    name = request.param
    binary = BERTH_RUNTIME if name == "berth-runtime" else find("runc")
    assert binary
    root = tempfile.mkdtemp(prefix=f"berth-test-state-{name}-")
    r = Runtime(name, binary, root)
    try:
        yield r
    finally:
        for cid in [n for n in os.listdir(root) if not n.startswith(".")] if os.path.isdir(root) else []:
            r("delete", "--force", cid)
        # Dot entries are the runtime's own caches (berth: .cache/seccomp), not state.
        left = [n for n in os.listdir(root) if not n.startswith(".")] if os.path.isdir(root) else []
        shutil.rmtree(root, ignore_errors=True)
        assert not left, f"{name} left state behind: {left}"


class Ctr:
    """One container of a test: its id, bundle, output file and cgroup path."""

    def __init__(self, rt: Runtime, tmp: str, name: str, template: str) -> None:
        self.rt = rt
        self.id = f"berth-test-{name}-{os.getpid()}"[:120]
        self.bundle = os.path.join(tmp, "bundle")
        self.out = os.path.join(tmp, "out.txt")
        self.cgroup = f"/berth-test/{self.id}"
        self.template = template
        self.spec: dict[str, Any] = {}
        self.pid = 0

    def make(self, args: list[str], **kw: Any) -> dict[str, Any]:
        kw.setdefault("cgroups_path", self.cgroup)
        self.spec = make_bundle(self.bundle, self.template, args, **kw)
        return self.spec

    def create(self, *extra: str) -> Any:
        r = self.rt.create(self.id, self.bundle, self.out, *extra)
        if r.code == 0:
            self.pid = self.rt.state(self.id)["pid"]
        return r

    def run_to_exit(self, *extra: str) -> tuple[int | None, str]:
        """create + start, wait for the process, delete; (exit code, output)."""
        r = self.create(*extra)
        assert r.code == 0, r
        self.rt.ok("start", self.id)
        code = reap(self.pid)
        self.rt.ok("delete", self.id)
        return code, self.output()

    def run_ok(self, *extra: str) -> str:
        """run_to_exit that insists on exit status 0; the output."""
        code, out = self.run_to_exit(*extra)
        assert code == 0, f"exit {code}: {out}"
        return out

    def output(self) -> str:
        try:
            with open(self.out) as f:
                return f.read()
        except FileNotFoundError:
            return ""


@pytest.fixture
def ctr(rt: Runtime, tmp_path: Any, request: Any, busybox_template: str) -> Iterator[Ctr]:
    name = request.node.name.replace("[", "-").replace("]", "").replace("_", "-")[:60]
    c = Ctr(rt, str(tmp_path), name, busybox_template)
    yield c
    rt("delete", "--force", c.id)
    if c.pid:
        try:
            reap(c.pid, timeout=5)
        except TimeoutError:
            pass
    _rmdir_cgroups(c.id)


def _rmdir_cgroups(cid: str) -> None:
    """What a runtime's delete should have removed; the shared parent goes when empty."""
    for top in os.listdir("/sys/fs/cgroup"):
        path = f"/sys/fs/cgroup/{top}/berth-test/{cid}"
        for _ in range(50):
            try:
                os.rmdir(path)
                break
            except FileNotFoundError:
                break
            except OSError:
                time.sleep(0.01)
        try:
            os.rmdir(f"/sys/fs/cgroup/{top}/berth-test")
        except OSError:
            pass
