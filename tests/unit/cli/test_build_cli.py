"""``berth build`` and ``berth builder prune`` against the scripted fake daemon: the
context tar (.dockerignore, symlinks, ownership, ``-f -``, ``build -``), flags → query
as the docker CLI sends it, output, ``-q``, ``--iidfile``, exit codes."""

from __future__ import annotations

import io
import json
import os
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from berth.cli.commands._build_context import is_archive, tar_entries

from .fakedaemon import FakeDaemon, daemon

ID = "sha256:3acf6e7833d102e26fcffc5314064ef3247a7bc32b0ee92aadf09cfc28ae414f"
FAIL = "The command '/bin/sh -c echo failing && exit 3' returned a non-zero code: 3"


def msg(obj: object) -> bytes:
    return json.dumps(obj).encode() + b"\r\n"


OK_STREAM = [
    msg({"stream": "Step 1/2 : FROM busybox"}),
    msg({"stream": "\n"}),
    msg({"stream": " ---> 85136dcba8bf\n"}),
    msg({"aux": {"ID": ID}}),
    msg({"stream": "Successfully built 3acf6e7833d1\n"}),
]


@pytest.fixture(autouse=True)
def upload(monkeypatch: pytest.MonkeyPatch) -> None:
    """Most tests check the uploaded tar: the in-place offer is tested on its own below."""
    monkeypatch.setenv("BERTH_BUILD_UPLOAD", "1")


@pytest.fixture
def fake() -> Iterator[FakeDaemon]:
    with daemon(FakeDaemon()) as f:
        yield f


@pytest.fixture
def ctx(tmp_path: Path) -> Path:
    d = tmp_path / "ctx"
    d.mkdir()
    (d / "Dockerfile").write_text("FROM busybox\nCOPY . /app\n")
    (d / "a.txt").write_text("a")
    (d / "secret").mkdir()
    (d / "secret" / "key").write_text("k")
    (d / "logs").mkdir()
    (d / "logs" / "x.log").write_text("x")
    (d / "logs" / "keep.log").write_text("keep")
    os.symlink("a.txt", d / "link")
    (d / ".dockerignore").write_text("secret\nlogs\n!logs/keep.log\nDockerfile\n.dockerignore\n")
    return d


def members(body: bytes) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(body)) as tf:
        return {m.name: m for m in tf.getmembers()}


def file_data(body: bytes, name: str) -> bytes:
    with tarfile.open(fileobj=io.BytesIO(body)) as tf:
        f = tf.extractfile(name)
        assert f is not None
        return f.read()


def query_of(target: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(target).query, keep_blank_values=True)


class _Stdin:
    def __init__(self, data: bytes) -> None:
        self.buffer = io.BytesIO(data)

    def isatty(self) -> bool:
        return False


# -- the context -------------------------------------------------------------------------------


def test_context_honours_dockerignore_but_always_sends_dockerfile_and_dockerignore(
    fake: FakeDaemon, ctx: Path
) -> None:
    fake.stream("POST", "/build", OK_STREAM)
    assert fake.run("build", str(ctx)) == 0
    _, target, body = fake.seen[-1]
    m = members(body)
    assert sorted(m) == [".dockerignore", "Dockerfile", "a.txt", "link", "logs/keep.log"]
    assert m["link"].issym() and m["link"].linkname == "a.txt"
    assert all(i.uid == 0 and i.gid == 0 and i.uname == "" and i.gname == "" for i in m.values())
    assert file_data(body, "logs/keep.log") == b"keep"
    assert query_of(target)["dockerfile"] == ["Dockerfile"]


def test_context_without_dockerignore_has_directories_in_walk_order(fake: FakeDaemon, tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "f").write_text("f")
    (tmp_path / "Dockerfile").write_text("FROM busybox\n")
    (tmp_path / "a").write_text("a")
    os.link(tmp_path / "a", tmp_path / "c")
    fake.stream("POST", "/build", OK_STREAM)
    assert fake.run("build", str(tmp_path)) == 0
    body = fake.seen[-1][2]
    with tarfile.open(fileobj=io.BytesIO(body)) as tf:
        infos = tf.getmembers()
    assert [i.name for i in infos] == ["Dockerfile", "a", "b", "b/f", "c"]
    assert infos[2].isdir() and infos[4].islnk() and infos[4].linkname == "a"
    assert body.endswith(b"\0" * 1024) and len(body) % 512 == 0


