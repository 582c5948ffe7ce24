"""Linux capabilities for the container process: validate the OCI set, then apply it.

A process carries five capability sets, each a bit mask indexed by capability number
(capabilities(7)):

- **bounding** — the ceiling: a capability dropped from it can never be regained, not even
  by executing a set-user-ID-root or file-capability binary. Per thread, inherited.
  Dropped one at a time with ``prctl(PR_CAPBSET_DROP)`` (needs CAP_SETPCAP).
- **permitted** — what the thread may make effective; only shrinks (capset(2)).
- **effective** — what the kernel checks; must be a subset of permitted.
- **inheritable** — kept across execve(2) for programs whose file inheritable set allows it.
- **ambient** — kept across execve(2) of ordinary programs (no file capabilities); each must
  be in both permitted and inheritable (``prctl(PR_CAP_AMBIENT)``, Linux 4.3).

The OCI runtime spec (config.md ``process.capabilities``) names the sets ``bounding``,
``effective``, ``permitted``, ``inheritable``, ``ambient``, each a list of ``CAP_*`` names.
An absent ``process.capabilities`` means *no* capabilities, as in runc.

Validation (:func:`validate`) is pure Python and cheap: unknown names are an
:class:`~berth.errdefs.InvalidArgument` naming the set and the name. A name that is known
but beyond this kernel's last capability (``/proc/sys/kernel/cap_last_cap``) or missing
from the runtime's own bounding set is dropped from every set and reported in
:attr:`Caps.warnings`, as runc 1.1 does ("ignoring unknown or unavailable capabilities").
The runtime's *bounding* set is the measure (not its effective set) because it survives
into a new user namespace, where the runtime's effective set is full again.

The runtime applies the sets in the container's init, in runc's order (finalizeNamespace)::

    drop_bounding(c)          # needs CAP_SETPCAP, so while still root
    set_keepcaps(True)        # keep permitted across the uid change
    setgroups / setgid / setuid
    set_keepcaps(False)
    apply(c)                  # capset(2) effective/permitted/inheritable, then ambient

Without ``set_keepcaps(True)``, setuid(2) to a non-zero uid clears the permitted and
effective sets and ``apply`` can no longer raise them (capset fails with EPERM).

References: capabilities(7), capset(2), prctl(2) PR_CAPBSET_DROP, PR_SET_KEEPCAPS,
PR_CAP_AMBIENT; runtime-spec config.md#linux-process.
"""

from __future__ import annotations

import errno
import os

from berth import errdefs
from berth.linux import syscalls as _sc

TYPE_CHECKING = False  # typing costs ~3 ms at run time; the runtime must start fast
if TYPE_CHECKING:
    from collections.abc import Iterable

    from berth.linux.syscalls import Syscalls

__all__ = [
    "CAPABILITIES",
    "SETS",
    "Caps",
    "apply",
    "current",
    "drop_bounding",
    "last_cap",
    "names",
    "set_keepcaps",
    "to_mask",
    "validate",
]

# linux/capability.h
CAPABILITIES: dict[str, int] = {
    "CAP_CHOWN": 0,
    "CAP_DAC_OVERRIDE": 1,
    "CAP_DAC_READ_SEARCH": 2,
    "CAP_FOWNER": 3,
    "CAP_FSETID": 4,
    "CAP_KILL": 5,
    "CAP_SETGID": 6,
    "CAP_SETUID": 7,
    "CAP_SETPCAP": 8,
    "CAP_LINUX_IMMUTABLE": 9,
    "CAP_NET_BIND_SERVICE": 10,
    "CAP_NET_BROADCAST": 11,
    "CAP_NET_ADMIN": 12,
    "CAP_NET_RAW": 13,
    "CAP_IPC_LOCK": 14,
    "CAP_IPC_OWNER": 15,
    "CAP_SYS_MODULE": 16,
    "CAP_SYS_RAWIO": 17,
    "CAP_SYS_CHROOT": 18,
    "CAP_SYS_PTRACE": 19,
    "CAP_SYS_PACCT": 20,
    "CAP_SYS_ADMIN": 21,
    "CAP_SYS_BOOT": 22,
    "CAP_SYS_NICE": 23,
    "CAP_SYS_RESOURCE": 24,
    "CAP_SYS_TIME": 25,
    "CAP_SYS_TTY_CONFIG": 26,
    "CAP_MKNOD": 27,
    "CAP_LEASE": 28,
    "CAP_AUDIT_WRITE": 29,
    "CAP_AUDIT_CONTROL": 30,
    "CAP_SETFCAP": 31,
    "CAP_MAC_OVERRIDE": 32,
    "CAP_MAC_ADMIN": 33,
    "CAP_SYSLOG": 34,
    "CAP_WAKE_ALARM": 35,
    "CAP_BLOCK_SUSPEND": 36,
    "CAP_AUDIT_READ": 37,
    "CAP_PERFMON": 38,
    "CAP_BPF": 39,
    "CAP_CHECKPOINT_RESTORE": 40,
}
_BY_NUMBER = {v: k for k, v in CAPABILITIES.items()}
_LAST_KNOWN = max(_BY_NUMBER)

