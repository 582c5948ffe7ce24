"""Reading and writing cgroupfs control files.

Every control file is written with one ``write(2)`` of the whole value, opened without
``O_CREAT``: a missing file means the kernel lacks that knob (or the controller is not
enabled for the group), which a temp-tree test reproduces by not creating it. Errors name
the OCI field when there is one and the file:
``linux.resources.memory.limit: write '/sys/fs/cgroup/memory/x/memory.limit_in_bytes':
device or resource busy``.

Parsers follow the file formats of Documentation/admin-guide/cgroup-v2.rst ("Interface
Files", "Conventions": flat keyed, nested keyed) which v1 files also use.
"""

from __future__ import annotations

import os

from berth.errdefs import BerthError, FailedPrecondition, from_oserror

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    Resources = dict[str, Any]

MAX_U64 = (1 << 64) - 1


def _what(action: str, path: str, field: str | None) -> str:
    return f"{field}: {action} {path!r}" if field else f"{action} {path!r}"


def write(
    directory: str, name: str, value: str, field: str | None = None, missing: str | None = None
) -> None:
    """Write ``value`` to ``directory/name`` in one ``write(2)``. ``missing`` explains a
    missing file (the kernel lacks the knob) as FailedPrecondition naming ``field``."""
    path = f"{directory}/{name}"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC | os.O_CLOEXEC)
    except FileNotFoundError as exc:
        if missing:
            raise FailedPrecondition(f"{field}: {missing} ({path!r} does not exist)") from exc
        raise from_oserror(_what("write", path, field), exc) from exc
    except OSError as exc:
        raise from_oserror(_what("write", path, field), exc) from exc
    try:
        os.write(fd, value.encode())
    except OSError as exc:
        raise from_oserror(_what("write", path, field), exc) from exc
    finally:
        os.close(fd)


def write_error(
    directory: str, name: str, value: str, field: str | None = None
) -> BerthError | None:
    """Like :func:`write`, but return the error instead of raising it."""
    try:
        write(directory, name, value, field)
    except BerthError as err:
        return err
    return None


def read(directory: str, name: str) -> str:
    """The content of ``directory/name`` without the trailing newline."""
    path = f"{directory}/{name}"
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace").rstrip("\n")
    except OSError as exc:
        raise from_oserror(f"read {path!r}", exc) from exc


def read_optional(directory: str, name: str) -> str | None:
    """Like :func:`read`, but None when the file does not exist."""
    try:
        with open(f"{directory}/{name}", "rb") as f:
            return f.read().decode("utf-8", "replace").rstrip("\n")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise from_oserror(f"read {directory + '/' + name!r}", exc) from exc


def exists(directory: str, name: str) -> bool:
    return os.path.exists(f"{directory}/{name}")


def parse_uint(text: str, path: str = "") -> int:
    """A single unsigned value; ``max`` (v2's "no limit") is 2**64-1, as runc reports it."""
    text = text.strip()
    if text == "max":
        return MAX_U64
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"parse {path!r}: {text!r} is not a number") from None
    # v1 reports some counters as negative when they wrapped; clamp like runc does.
    return max(value, 0)


def read_uint(directory: str, name: str, default: int | None = None) -> int:
    """A file holding one number (or ``max``); ``default`` when it is missing, if given."""
    text = read_optional(directory, name)
    if text is None:
        if default is None:
            read(directory, name)  # raises NotFound naming the file
        return default or 0
    try:
        return parse_uint(text, f"{directory}/{name}")
    except ValueError as exc:
        from berth.errdefs import Internal

        raise Internal(str(exc)) from None


def parse_flat(text: str) -> dict[str, int]:
    """A flat keyed file (``key value`` per line) as a dict; unparsable values are skipped."""
    out: dict[str, int] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) != 2:
            continue
        try:
            out[parts[0]] = parse_uint(parts[1])
        except ValueError:
            continue
    return out


def parse_list(text: str) -> list[int]:
    """A cpu/node list (``0-3,5``, cgroup-v2.rst "cpuset.cpus") as the numbers it names;
    malformed parts are skipped."""
    out: list[int] = []
    for part in text.strip().split(","):
        lo, _, hi = part.strip().partition("-")
        if lo.isdigit() and (not hi or hi.isdigit()):
            out.extend(range(int(lo), int(hi or lo) + 1))
    return out


def read_flat(directory: str, name: str) -> dict[str, int]:
    """:func:`parse_flat` of a file; empty when the file does not exist."""
    text = read_optional(directory, name)
    return parse_flat(text) if text else {}


def read_procs(directory: str) -> list[int]:
    """Pids in ``cgroup.procs`` of ``directory`` (not its children)."""
    text = read_optional(directory, "cgroup.procs")
    return [int(p) for p in text.split()] if text else []
