import os

import pytest

from berth.errdefs import InvalidArgument
from berth.linux.fs import atomic_write, mkdir_all_in_root, resolve_in_root


@pytest.fixture
def root(tmp_path):
    r = tmp_path / "root"
    (r / "etc").mkdir(parents=True)
    (r / "usr/lib").mkdir(parents=True)
    os.symlink("/usr/lib", r / "lib")  # absolute: inside the root
    os.symlink("../usr", r / "etc/up")  # relative, stays inside
    os.symlink("../../../../outside", r / "escape")
    os.symlink("loop2", r / "loop1")
    os.symlink("loop1", r / "loop2")
    return str(r)


def test_plain_path(root):
    assert resolve_in_root(root, "/etc/hosts") == os.path.join(root, "etc/hosts")


def test_absolute_symlink_is_resolved_inside_the_root(root):
    assert resolve_in_root(root, "/lib/x.so") == os.path.join(root, "usr/lib/x.so")


def test_relative_symlink(root):
    assert resolve_in_root(root, "/etc/up/lib") == os.path.join(root, "usr/lib")


def test_escape_through_symlink_is_refused(root):
    with pytest.raises(InvalidArgument, match="escapes the root"):
        resolve_in_root(root, "/escape/x", "mounts[0].destination")


def test_escape_through_dotdot_is_refused(root):
    with pytest.raises(InvalidArgument, match="escapes"):
        resolve_in_root(root, "/../../etc")


def test_dotdot_below_missing_component(root):
    assert resolve_in_root(root, "/new/a/../b") == os.path.join(root, "new/b")
    with pytest.raises(InvalidArgument):
        resolve_in_root(root, "/new/../../x")


def test_symlink_loop(root):
    with pytest.raises(InvalidArgument, match="too many levels"):
        resolve_in_root(root, "/loop1/x")


def test_mkdir_all_in_root_follows_links_inside(root):
    host = mkdir_all_in_root(root, "/lib/deeper/dir")
    assert host == os.path.join(root, "usr/lib/deeper/dir") and os.path.isdir(host)


def test_atomic_write_replaces(tmp_path):
    p = str(tmp_path / "f")
    atomic_write(p, "one")
    atomic_write(p, b"two")
    assert open(p).read() == "two"
    assert os.listdir(tmp_path) == ["f"]
