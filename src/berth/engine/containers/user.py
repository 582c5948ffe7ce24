"""The container's user: ``--user`` and ``--group-add`` resolved against the image's
``/etc/passwd`` and ``/etc/group``, as runc's ``libcontainer/user`` does for dockerd.

``--user`` takes ``user`` or ``user:group``, each a name or a number:

- ``""`` is uid 0 (root), with root's gid and groups from passwd/group when present;
- a number is always a uid (gid) even when passwd has no entry for it; a name must exist;
- with an explicit group the supplementary groups of the user are *not* added (runc:
  "supplementary group ids only make sense in the implicit form");
- ``--group-add`` entries (names or numbers) are added on top.

The additional gids Docker hands the runtime start with the primary gid, then the
membership groups, then ``--group-add`` (moby ``daemon/oci_linux.go`` getUser).

Files are read inside the rootfs with :func:`berth.linux.fs.resolve_in_root`, so an image
whose ``/etc/passwd`` is a symlink cannot make the daemon read a host file. A missing file
is fine for numeric ids. The parse is runc's: no comment syntax, fields split on ``:``,
a number that does not parse counts as 0.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass

from berth.errdefs import InvalidArgument
from berth.linux.fs import resolve_in_root

__all__ = ["GroupEntry", "PasswdEntry", "parse_group", "parse_passwd", "resolve_user"]

_MAX_ID = 2147483647
_RANGE_ERROR = "uids and gids must be in range 0-2147483647"
_NO_PASSWD = "no matching entries in passwd file"
_NO_GROUP = "no matching entries in group file"


@dataclass(frozen=True)
class PasswdEntry:
    name: str
    uid: int
    gid: int
    home: str


@dataclass(frozen=True)
class GroupEntry:
    name: str
    gid: int
    members: tuple[str, ...]


def _atoi(text: str) -> int | None:
    """Go's strconv.Atoi: an optional sign and decimal digits, else None."""
    body = text[1:] if text[:1] in ("+", "-") else text
    if not body or not body.isascii() or not body.isdigit():
        return None
    return int(text)


def _fields(line: str, n: int) -> list[str]:
    parts = line.split(":")
    return (parts + [""] * n)[:n]


def parse_passwd(text: str) -> list[PasswdEntry]:
    """``name:pass:uid:gid:gecos:home:shell`` lines (passwd(5))."""
    out = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        name, _, uid, gid, _, home, _ = _fields(line, 7)
        out.append(PasswdEntry(name, _atoi(uid) or 0, _atoi(gid) or 0, home))
    return out


def parse_group(text: str) -> list[GroupEntry]:
    """``name:pass:gid:member,member`` lines (group(5))."""
    out = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        name, _, gid, members = _fields(line, 4)
        out.append(GroupEntry(name, _atoi(gid) or 0, tuple(members.split(",")) if members else ()))
    return out


def _read_in_root(rootfs: str, path: str) -> str | None:
    """The text of ``path`` inside ``rootfs``, or None when it is missing or not a file."""
    host = resolve_in_root(rootfs, path, "user database")
    try:
        fd = os.open(host, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK)
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None
    except OSError as exc:
        raise InvalidArgument(f"open {path!r} in the container's rootfs: {exc.strerror}") from exc
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        chunks = []
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)
    finally:
        os.close(fd)
    return b"".join(chunks).decode("utf-8", "replace")


def _check_range(n: int) -> int:
    if not 0 <= n <= _MAX_ID:
        raise InvalidArgument(_RANGE_ERROR)
    return n


def resolve_user(rootfs: str, user: str, group_add: list[str]) -> tuple[int, int, list[int]]:
    """``(uid, gid, additional_gids)`` for ``--user user`` and ``--group-add group_add`` in
    the image at ``rootfs``. InvalidArgument with runc's message when a name has no entry."""
    user_arg, _, rest = user.partition(":")
    group_arg = rest.split(":", 1)[0]
    uid_num = _atoi(user_arg)
    gid_num = _atoi(group_arg)

    passwd_text = _read_in_root(rootfs, "/etc/passwd")
    group_text = _read_in_root(rootfs, "/etc/group")
    users = parse_passwd(passwd_text) if passwd_text is not None else []
    groups = parse_group(group_text) if group_text is not None else []

    uid, gid = 0, 0
    matched = ""
    for u in users:
        if (
            (not user_arg and u.uid == 0)
            or (uid_num is not None and u.uid == uid_num)
            or (uid_num is None and user_arg and u.name == user_arg)
        ):
            matched, uid, gid = u.name, u.uid, u.gid
            break
    else:
        if user_arg:
            if uid_num is None:
                raise InvalidArgument(f"unable to find user {user_arg}: {_NO_PASSWD}")
            uid = _check_range(uid_num)

    sgids: list[int] = []
    if group_arg:
        for g in groups:
            if (gid_num is not None and g.gid == gid_num) or (
                gid_num is None and g.name == group_arg
            ):
                gid = g.gid
                break
        else:
            if gid_num is None:
                raise InvalidArgument(f"unable to find group {group_arg}: {_NO_GROUP}")
            gid = _check_range(gid_num)
    elif matched:
        sgids = [g.gid for g in groups if matched in g.members]

    added = _additional_groups(group_add, groups)
    additional: list[int] = []
    for n in [gid, *sgids, *added]:
        if n not in additional:
            additional.append(n)
    return uid, gid, additional


def _additional_groups(wanted: list[str], groups: list[GroupEntry]) -> list[int]:
    """``--group-add``: each entry a group name or gid from the group file, or a number
    (runc GetAdditionalGroups; its message starts with a capital, as Docker shows it)."""
    out: list[int] = []
    for ag in wanted:
        found = next((g.gid for g in groups if g.name == ag or str(g.gid) == ag), None)
        if found is None:
            n = _atoi(ag)
            if n is None:
                raise InvalidArgument(f"Unable to find group {ag}: {_NO_GROUP}")
            found = _check_range(n)
        if found not in out:
            out.append(found)
    return out