def test_stdin_dockerfile_is_added_under_a_random_name_and_ignored(
    fake: FakeDaemon, ctx: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", _Stdin(b"FROM busybox\nRUN true\n"))
    fake.stream("POST", "/build", OK_STREAM)
    assert fake.run("build", "-f", "-", str(ctx)) == 0
    _, target, body = fake.seen[-1]
    name = query_of(target)["dockerfile"][0]
    assert name.startswith(".dockerfile.") and len(name) == len(".dockerfile.") + 20
    assert file_data(body, name) == b"FROM busybox\nRUN true\n"
    assert file_data(body, ".dockerignore").endswith(f"\n{name}\n".encode())
    assert list(members(body)).count(".dockerignore") == 1


def test_dockerfile_outside_the_context_is_sent_too(fake: FakeDaemon, ctx: Path, tmp_path: Path) -> None:
    outside = tmp_path / "Other.dockerfile"
    outside.write_text("FROM scratch\n")
    fake.stream("POST", "/build", OK_STREAM)
    assert fake.run("build", "-f", str(outside), str(ctx)) == 0
    _, target, body = fake.seen[-1]
    name = query_of(target)["dockerfile"][0]
    assert name.startswith(".dockerfile.") and file_data(body, name) == b"FROM scratch\n"


def test_dockerfile_inside_the_context_is_named_by_its_relative_path(fake: FakeDaemon, ctx: Path) -> None:
    (ctx / "sub").mkdir()
    (ctx / "sub" / "Dockerfile.dev").write_text("FROM busybox\n")
    fake.stream("POST", "/build", OK_STREAM)
    assert fake.run("build", "-f", str(ctx / "sub" / "Dockerfile.dev"), str(ctx)) == 0
    assert query_of(fake.seen[-1][1])["dockerfile"] == ["sub/Dockerfile.dev"]


def test_build_dash_with_a_dockerfile_on_stdin(fake: FakeDaemon, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", _Stdin(b"FROM busybox\nRUN echo failing && exit 3\n"))
    fake.stream("POST", "/build", OK_STREAM)
    assert fake.run("build", "-q", "-t", "apic/build:4", "-") == 0
    _, target, body = fake.seen[-1]
    assert list(members(body)) == ["Dockerfile"]
    assert members(body)["Dockerfile"].mode == 0o644
    assert target == "/v1.41/build?dockerfile=Dockerfile&q=1&t=apic%2Fbuild%3A4&version=1"


def test_build_dash_with_a_tar_on_stdin_sends_it_unchanged(fake: FakeDaemon, monkeypatch: pytest.MonkeyPatch) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        data = b"FROM busybox\n"
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(data)
        tf.addfile(info, io.BytesIO(data))
    assert is_archive(buf.getvalue()[:512])
    monkeypatch.setattr(sys, "stdin", _Stdin(buf.getvalue()))
    fake.stream("POST", "/build", OK_STREAM)
    assert fake.run("build", "-") == 0
    assert fake.seen[-1][2] == buf.getvalue()


def test_stdin_cannot_be_both_context_and_dockerfile(
    fake: FakeDaemon, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", _Stdin(b""))
    assert fake.run("build", "-f", "-", "-") == 1
    assert "can't use stdin for both build context and dockerfile" in capsys.readouterr().err
    assert fake.seen == []


def test_url_and_missing_contexts_are_refused(fake: FakeDaemon, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert fake.run("build", "https://github.com/x/y.git") == 1
    assert "berth needs a local build context" in capsys.readouterr().err
    assert fake.run("build", str(tmp_path / "nope")) == 1
    assert f'unable to prepare context: path "{tmp_path / "nope"}" not found' in capsys.readouterr().err
    assert fake.run("build", str(tmp_path)) == 1  # no Dockerfile
    assert "unable to evaluate symlinks in Dockerfile path" in capsys.readouterr().err
    assert fake.seen == []


def test_walker_descends_into_an_excluded_directory_only_for_exceptions(tmp_path: Path) -> None:
    class Only:
        """Excludes everything under ``x/`` except ``x/keep``."""

        def __init__(self) -> None:
            self.asked: list[str] = []

        def excluded(self, rel_path: str, is_dir: bool = False) -> bool:
            return rel_path.startswith(("x", "y")) and rel_path != "x/keep"

        def dir_may_have_exceptions(self, rel_dir: str) -> bool:
            self.asked.append(rel_dir)
            return rel_dir == "x"

    for d in ("x", "y"):
        (tmp_path / d).mkdir()
        (tmp_path / d / "keep").write_text("k")
        (tmp_path / d / "drop").write_text("d")
    body = b"".join(tar_entries(str(tmp_path), Only())) + b"\0" * 1024
    assert list(members(body)) == ["x/keep"]


# -- flags → query, output -------------------------------------------------------------------


def test_query_matches_the_docker_28_trace(fake: FakeDaemon, ctx: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fake.stream("POST", "/build", OK_STREAM)
    assert fake.run("build", "-t", "apic/build:1", "--build-arg", "GREETING=yo", "--label", "L=1", str(ctx)) == 0
    assert fake.seen[-1][1] == (
        "/v1.41/build?buildargs=%7B%22GREETING%22%3A%22yo%22%7D&dockerfile=Dockerfile"
        "&labels=%7B%22L%22%3A%221%22%7D&t=apic%2Fbuild%3A1&version=1"
    )
    out = capsys.readouterr().out
    assert out.startswith("Sending build context to Docker daemon ")
    assert out.endswith(
        "\r\r\nStep 1/2 : FROM busybox\n ---> 85136dcba8bf\nSuccessfully built 3acf6e7833d1\n"
    )


def test_every_flag_reaches_the_query(fake: FakeDaemon, ctx: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FROM_ENV", "env-value")
    monkeypatch.delenv("NOT_SET", raising=False)
    fake.stream("POST", "/build", OK_STREAM)
    assert fake.run(
        "build", "-t", "a", "--tag", "b:2", "--build-arg", "FROM_ENV", "--build-arg", "NOT_SET",
        "--no-cache", "--pull", "--rm=false", "--force-rm", "--target", "final", "--label", "bare",
        "--cache-from", "c:1", "--network", "host", "--platform", "Linux/AMD64", "--add-host", "h:10.0.0.1",
        "--add-host", "g=10.0.0.2", "--shm-size", "64m", "-m", "1g", "--cpu-quota", "50000", str(ctx),
    ) == 0  # fmt: skip
    q = query_of(fake.seen[-1][1])
    assert q["t"] == ["a", "b:2"]
    assert json.loads(q["buildargs"][0]) == {"FROM_ENV": "env-value", "NOT_SET": None}
    assert json.loads(q["labels"][0]) == {"bare": ""}
    assert json.loads(q["cachefrom"][0]) == ["c:1"]
    assert q["extrahosts"] == ["h:10.0.0.1", "g:10.0.0.2"]
    assert (q["nocache"], q["pull"], q["rm"], q["forcerm"]) == (["1"], ["1"], ["0"], ["1"])
    assert (q["target"], q["networkmode"], q["platform"]) == (["final"], ["host"], ["linux/amd64"])
    assert (q["shmsize"], q["memory"], q["cpuquota"]) == (["67108864"], ["1073741824"], ["50000"])
    assert q["version"] == ["1"]


def test_bad_tag_is_refused_before_sending(fake: FakeDaemon, ctx: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert fake.run("build", "-t", "Bad:Tag:x", str(ctx)) == 125
    assert 'invalid argument "Bad:Tag:x" for "-t, --tag" flag' in capsys.readouterr().err
    assert fake.seen == []


def test_quiet_prints_only_the_id_and_iidfile_gets_it(
    fake: FakeDaemon, ctx: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.stream("POST", "/build", [msg({"stream": ID + "\n"})])
    iid = tmp_path / "iid"
    iid.write_text("stale")
    assert fake.run("build", "-q", "--iidfile", str(iid), str(ctx)) == 0
    assert capsys.readouterr().out == ID + "\n"
    assert iid.read_text().strip() == ID


def test_iidfile_gets_the_aux_id(fake: FakeDaemon, ctx: Path, tmp_path: Path) -> None:
    fake.stream("POST", "/build", OK_STREAM)
    assert fake.run("build", "--iidfile", str(tmp_path / "iid"), str(ctx)) == 0
    assert (tmp_path / "iid").read_text() == ID


def test_failed_step_exits_with_its_code_and_message(
    fake: FakeDaemon, ctx: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.stream("POST", "/build", [*OK_STREAM[:2], msg({"stream": "failing\n"}),
                                   msg({"errorDetail": {"code": 3, "message": FAIL}, "error": FAIL})])  # fmt: skip
    assert fake.run("build", str(ctx)) == 3
    captured = capsys.readouterr()
    assert captured.err == FAIL + "\n"
    assert captured.out.endswith("failing\n")


def test_quiet_failure_prints_the_held_output_on_stderr(
    fake: FakeDaemon, ctx: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.stream("POST", "/build", [msg({"stream": "failing\n"}), msg({"errorDetail": {"message": "bad"}, "error": "bad"})])
    assert fake.run("build", "-q", str(ctx)) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == "failing\nbad\n"


def test_daemon_refusal_is_an_error_response(fake: FakeDaemon, ctx: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fake.error("POST", "/build", 400, "berth's builder is the classic builder")
    assert fake.run("build", str(ctx)) == 1
    assert "Error response from daemon: berth's builder is the classic builder" in capsys.readouterr().err


def test_image_build_and_builder_build_are_the_same_command(fake: FakeDaemon, ctx: Path) -> None:
    fake.stream("POST", "/build", OK_STREAM)
    assert fake.run("image", "build", "-q", str(ctx)) == 0
    assert fake.run("builder", "build", "-q", str(ctx)) == 0
    assert [t.split("?")[0] for t in fake.targets()] == ["POST /v1.41/build"] * 2


# -- builder prune -----------------------------------------------------------------------------


def test_builder_prune_prints_the_report(fake: FakeDaemon, capsys: pytest.CaptureFixture[str]) -> None:
    fake.on("POST", "/build/prune", json.dumps({"CachesDeleted": ["k1", "k2"], "SpaceReclaimed": 3072}))
    assert fake.run("builder", "prune", "-a", "-f", "--filter", "until=24h", "--keep-storage", "1k") == 0
    assert capsys.readouterr().out == "Deleted build cache objects:\nk1\nk2\nTotal reclaimed space: 3.072kB\n"
    q = query_of(fake.seen[-1][1])
    assert q["all"] == ["1"] and q["keep-storage"] == ["1024"]
    assert json.loads(q["filters"][0]) == {"until": {"24h": True}}


def test_builder_prune_asks_first(
    fake: FakeDaemon, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("n\n"))
    assert fake.run("builder", "prune") == 0
    assert capsys.readouterr().out == (
        "WARNING! This will remove all dangling build cache. Are you sure you want to continue? [y/N] "
    )
    assert fake.seen == []


# -- end to end through the real route ---------------------------------------------------------


def test_cli_to_route_to_backend(ctx: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The CLI's chunked tar, read by the route's body reader on a worker thread and
    untarred by the backend; the backend's messages printed by the CLI as they come."""
    from typing import Any, BinaryIO

    from berth.api import build as build_api
    from berth.api.router import Router
    from berth.cli.main import main
    from berth.engine.build_types import BuildRequest

    from ..api.helpers import serve

    seen: dict[str, Any] = {}

    class Backend:
        def build(self, context: BinaryIO, req: BuildRequest, emit: Any) -> str:
            with tarfile.open(fileobj=context, mode="r|*") as tf:
                seen["names"] = [m.name for m in tf]
            seen["req"] = req
            emit({"stream": "Step 1/1 : FROM busybox\n"})
            emit({"aux": {"ID": ID}})
            return ID

        def prune(self, all: bool, filters: Any, keep_storage: int) -> tuple[list[str], int]:
            return [], 0

    router = Router()
    build_api.register(router, Backend())
    with serve(router) as path:
        assert main(["-H", f"unix://{path}", "build", "-t", "x:1", "--iidfile", str(ctx.parent / "iid"), str(ctx)]) == 0
    assert sorted(seen["names"]) == [".dockerignore", "Dockerfile", "a.txt", "link", "logs/keep.log"]
    assert seen["req"].tags == ["x:1"]
    assert capsys.readouterr().out.endswith("\r\r\nStep 1/1 : FROM busybox\n")
    assert (ctx.parent / "iid").read_text() == ID


def test_a_directory_is_offered_in_place_and_uploaded_when_refused(
    fake: FakeDaemon, ctx: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BERTH_BUILD_UPLOAD")
    fake.stream("POST", "/build", OK_STREAM)
    assert fake.run("build", "-q", str(ctx)) == 0
    q = query_of(fake.seen[-1][1])
    st = os.stat(ctx)
    assert q["contextdir"] == [str(ctx)] and q["contextid"] == [f"{st.st_dev}:{st.st_ino}"]
    assert members(fake.seen[-1][2]) == {}  # nothing uploaded
    # a daemon that does not see the directory: the tar goes after all
    fake.routes.clear()
    fake.error("POST", "/build", 400, f"build context '{ctx}' is not a directory on the daemon's host: upload it instead", once=True)
    fake.stream("POST", "/build", OK_STREAM)
    assert fake.run("build", "-q", str(ctx)) == 0
    assert "contextdir" not in query_of(fake.seen[-1][1])
    assert "a.txt" in members(fake.seen[-1][2])