# The OCI names of the sets, in the order runc lists them.
SETS = ("bounding", "effective", "inheritable", "permitted", "ambient")
_STATUS_KEYS = {"CapInh": "inheritable", "CapPrm": "permitted", "CapEff": "effective",
                "CapBnd": "bounding", "CapAmb": "ambient"}

# linux/capability.h: two __user_cap_data_struct (32 bits each) since version 3
_LINUX_CAPABILITY_VERSION_3 = 0x20080522

_last_cap: int | None = None


def last_cap() -> int:
    """The highest capability number this kernel knows (``/proc/sys/kernel/cap_last_cap``);
    the highest number in :data:`CAPABILITIES` when /proc is not mounted."""
    global _last_cap
    if _last_cap is None:
        try:
            with open("/proc/sys/kernel/cap_last_cap", "rb") as f:
                _last_cap = int(f.read())
        except (OSError, ValueError):
            _last_cap = _LAST_KNOWN
    return _last_cap


def names(mask: int) -> list[str]:
    """The ``CAP_*`` names of the bits set in ``mask``, by number; a bit this table does
    not name is given as its number (``"41"``)."""
    out = []
    n = 0
    while mask >> n:
        if mask >> n & 1:
            out.append(_BY_NUMBER.get(n, str(n)))
        n += 1
    return out


def to_mask(caps: Iterable[str], field: str = "capabilities") -> int:
    """The bit mask of ``CAP_*`` names; an unknown name is an InvalidArgument."""
    mask = 0
    for name in caps:
        mask |= 1 << _number(name, field)
    return mask


def _number(name: object, field: str) -> int:
    if not isinstance(name, str):
        raise errdefs.InvalidArgument(f"{field}: capability must be a string, not {name!r}")
    n = CAPABILITIES.get(name)
    if n is None:
        hint = ""
        guess = name.upper() if name.upper().startswith("CAP_") else "CAP_" + name.upper()
        if guess in CAPABILITIES:
            hint = f' (did you mean "{guess}"?)'
        raise errdefs.InvalidArgument(f'{field}: unknown capability "{name}"{hint}')
    return n


class Caps:
    """The five capability sets as bit masks, ready to apply, plus what validation dropped.

    ``last_cap`` is the kernel's last capability at validation time, kept so that the
    container's init does not need /proc to drop the bounding set.
    """

    __slots__ = ("ambient", "bounding", "effective", "inheritable", "last_cap", "permitted",
                 "warnings")

    def __init__(self, bounding: int = 0, effective: int = 0, permitted: int = 0,
                 inheritable: int = 0, ambient: int = 0, warnings: list[str] | None = None,
                 last_cap: int = _LAST_KNOWN) -> None:
        self.bounding = bounding
        self.effective = effective
        self.permitted = permitted
        self.inheritable = inheritable
        self.ambient = ambient
        self.warnings = warnings if warnings is not None else []
        self.last_cap = last_cap

    def names(self, which: str) -> list[str]:
        """The names in one set: ``c.names("bounding")``."""
        mask: int = getattr(self, which)
        return names(mask)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Caps):
            return NotImplemented
        return all(getattr(self, s) == getattr(other, s) for s in SETS)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        sets = ", ".join(f"{s}={names(getattr(self, s))}" for s in SETS)
        return f"Caps({sets})"


def validate(spec_caps: dict[str, object] | None, field: str = "process.capabilities", *,
             available: int | None = None, kernel_last_cap: int | None = None) -> Caps:
    """Turn the OCI ``process.capabilities`` object into :class:`Caps`.

    ``available`` is the mask of capabilities the runtime may hand out (default: its own
    bounding set from /proc/self/status); ``kernel_last_cap`` defaults to :func:`last_cap`.
    Both are parameters so tests can play another machine.
    """
    last = last_cap() if kernel_last_cap is None else kernel_last_cap
    if spec_caps is None:
        return Caps(last_cap=last)
    if not isinstance(spec_caps, dict):
        raise errdefs.InvalidArgument(f"{field}: expected an object, not {type(spec_caps).__name__}")
    if available is None:
        available = current()["bounding"]
    usable = available & ((1 << (last + 1)) - 1)
    masks: dict[str, int] = {}
    unavailable: list[str] = []
    for which in SETS:
        value = spec_caps.get(which)
        if value is None:
            masks[which] = 0
            continue
        where = f"{field}.{which}"
        if not isinstance(value, list):
            raise errdefs.InvalidArgument(f"{where}: expected a list of capability names")
        mask = 0
        for name in value:
            n = _number(name, where)
            if not usable >> n & 1:
                if name not in unavailable:
                    unavailable.append(name)
                continue
            mask |= 1 << n
        masks[which] = mask
    c = Caps(masks["bounding"], masks["effective"], masks["permitted"], masks["inheritable"],
             masks["ambient"], last_cap=last)
    if unavailable:
        c.warnings.append(f"{field}: ignoring unknown or unavailable capabilities: "
                          f"{', '.join(sorted(unavailable))}")
    # capset(2) and PR_CAP_AMBIENT_RAISE fail with a bare EPERM otherwise; say which one
    extra = c.effective & ~c.permitted
    if extra:
        raise errdefs.InvalidArgument(
            f'{field}.effective: "{names(extra)[0]}" is not in the permitted set')
    extra = c.ambient & ~(c.permitted & c.inheritable)
    if extra:
        raise errdefs.InvalidArgument(
            f'{field}.ambient: "{names(extra)[0]}" must be in both permitted and inheritable')
    return c


