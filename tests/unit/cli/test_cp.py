"""``berth cp``: argument splitting, docker's PrepareArchiveCopy decisions, and both
directions against a scripted daemon (the recorded archive requests)."""

from __future__ import annotations

import io
import os
import tarfile

import pytest

from berth.cli.commands import cp
from berth.cli.context import Cli, CliError

from . import traces
from .apifake import FakeDaemon, daemon


def _tar(entries: dict[str, bytes | None]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.USTAR_FORMAT) as t:
        for name, data in entries.items():
            info = tarfile.TarInfo(name)
            if data is None:
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
                t.addfile(info)
            else:
                info.size = len(data)
                info.mode = 0o644
                t.addfile(info, io.BytesIO(data))
    return out.getvalue()


# as dockerd sends it: one 512-byte header, one data block, the two-block end marker
F_TXT = _tar({"f.txt": b"data\n"})[:2048]


def _names(data: bytes) -> list[str]:
    with tarfile.open(fileobj=io.BytesIO(data)) as t:
        return t.getnames()


@pytest.mark.parametrize(
    ("arg", "split"),
    [
        ("apic-x:/f.txt", ("apic-x", "/f.txt")),
        ("/abs:olute", ("", "/abs:olute")),
        ("./file:name", ("", "./file:name")),
        ("plain", ("", "plain")),
        ("-", ("", "-")),
    ],
)
def test_split_arg(arg: str, split: tuple[str, str]) -> None:
    assert cp.split_arg(arg) == split


def test_split_dir_entry_like_moby() -> None:
    assert cp.split_dir_entry("/a/b/") == ("/a", "b")
    assert cp.split_dir_entry("/a/b/.") == ("/a/b", ".")
    assert cp.split_dir_entry("f") == (".", "f")


def test_prepare_decisions() -> None:
    data = _tar({"d": None, "d/x": b"1"})
    src_dir = cp.CopyInfo("/src/d", True, True)
    # into an existing directory: unchanged
    assert cp.prepare(data, src_dir, cp.CopyInfo("/dst", True, True)) == ("/dst", data)
    # to a new name: extracted into the parent, top entry renamed
    where, renamed = cp.prepare(data, src_dir, cp.CopyInfo("/dst/new"))
    assert where == "/dst"
    assert _names(renamed) == ["new", "new/x"]
    with pytest.raises(CliError, match=r"^cannot copy directory$"):
        cp.prepare(data, src_dir, cp.CopyInfo("/dst/file", True, False))
    with pytest.raises(CliError, match=r"^no such directory$"):
        cp.prepare(_tar({"f": b""}), cp.CopyInfo("/src/f", True), cp.CopyInfo("/dst/missing/"))


@pytest.fixture(scope="module")
def fake() -> FakeDaemon:
    f = FakeDaemon()
    stat = {"X-Docker-Container-Path-Stat": traces.CP_FROM_STAT}
    f.on("GET", "/containers/apic-x/archive", F_TXT, content_type="application/x-tar", headers=stat)
    f.on(
        "HEAD",
        "/containers/apic-x/archive",
        headers={"X-Docker-Container-Path-Stat": traces.CP_TO_STAT},
    )
    f.error(
        "HEAD", "/containers/fresh/archive", 404, "Could not find the file /new in container fresh"
    )
    f.on("PUT", "/containers/{id}/archive")
    with daemon(f):
        yield f  # type: ignore[misc]


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def _cli(fake: FakeDaemon, out: io.StringIO | None = None) -> tuple[Cli, io.StringIO]:
    err = io.StringIO()
    return Cli(f"unix://{fake.path}", out=out or io.StringIO(), err=err), err


OPTS = {"archive": False, "follow_link": False, "quiet": False}


def test_copy_from_container_into_a_directory(fake: FakeDaemon, tmp_path: object) -> None:
    fake.seen.clear()
    cli, err = _cli(fake, Tty())
    try:
        assert cp.run(cli, OPTS, ["apic-x:/f.txt", f"{tmp_path}/"]) == 0
    finally:
        cli.close()
    assert fake.targets() == ["GET /v1.41/containers/apic-x/archive?path=%2Ff.txt"]
    with open(os.path.join(str(tmp_path), "f.txt")) as f:
        assert f.read() == "data\n"
    assert err.getvalue() == f"Successfully copied 2.05kB to {tmp_path}/\n"


