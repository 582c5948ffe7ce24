"""berth.builder.context: the uploaded context indexed without unpacking it."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest

from berth import errdefs
from berth.builder.context import TarContext


def make_tar(entries: list[tuple[str, str, bytes | str]]) -> io.BytesIO:
    """(name, kind f|d|l|h, data or link target) → a tar in memory."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for name, kind, data in entries:
            ti = tarfile.TarInfo(name)
            if kind == "d":
                ti.type = tarfile.DIRTYPE
                ti.mode = 0o755
                tf.addfile(ti)
            elif kind in ("l", "h"):
                ti.type = tarfile.SYMTYPE if kind == "l" else tarfile.LNKTYPE
                ti.linkname = str(data)
                tf.addfile(ti)
            else:
                raw = data if isinstance(data, bytes) else data.encode()
                ti.size = len(raw)
                ti.mode = 0o644
                tf.addfile(ti, io.BytesIO(raw))
    buf.seek(0)
    return buf


def ctx(tmp_path: Path, entries: list[tuple[str, str, bytes | str]], keep: tuple[str, ...] = ()) -> TarContext:
    d = tmp_path / f"c{len(os.listdir(tmp_path))}"
    d.mkdir()
    return TarContext(make_tar(entries), str(d), keep=keep)


BASE: list[tuple[str, str, bytes | str]] = [
    ("Dockerfile", "f", "FROM x\n"),
    ("app", "d", b""),
    ("app/a.txt", "f", "a"),
    ("app/b.log", "f", "b"),
    ("app/sub", "d", b""),
    ("app/sub/c.txt", "f", "c"),
    ("link", "l", "app/a.txt"),
    ("out", "l", "/etc/passwd"),
    ("hard", "h", "app/a.txt"),
]


def test_find_plain_wildcards_links_and_errors(tmp_path: Path) -> None:
    c = ctx(tmp_path, BASE, keep=("Dockerfile",))
    assert c.read_small("Dockerfile") == b"FROM x\n" and c.read_small("app/a.txt") is None
    assert [(s.host, s.is_dir) for s in c.find("app")] == [("app", True)]
    assert [s.name for s in c.find("app/*.txt")] == ["app/a.txt"]
    assert [s.name for s in c.find("app/*")] == ["app/a.txt", "app/b.log", "app/sub"]
    assert [s.host for s in c.find("link")] == ["app/a.txt"]  # a top-level link is followed
    assert [s.name for s in c.find("app/*", excluded=lambda r: r.endswith(".log"))] == ["app/a.txt", "app/sub"]
    assert c.find("nothing*") == []
    with pytest.raises(errdefs.NotFound, match="symlink whose target is outside"):
        c.find("out")
    with pytest.raises(errdefs.NotFound, match="file does not exist"):
        c.find("missing.txt")
    with pytest.raises(errdefs.InvalidArgument, match="forbidden path outside the build context"):
        c.find("../x")
    with pytest.raises(errdefs.NotFound):
        c.find("app/b.log", excluded=lambda r: r == "app/b.log")


def test_digest_follows_contents_modes_and_exclusions(tmp_path: Path) -> None:
    a = ctx(tmp_path, BASE)
    same = ctx(tmp_path, BASE)
    changed = ctx(tmp_path, [e if e[0] != "app/sub/c.txt" else ("app/sub/c.txt", "f", "C") for e in BASE])
    d = a.digest(a.find("app"))
    assert d == same.digest(same.find("app"))
    assert d != changed.digest(changed.find("app"))  # a file deep in the directory changed
    assert a.entries["hard"].digest == a.entries["app/a.txt"].digest != a.entries["app/b.log"].digest
    # what .dockerignore excludes does not count
    no_sub = lambda r: r.startswith("app/sub")  # noqa: E731
    assert a.digest(a.find("app"), no_sub) == changed.digest(changed.find("app"), no_sub)


def test_root_unpacks_once_and_refuses_bad_archives(tmp_path: Path) -> None:
    c = ctx(tmp_path, BASE)
    root = c.root()
    assert open(os.path.join(root, "app/sub/c.txt")).read() == "c"
    assert os.readlink(os.path.join(root, "out")) == "/etc/passwd"
    assert c.root() == root
    bad = tmp_path / "bad"
    bad.mkdir()
    with pytest.raises(errdefs.InvalidArgument, match="not a valid tar archive"):
        TarContext(io.BytesIO(b"x" * 700), str(bad))