def current(pid: int | str = "self") -> dict[str, int]:
    """The five sets of a process as masks, from ``/proc/<pid>/status``
    (``{"bounding": …, "effective": …, "permitted": …, "inheritable": …, "ambient": …}``)."""
    path = f"/proc/{pid}/status"
    out = dict.fromkeys(SETS, 0)
    try:
        with open(path, "rb") as f:
            for line in f:
                key, _, value = line.partition(b":")
                which = _STATUS_KEYS.get(key.decode())
                if which:
                    out[which] = int(value.strip(), 16)
    except OSError as exc:
        raise errdefs.from_oserror(f"read {path!r}", exc) from exc
    return out


def drop_bounding(c: Caps, sys: Syscalls | None = None) -> None:
    """Drop every capability up to the kernel's last one that is not in ``c.bounding``."""
    s: Syscalls = sys if sys is not None else _sc.default()
    for n in range(c.last_cap + 1):
        if c.bounding >> n & 1:
            continue
        try:
            s.prctl(_sc.PR_CAPBSET_DROP, n)
        except OSError as exc:
            if exc.errno == errno.EINVAL:  # not known to this kernel: nothing to drop
                continue
            what = f"drop {_BY_NUMBER.get(n, str(n))} from the bounding set"
            raise errdefs.from_oserror(what, exc) from exc


def set_keepcaps(on: bool, sys: Syscalls | None = None) -> None:
    """``prctl(PR_SET_KEEPCAPS)``: keep the permitted set across setuid(2) away from 0."""
    s: Syscalls = sys if sys is not None else _sc.default()
    try:
        s.prctl(_sc.PR_SET_KEEPCAPS, 1 if on else 0)
    except OSError as exc:
        raise errdefs.from_oserror(f"set keepcaps {'on' if on else 'off'}", exc) from exc


def apply(c: Caps, sys: Syscalls | None = None) -> None:
    """Set effective, permitted and inheritable with capset(2), then the ambient set.

    ``sys`` serves the prctl calls (a recording fake in tests); capset always goes to the
    kernel.
    """
    _capset(c.effective, c.permitted, c.inheritable)
    s: Syscalls = sys if sys is not None else _sc.default()
    try:
        s.prctl(_sc.PR_CAP_AMBIENT, _sc.PR_CAP_AMBIENT_CLEAR_ALL)
    except OSError as exc:
        if exc.errno == errno.EINVAL and not c.ambient:  # before Linux 4.3: no ambient set
            return
        raise errdefs.from_oserror("clear the ambient capability set", exc) from exc
    for n in range(c.last_cap + 1):
        if c.ambient >> n & 1:
            try:
                s.prctl(_sc.PR_CAP_AMBIENT, _sc.PR_CAP_AMBIENT_RAISE, n)
            except OSError as exc:
                what = f"raise ambient capability {_BY_NUMBER.get(n, str(n))}"
                raise errdefs.from_oserror(what, exc) from exc


def _capset(effective: int, permitted: int, inheritable: int) -> None:
    import ctypes

    class Header(ctypes.Structure):
        _fields_ = (("version", ctypes.c_uint32), ("pid", ctypes.c_int))

    class Data(ctypes.Structure):
        _fields_ = (("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                    ("inheritable", ctypes.c_uint32))

    lo, hi = 0xFFFFFFFF, 32
    hdr = Header(_LINUX_CAPABILITY_VERSION_3, 0)
    data = (Data * 2)(
        Data(effective & lo, permitted & lo, inheritable & lo),
        Data(effective >> hi & lo, permitted >> hi & lo, inheritable >> hi & lo),
    )
    libc = _sc.default().raw()
    if libc.capset(ctypes.byref(hdr), data) < 0:
        err = ctypes.get_errno()
        exc = OSError(err, os.strerror(err))
        what = (f"capset effective={names(effective)} permitted={names(permitted)} "
                f"inheritable={names(inheritable)}")
        raise errdefs.from_oserror(what, exc) from exc
