"""--user and --group-add resolved against the image's passwd and group files."""

from __future__ import annotations

from pathlib import Path

import pytest

from berth.engine.containers.user import parse_group, parse_passwd, resolve_user
from berth.errdefs import InvalidArgument

PASSWD = """root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
www:x:33:33:www-data:/var/www:/bin/sh
app:x:1000:1000::/home/app:/bin/sh
"""
GROUP = """root:x:0:
wheel:x:10:root,app
www:x:33:
audio:x:29:app
staff:x:50:www
app:x:1000:
"""


def rootfs(tmp_path: Path, passwd: str | None = PASSWD, group: str | None = GROUP) -> str:
    root = tmp_path / "rootfs"
    (root / "etc").mkdir(parents=True)
    if passwd is not None:
        (root / "etc/passwd").write_text(passwd)
    if group is not None:
        (root / "etc/group").write_text(group)
    return str(root)


def test_empty_user_is_root_with_roots_groups(tmp_path: Path) -> None:
    assert resolve_user(rootfs(tmp_path), "", []) == (0, 0, [0, 10])


def test_empty_user_without_any_files_is_0_0(tmp_path: Path) -> None:
    assert resolve_user(rootfs(tmp_path, None, None), "", []) == (0, 0, [0])


def test_name_takes_uid_gid_and_membership_groups(tmp_path: Path) -> None:
    assert resolve_user(rootfs(tmp_path), "app", []) == (1000, 1000, [1000, 10, 29])


def test_numeric_uid_in_passwd_is_that_user(tmp_path: Path) -> None:
    assert resolve_user(rootfs(tmp_path), "33", []) == (33, 33, [33, 50])


def test_numeric_uid_without_entry_keeps_gid_0(tmp_path: Path) -> None:
    assert resolve_user(rootfs(tmp_path), "4242", []) == (4242, 0, [0])


def test_numeric_user_and_group_need_no_files(tmp_path: Path) -> None:
    assert resolve_user(rootfs(tmp_path, None, None), "4242:77", []) == (4242, 77, [77])


def test_explicit_group_by_name_replaces_gid_and_drops_membership(tmp_path: Path) -> None:
    assert resolve_user(rootfs(tmp_path), "app:www", []) == (1000, 33, [33])


def test_explicit_numeric_group_not_in_file(tmp_path: Path) -> None:
    assert resolve_user(rootfs(tmp_path), "www:999", []) == (33, 999, [999])


def test_unknown_user_name_is_runcs_message(tmp_path: Path) -> None:
    with pytest.raises(
        InvalidArgument, match=r"^unable to find user foo: no matching entries in passwd file$"
    ):
        resolve_user(rootfs(tmp_path), "foo", [])


def test_user_name_without_passwd_file(tmp_path: Path) -> None:
    with pytest.raises(
        InvalidArgument, match="unable to find user app: no matching entries in passwd file"
    ):
        resolve_user(rootfs(tmp_path, None, None), "app", [])


def test_unknown_group_name_is_runcs_message(tmp_path: Path) -> None:
    with pytest.raises(
        InvalidArgument, match=r"^unable to find group bar: no matching entries in group file$"
    ):
        resolve_user(rootfs(tmp_path), "app:bar", [])


def test_out_of_range_uid(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match="uids and gids must be in range 0-2147483647"):
        resolve_user(rootfs(tmp_path), "-1", [])


def test_group_add_names_and_ids(tmp_path: Path) -> None:
    uid, gid, extra = resolve_user(rootfs(tmp_path), "www", ["audio", "1000", "4000"])
    assert (uid, gid) == (33, 33)
    assert extra == [33, 50, 29, 1000, 4000]


def test_group_add_unknown_name(tmp_path: Path) -> None:
    with pytest.raises(
        InvalidArgument, match=r"^Unable to find group nogroup: no matching entries in group file$"
    ):
        resolve_user(rootfs(tmp_path), "", ["nogroup"])


def test_passwd_symlink_cannot_reach_a_host_file(tmp_path: Path) -> None:
    outside = tmp_path / "host-etc"
    outside.mkdir()
    (outside / "passwd").write_text("evil:x:666:666::/:/bin/sh\n")
    root = rootfs(tmp_path, passwd=None)
    # An absolute link is resolved inside the rootfs, where this path does not exist.
    (Path(root) / "etc/passwd").symlink_to(outside / "passwd")
    with pytest.raises(InvalidArgument, match="unable to find user evil"):
        resolve_user(root, "evil", [])


def test_passwd_symlink_inside_the_rootfs_is_followed(tmp_path: Path) -> None:
    root = rootfs(tmp_path, passwd=None)
    (Path(root) / "lib").mkdir()
    (Path(root) / "lib/passwd").write_text(PASSWD)
    (Path(root) / "etc/passwd").symlink_to("../lib/passwd")
    assert resolve_user(root, "app", [])[:2] == (1000, 1000)


def test_parsers_follow_runc() -> None:
    users = parse_passwd("\n  a:x:notanumber:5\nb:x:7:8:g:/h:/s\n")
    assert [(u.name, u.uid, u.gid) for u in users] == [("a", 0, 5), ("b", 7, 8)]
    groups = parse_group("g:x:3:a,b\nh:x:4:\n")
    assert [(g.name, g.gid, g.members) for g in groups] == [("g", 3, ("a", "b")), ("h", 4, ())]
