"""Image references, parsed and normalised exactly as Docker does.

The grammar is distribution/reference's (reference.go), which Docker, containerd and the
registries share::

    reference        := name [ ":" tag ] [ "@" digest ]
    name             := [domain "/"] remote-name
    domain           := host [":" port-number]
    host             := domain-name | IPv4address | "[" IPv6address "]"
    domain-name      := domain-component ["." domain-component]*
    domain-component := /([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])/
    port-number      := /[0-9]+/
    remote-name      := path-component ["/" path-component]*
    path-component   := alpha-numeric [separator alpha-numeric]*
    alpha-numeric    := /[a-z0-9]+/
    separator        := /[_.]|__|[-]+/
    tag              := /[\\w][\\w.-]{0,127}/
    digest           := algorithm ":" hex     ; checked by berth.oci.digest

Vocabulary (the same words mean the same things across berth):

- **name** (repository): ``docker.io/library/busybox`` = **domain** + ``/`` + **path**.
- **tag**: ``latest``; **digest**: ``sha256:…``; a reference may carry both.
- **normalised** (canonical) form: the domain spelled out, ``library/`` added for official
  images on Docker Hub: ``busybox`` → ``docker.io/library/busybox``.
- **familiar** form, for display: the reverse, ``docker.io/library/busybox`` → ``busybox``.
- **docker ref** (:func:`parse_docker_ref`): normalised, ``latest`` when neither a tag nor a
  digest is given, and the tag dropped when a digest pins the content — what ``docker
  pull`` resolves.

Whether the first path element is a domain is decided as Docker does
(normalize.go ``splitDockerDomain``): it is one if it is ``localhost``, contains a ``.`` or
a ``:``, or has an uppercase letter; otherwise the name lives on Docker Hub.

Errors are :class:`~berth.errdefs.InvalidArgument` with Docker's messages (``invalid
reference format``, ``invalid reference format: repository name (library/Busybox) must be
lowercase``, ``invalid repository name (…), cannot specify 64-byte hexadecimal strings``…),
which users and scripts match on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from berth.errdefs import InvalidArgument
from berth.oci import digest as _digest
from berth.oci.digest import Digest

__all__ = [
    "DEFAULT_DOMAIN",
    "DEFAULT_TAG",
    "LEGACY_DEFAULT_DOMAIN",
    "NAME_TOTAL_LENGTH_MAX",
    "OFFICIAL_REPO_PREFIX",
    "Reference",
    "parse",
    "parse_any_reference",
    "parse_docker_ref",
    "parse_named",
    "parse_normalized_named",
    "validate_tag",
]

DEFAULT_DOMAIN = "docker.io"
LEGACY_DEFAULT_DOMAIN = "index.docker.io"
OFFICIAL_REPO_PREFIX = "library/"
DEFAULT_TAG = "latest"
NAME_TOTAL_LENGTH_MAX = 255

# regexp.go, spelled for Python: RE2's \w is ASCII, [[:xdigit:]] is [0-9A-Fa-f].
_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
_PATH_COMPONENT = _ALNUM + r"(?:" + _SEPARATOR + _ALNUM + r")*"
_REMOTE_NAME = _PATH_COMPONENT + r"(?:/" + _PATH_COMPONENT + r")*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN_NAME = _DOMAIN_COMPONENT + r"(?:\." + _DOMAIN_COMPONENT + r")*"
_IPV6 = r"\[(?:[a-fA-F0-9:]+)\]"
_HOST = r"(?:" + _DOMAIN_NAME + r"|" + _IPV6 + r")"
_DOMAIN_AND_PORT = _HOST + r"(?::[0-9]+)?"
_TAG = r"[0-9A-Za-z_][0-9A-Za-z_.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9A-Fa-f]{32,}"
_NAME = r"(?:" + _DOMAIN_AND_PORT + r"/)?" + _REMOTE_NAME

_REFERENCE_RE = re.compile(
    r"(" + _NAME + r")(?::(" + _TAG + r"))?(?:@(" + _DIGEST + r"))?", re.ASCII
)
_ANCHORED_NAME_RE = re.compile(
    r"(?:(" + _DOMAIN_AND_PORT + r")/)?(" + _REMOTE_NAME + r")", re.ASCII
)
_TAG_RE = re.compile(_TAG, re.ASCII)
_DIGEST_RE = re.compile(_DIGEST, re.ASCII)
_IDENTIFIER_RE = re.compile(r"[a-f0-9]{64}")

_INVALID_FORMAT = "invalid reference format"


@dataclass(frozen=True, slots=True)
class Reference:
    """A parsed reference. ``domain`` is empty only for references from :func:`parse`
    whose name has no domain part; every normalised reference has one."""

    domain: str
    path: str
    tag: str = ""
    digest: Digest | None = None

    @property
    def name(self) -> str:
        """The repository: ``docker.io/library/busybox``."""
        return f"{self.domain}/{self.path}" if self.domain else self.path

    def __str__(self) -> str:
        s = self.name
        if self.tag:
            s += ":" + self.tag
        if self.digest:
            s += "@" + self.digest
        return s

    @property
    def familiar_name(self) -> str:
        """The name as Docker shows it: ``busybox``, ``user/app``, ``host:5000/app``."""
        domain, path = self.domain, self.path
        if domain == DEFAULT_DOMAIN:
            domain = ""
            if path.startswith(OFFICIAL_REPO_PREFIX):
                rest = path[len(OFFICIAL_REPO_PREFIX) :]
                if "/" not in rest:
                    path = rest
        return f"{domain}/{path}" if domain else path

    def familiar_string(self) -> str:
        """The whole reference in familiar form: ``busybox:latest``."""
        s = self.familiar_name
        if self.tag:
            s += ":" + self.tag
        if self.digest:
            s += "@" + self.digest
        return s

    @property
    def is_name_only(self) -> bool:
        return not self.tag and self.digest is None

    def name_only(self) -> Reference:
        """The repository without tag or digest (distribution's ``TrimNamed``)."""
        return Reference(self.domain, self.path)

    def with_tag(self, tag: str) -> Reference:
        return Reference(self.domain, self.path, validate_tag(tag), self.digest)

    def with_digest(self, digest: str) -> Reference:
        if not _DIGEST_RE.fullmatch(digest):
            raise InvalidArgument(f"invalid digest format: {digest!r}")
        return Reference(
            self.domain, self.path, self.tag, _digest.parse(digest, tuple(_digest.ALGORITHMS))
        )

    def tag_name_only(self) -> Reference:
        """``latest`` added when the reference has neither tag nor digest."""
        return self.with_tag(DEFAULT_TAG) if self.is_name_only else self


def validate_tag(tag: str) -> str:
    if not _TAG_RE.fullmatch(tag):
        raise InvalidArgument(f"invalid tag format: {tag!r}")
    return tag


def parse(s: str) -> Reference:
    """distribution's ``Parse``: the grammar only, no normalisation (``busybox`` stays
    ``busybox``, domain empty)."""
    if not s:
        raise InvalidArgument("repository name must have at least one component")
    m = _REFERENCE_RE.fullmatch(s)
    if m is None:
        lower = s.lower()
        if lower != s and _REFERENCE_RE.fullmatch(lower):
            raise InvalidArgument(f"{_INVALID_FORMAT}: repository name must be lowercase")
        raise InvalidArgument(_INVALID_FORMAT)
    name, tag, dgst = m.group(1), m.group(2) or "", m.group(3)
    nm = _ANCHORED_NAME_RE.fullmatch(name)
    domain, path = (nm.group(1) or "", nm.group(2)) if nm else ("", name)
    if len(path) > NAME_TOTAL_LENGTH_MAX:
        raise InvalidArgument(
            f"repository name must not be more than {NAME_TOTAL_LENGTH_MAX} characters"
        )
    digest = _digest.parse(dgst, tuple(_digest.ALGORITHMS)) if dgst else None
    return Reference(domain, path, tag, digest)


def _split_docker_domain(name: str) -> tuple[str, str]:
    maybe_domain, sep, maybe_remote = name.partition("/")
    if not sep:
        return DEFAULT_DOMAIN, OFFICIAL_REPO_PREFIX + name
    if maybe_domain == "localhost":
        domain, remote = maybe_domain, maybe_remote
    elif maybe_domain == LEGACY_DEFAULT_DOMAIN:
        domain, remote = DEFAULT_DOMAIN, maybe_remote
    elif "." in maybe_domain or ":" in maybe_domain:
        domain, remote = maybe_domain, maybe_remote
    elif maybe_domain.lower() != maybe_domain:
        domain, remote = maybe_domain, maybe_remote
    else:
        domain, remote = DEFAULT_DOMAIN, name
    if domain == DEFAULT_DOMAIN and "/" not in remote:
        remote = OFFICIAL_REPO_PREFIX + remote
    return domain, remote


def parse_normalized_named(s: str) -> Reference:
    """distribution's ``ParseNormalizedNamed``: a familiar or full name, normalised; the
    tag and digest are kept as given (no default tag)."""
    if _IDENTIFIER_RE.fullmatch(s):
        raise InvalidArgument(
            f"invalid repository name ({s}), cannot specify 64-byte hexadecimal strings"
        )
    domain, remainder = _split_docker_domain(s)
    remote = remainder.partition(":")[0]
    if remote.lower() != remote:
        raise InvalidArgument(
            f"{_INVALID_FORMAT}: repository name ({remote}) must be lowercase"
        )
    return parse(f"{domain}/{remainder}")


def parse_named(s: str) -> Reference:
    """distribution's ``ParseNamed``: like :func:`parse_normalized_named` but ``s`` must
    already be canonical (``docker.io/library/foo``, not ``foo``)."""
    ref = parse_normalized_named(s)
    if str(ref) != s:
        raise InvalidArgument("repository name must be canonical")
    return ref


def parse_docker_ref(s: str) -> Reference:
    """What ``docker pull``/``run`` resolve: normalised, ``latest`` by default, and
    ``name:tag@digest`` reduced to ``name@digest`` (the digest decides)."""
    ref = parse_normalized_named(s)
    if ref.tag and ref.digest is not None:
        return Reference(ref.domain, ref.path, "", ref.digest)
    return ref.tag_name_only()


def parse_any_reference(s: str) -> Reference | Digest:
    """distribution's ``ParseAnyReference``: a 64-hex id or a digest is a :class:`Digest`
    (an image id); anything else a normalised name."""
    if _IDENTIFIER_RE.fullmatch(s):
        return Digest.from_hex(s)
    try:
        return _digest.parse(s, tuple(_digest.ALGORITHMS))
    except InvalidArgument:
        pass
    return parse_normalized_named(s)