def test_copy_from_container_to_a_new_name_quietly(fake: FakeDaemon, tmp_path: object) -> None:
    cli, err = _cli(fake)  # stdout not a terminal: no progress, no summary
    try:
        cp.run(cli, OPTS, ["apic-x:/f.txt", os.path.join(str(tmp_path), "g.txt")])
    finally:
        cli.close()
    assert os.listdir(str(tmp_path)) == ["g.txt"]
    assert err.getvalue() == ""
    cli, err = _cli(fake)
    try:
        with pytest.raises(CliError, match=r"^stat .*/missing: no such file or directory$"):
            cp.run(cli, OPTS, ["apic-x:/f.txt", os.path.join(str(tmp_path), "missing", "g.txt")])
    finally:
        cli.close()


def test_copy_from_container_to_stdout_is_the_raw_tar(fake: FakeDaemon) -> None:
    raw = io.BytesIO()
    out = io.TextIOWrapper(raw)
    cli = Cli(f"unix://{fake.path}", out=out, err=io.StringIO())  # type: ignore[arg-type]
    try:
        cp.run(cli, OPTS, ["apic-x:/f.txt", "-"])
    finally:
        cli.close()
    assert raw.getvalue() == F_TXT


def test_copy_to_an_existing_directory_matches_the_trace(
    fake: FakeDaemon, tmp_path: object
) -> None:
    src = os.path.join(str(tmp_path), "hello.txt")
    with open(src, "w") as f:
        f.write("hello-build\n")
    fake.seen.clear()
    cli, err = _cli(fake, Tty())
    try:
        cp.run(cli, OPTS, [src, "apic-x:/tmp/"])
    finally:
        cli.close()
    assert fake.targets() == [
        "HEAD /v1.41/containers/apic-x/archive?path=%2Ftmp%2F",
        "PUT /v1.41/containers/apic-x/archive?noOverwriteDirNonDir=true&path=%2Ftmp%2F",
    ]
    body = fake.seen[1][2]
    with tarfile.open(fileobj=io.BytesIO(body)) as t:
        (m,) = t.getmembers()
        assert m.name == "hello.txt"
        assert t.extractfile(m).read() == b"hello-build\n"  # type: ignore[union-attr]
    assert err.getvalue().startswith("Successfully copied ")
    assert err.getvalue().endswith(" to apic-x:/tmp/\n")


def test_copy_a_directory_to_a_new_path(fake: FakeDaemon, tmp_path: object) -> None:
    d = os.path.join(str(tmp_path), "ctx")
    os.makedirs(os.path.join(d, "sub"))
    with open(os.path.join(d, "sub", "a"), "w") as f:
        f.write("a")
    fake.seen.clear()
    cli, _ = _cli(fake)
    try:
        cp.run(cli, {**OPTS, "archive": True}, [d, "fresh:/new"])
    finally:
        cli.close()
    assert (
        fake.targets()[1]
        == "PUT /v1.41/containers/fresh/archive?copyUIDGID=true&noOverwriteDirNonDir=true&path=%2F"
    )
    assert sorted(_names(fake.seen[1][2])) == ["new", "new/sub", "new/sub/a"]


def test_copy_contents_with_dot(fake: FakeDaemon, tmp_path: object) -> None:
    d = os.path.join(str(tmp_path), "ctx")
    os.makedirs(d)
    with open(os.path.join(d, "a"), "w") as f:
        f.write("a")
    fake.seen.clear()
    cli, _ = _cli(fake)
    try:
        cp.run(cli, OPTS, [d + "/.", "apic-x:/tmp"])
    finally:
        cli.close()
    assert fake.targets()[1].endswith("path=%2Ftmp")
    assert sorted(n.lstrip("./") for n in _names(fake.seen[1][2]) if n not in (".", "./")) == ["a"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["a:/x", "b:/y"], "copying between containers is not supported"),
        (["/x", "y"], "must specify at least one container source"),
    ],
)
def test_direction_errors(args: list[str], message: str) -> None:
    cli = Cli("unix:///nonexistent.sock", out=io.StringIO(), err=io.StringIO())
    with pytest.raises(CliError, match=f"^{message}$"):
        cp.run(cli, OPTS, args)


def test_missing_local_source(fake: FakeDaemon, tmp_path: object) -> None:
    cli, _ = _cli(fake)
    try:
        with pytest.raises(CliError, match=r"^lstat .*/nope: no such file or directory$"):
            cp.run(cli, OPTS, [os.path.join(str(tmp_path), "nope"), "apic-x:/tmp/"])
    finally:
        cli.close()
