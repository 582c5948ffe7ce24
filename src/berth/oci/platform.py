"""Platforms (os/architecture/variant) and choosing a manifest from an index.

An image index (manifest list) holds one manifest per platform (image-spec
image-index.md#platform-variants). Choosing one follows containerd's ``platforms``
package, which Docker uses too:

- **normalise** both sides: ``x86_64``/``x86-64`` → ``amd64``, ``aarch64`` → ``arm64``,
  ``i386`` → ``386``, ``armhf`` → ``arm/v7``, ``armel`` → ``arm/v6``; a bare ``arm`` is
  ``arm/v7``; the default variants vanish (``amd64/v1`` is ``amd64``, ``arm64/v8`` is
  ``arm64``) so that an entry written ``linux/arm64`` matches a host that says
  ``linux/arm64/v8`` and the other way round.
- **rank** what the host can run: the exact platform first, then older variants it can
  also execute (``amd64/v3`` → v2 → v1 → ``386``; ``arm/v7`` → v6 → v5; ``arm64`` →
  ``arm/v8`` … ``arm/v5``). An entry without a platform matches anything, last.
- ties keep the index's order.

The host default is ``linux/amd64`` or ``linux/arm64/v8`` (as Docker reports it), from
``uname -m`` unless the caller passes the machine name.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import TypeVar

from berth.errdefs import InvalidArgument, NotFound

__all__ = [
    "Platform",
    "default_platform",
    "format_platform",
    "matches",
    "normalize",
    "parse_platform",
    "rank",
    "select_best",
]

_KNOWN_OS = frozenset(
    "aix android darwin dragonfly freebsd hurd illumos ios js linux nacl netbsd openbsd "
    "plan9 solaris windows zos".split()
)
_KNOWN_ARCH = frozenset(
    "386 amd64 amd64p32 arm armbe arm64 arm64be ppc64 ppc64le loong64 mips mipsle mips64 "
    "mips64le mips64p32 mips64p32le ppc riscv riscv64 s390 s390x sparc sparc64 wasm".split()
)


@dataclass(frozen=True, slots=True)
class Platform:
    os: str
    architecture: str
    variant: str = ""
    os_version: str = ""
    os_features: tuple[str, ...] = ()

    def __str__(self) -> str:
        return format_platform(self)


def _normalize_arch(arch: str, variant: str) -> tuple[str, str]:
    arch, variant = arch.lower(), variant.lower()
    if arch == "i386":
        return "386", ""
    if arch in ("x86_64", "x86-64", "amd64"):
        return "amd64", "" if variant == "v1" else variant
    if arch in ("aarch64", "arm64"):
        if variant in ("8", "v8", "v8.0"):
            variant = ""
        elif variant in ("9", "9.0", "v9.0"):
            variant = "v9"
        return "arm64", variant
    if arch == "armhf":
        return "arm", "v7"
    if arch == "armel":
        return "arm", "v6"
    if arch == "arm":
        if variant in ("", "7"):
            variant = "v7"
        elif variant in ("5", "6", "8"):
            variant = "v" + variant
        return "arm", variant
    return arch, variant


def normalize(p: Platform) -> Platform:
    """The comparable form of ``p`` (see the module docstring)."""
    os_ = p.os.lower()
    if os_ == "macos":
        os_ = "darwin"
    arch, variant = _normalize_arch(p.architecture, p.variant)
    return replace(p, os=os_, architecture=arch, variant=variant)


def format_platform(p: Platform) -> str:
    """``linux/arm64/v8``: the string ``--platform`` takes and Docker prints."""
    if not p.os:
        return "unknown"
    return "/".join(x for x in (p.os, p.architecture, p.variant) if x)


def default_platform(machine: str | None = None) -> Platform:
    """The host's platform: ``linux/amd64``, ``linux/arm64/v8``, … ``machine`` is
    ``uname -m`` (read from the kernel when not given)."""
    arch, variant = _normalize_arch(machine or os.uname().machine, "")
    if arch == "arm64":
        variant = "v8"
    return Platform("linux", arch, variant)


def parse_platform(spec: str, machine: str | None = None) -> Platform:
    """containerd's ``platforms.Parse``: ``linux``, ``arm64``, ``linux/amd64``,
    ``linux/arm/v7``. A missing os or architecture comes from the host."""
    if not spec or "*" in spec:
        raise InvalidArgument(f"invalid platform {spec!r}: must be os[/arch[/variant]]")
    parts = spec.lower().split("/")
    host = default_platform(machine)
    if len(parts) == 1:
        if parts[0] in _KNOWN_OS:
            return Platform(parts[0], host.architecture, host.variant)
        arch, variant = _normalize_arch(parts[0], "")
        if arch == "arm" and variant == "v7":
            variant = ""
        if arch in _KNOWN_ARCH:
            return Platform("linux", arch, variant)
        raise InvalidArgument(f"invalid platform {spec!r}: unknown operating system or architecture")
    if len(parts) == 2:
        arch, variant = _normalize_arch(parts[1], "")
        if arch == "arm" and variant == "v7":
            variant = ""
        return Platform(parts[0], arch, variant)
    if len(parts) == 3:
        arch, variant = _normalize_arch(parts[1], parts[2])
        if arch == "arm64" and not variant:
            variant = "v8"
        return Platform(parts[0], arch, variant)
    raise InvalidArgument(f"invalid platform {spec!r}: must be os[/arch[/variant]]")


def _vector(want: Platform) -> list[Platform]:
    """``want`` normalised, then what else it runs, best first."""
    p = normalize(want)
    out = [p]
    if p.architecture == "amd64":
        n = _variant_number(p.variant)
        if n is not None and n > 1:
            out += [replace(p, variant=f"v{i}") for i in range(n - 1, 0, -1)]
        out.append(replace(p, architecture="386", variant=""))
    elif p.architecture == "arm":
        n = _variant_number(p.variant)
        if n is not None and n > 5:
            out += [replace(p, variant=f"v{i}") for i in range(n - 1, 4, -1)]
    elif p.architecture == "arm64":
        out += [replace(p, architecture="arm", variant=f"v{i}") for i in range(8, 4, -1)]
    return [normalize(x) for x in out]


def _variant_number(variant: str) -> int | None:
    try:
        return int(variant.removeprefix("v"))
    except ValueError:
        return None


def _same(a: Platform, b: Platform) -> bool:
    if (a.os, a.architecture, a.variant) != (b.os, b.architecture, b.variant):
        return False
    if a.os == "windows" and a.os_version and b.os_version:
        return b.os_version.startswith(a.os_version)
    return True


def matches(want: Platform, have: Platform) -> bool:
    """Exactly the same platform once both are normalised."""
    return _same(normalize(want), normalize(have))


def rank(want: Platform, have: Platform | None) -> int | None:
    """How well ``have`` suits a host of ``want``: 0 is exact, larger is a fallback, None
    is unusable. An unspecified ``have`` ranks after every real match."""
    vector = _vector(want)
    if have is None:
        return len(vector)
    h = normalize(have)
    for i, p in enumerate(vector):
        if _same(p, h):
            return i
    return None


T = TypeVar("T")


def select_best(
    want: Platform,
    entries: Iterable[T],
    platform_of: Callable[[T], Platform | None],
) -> T:
    """The entry whose platform suits ``want`` best; NotFound with Docker's message when
    none does. ``platform_of`` gives an entry's platform (None: unspecified)."""
    best: tuple[int, int, T] | None = None
    for i, e in enumerate(entries):
        r = rank(want, platform_of(e))
        if r is not None and (best is None or (r, i) < (best[0], best[1])):
            best = (r, i, e)
    if best is None:
        raise NotFound(
            f"no matching manifest for {format_platform(want)} in the manifest list entries"
        )
    return best[2]
