"""References, checked against the test tables of distribution/reference
(reference_test.go and normalize_test.go), which Docker's behaviour is defined by."""

import pytest

from berth.errdefs import InvalidArgument
from berth.oci import reference as ref
from berth.oci.digest import Digest

F64 = "f" * 64
F128 = "f" * 128

EMPTY = "repository name must have at least one component"
INVALID = "^invalid reference format$"
UPPER = "repository name must be lowercase"
TOO_LONG = "repository name must not be more than 255 characters"
DIGEST_LENGTH = "invalid checksum digest length"
DIGEST_UNSUPPORTED = "unsupported digest algorithm"

# reference_test.go TestReferenceParse (the current table: the 255-character limit
# applies to the path, not the domain): input, error, name, domain, tag, digest
PARSE_TABLE = [
    ("test_com", None, "test_com", "", "", ""),
    ("test.com:tag", None, "test.com", "", "tag", ""),
    ("test.com:5000", None, "test.com", "", "5000", ""),
    ("test.com/repo:tag", None, "test.com/repo", "test.com", "tag", ""),
    ("test:5000/repo", None, "test:5000/repo", "test:5000", "", ""),
    ("test:5000/repo:tag", None, "test:5000/repo", "test:5000", "tag", ""),
    (f"test:5000/repo@sha256:{F64}", None, "test:5000/repo", "test:5000", "", f"sha256:{F64}"),
    (f"test:5000/repo:tag@sha256:{F64}", None, "test:5000/repo", "test:5000", "tag", f"sha256:{F64}"),
    ("", EMPTY, "", "", "", ""),
    (":justtag", INVALID, "", "", "", ""),
    (f"@sha256:{F64}", INVALID, "", "", "", ""),
    ("repo@sha256:" + "f" * 34, DIGEST_LENGTH, "", "", "", ""),
    (f"validname@invaliddigest:{F64}", DIGEST_UNSUPPORTED, "", "", "", ""),
    ("Uppercase:tag", UPPER, "", "", "", ""),
    ("test:5000/Uppercase/lowercase:tag", UPPER, "", "", "", ""),
    ("lowercase:Uppercase", None, "lowercase", "", "Uppercase", ""),
    ("domain/" + "a" * 256 + ":tag", TOO_LONG, "", "", "", ""),
    ("a/" * 127 + "a:tag-puts-this-over-max", None, "a/" * 127 + "a", "a", "tag-puts-this-over-max", ""),
    ("aa/asdf$$^/aa", INVALID, "", "", "", ""),
    ("sub-dom1.foo.com/bar/baz/quux", None, "sub-dom1.foo.com/bar/baz/quux", "sub-dom1.foo.com", "", ""),
    ("sub-dom1.foo.com/bar/baz/quux:some-long-tag", None, "sub-dom1.foo.com/bar/baz/quux", "sub-dom1.foo.com", "some-long-tag", ""),
    ("b.gcr.io/test.example.com/my-app:test.example.com", None, "b.gcr.io/test.example.com/my-app", "b.gcr.io", "test.example.com", ""),
    ("xn--n3h.com/myimage:xn--n3h.com", None, "xn--n3h.com/myimage", "xn--n3h.com", "xn--n3h.com", ""),
    (f"xn--7o8h.com/myimage:xn--7o8h.com@sha512:{F128}", None, "xn--7o8h.com/myimage", "xn--7o8h.com", "xn--7o8h.com", f"sha512:{F128}"),
    ("foo_bar.com:8080", None, "foo_bar.com", "", "8080", ""),
    ("foo/foo_bar.com:8080", None, "foo/foo_bar.com", "foo", "8080", ""),
    ("192.168.1.1", None, "192.168.1.1", "", "", ""),
    ("192.168.1.1:tag", None, "192.168.1.1", "", "tag", ""),
    ("192.168.1.1:5000", None, "192.168.1.1", "", "5000", ""),
    ("192.168.1.1/repo", None, "192.168.1.1/repo", "192.168.1.1", "", ""),
    ("192.168.1.1:5000/repo", None, "192.168.1.1:5000/repo", "192.168.1.1:5000", "", ""),
    ("192.168.1.1:5000/repo:5050", None, "192.168.1.1:5000/repo", "192.168.1.1:5000", "5050", ""),
    ("[2001:db8::1]", INVALID, "", "", "", ""),
    ("[2001:db8::1]:5000", INVALID, "", "", "", ""),
    ("[2001:db8::1]:tag", INVALID, "", "", "", ""),
    ("[2001:db8::1]/repo", None, "[2001:db8::1]/repo", "[2001:db8::1]", "", ""),
    ("[2001:db8:1:2:3:4:5:6]/repo:tag", None, "[2001:db8:1:2:3:4:5:6]/repo", "[2001:db8:1:2:3:4:5:6]", "tag", ""),
    ("[2001:db8::1]:5000/repo", None, "[2001:db8::1]:5000/repo", "[2001:db8::1]:5000", "", ""),
    ("[2001:db8::1]:5000/repo:tag", None, "[2001:db8::1]:5000/repo", "[2001:db8::1]:5000", "tag", ""),
    (f"[2001:db8::1]:5000/repo@sha256:{F64}", None, "[2001:db8::1]:5000/repo", "[2001:db8::1]:5000", "", f"sha256:{F64}"),
    (f"[2001:db8::1]:5000/repo:tag@sha256:{F64}", None, "[2001:db8::1]:5000/repo", "[2001:db8::1]:5000", "tag", f"sha256:{F64}"),
    ("[2001:db8::]:5000/repo", None, "[2001:db8::]:5000/repo", "[2001:db8::]:5000", "", ""),
    ("[::1]:5000/repo", None, "[::1]:5000/repo", "[::1]:5000", "", ""),
    ("[fe80::1%eth0]:5000/repo", INVALID, "", "", "", ""),
    ("[fe80::1%@invalidzone]:5000/repo", INVALID, "", "", "", ""),
    ("example.com/" + "a" * 255 + ":tag", None, "example.com/" + "a" * 255, "example.com", "tag", ""),
]  # fmt: skip


@pytest.mark.parametrize(("text", "err", "name", "domain", "tag", "digest"), PARSE_TABLE)
def test_parse_matches_distribution_reference(text, err, name, domain, tag, digest):
    if err is not None:
        with pytest.raises(InvalidArgument, match=err):
            ref.parse(text)
        return
    r = ref.parse(text)
    assert str(r) == text
    assert r.name == name
    assert r.domain == domain
    assert r.tag == tag
    assert (r.digest or "") == digest


# normalize_test.go TestValidateReferenceName
VALID_NAMES = [
    "docker/docker", "library/debian", "debian", "docker.io/docker/docker",
    "docker.io/library/debian", "docker.io/debian", "index.docker.io/docker/docker",
    "index.docker.io/library/debian", "index.docker.io/debian",
    "127.0.0.1:5000/docker/docker", "127.0.0.1:5000/library/debian", "127.0.0.1:5000/debian",
    "192.168.0.1", "192.168.0.1:80", "192.168.0.1:8/debian", "192.168.0.2:25000/debian",
    "thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev",
    "[fc00::1]:5000/docker", "[fc00::1]:5000/docker/docker",
    "[fc00:1:2:3:4:5:6:7]:5000/library/debian",
    "docker.io/1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a",
    "Docker/docker", "DOCKER/docker",
    # TestValidateRemoteName
    "docker-rules/docker", "docker---rules/docker", "doc/docker", "d/docker", "jess/t",
    "dock__er/docker",
]  # fmt: skip
INVALID_NAMES = [
    "https://github.com/docker/docker", "docker/Docker", "-docker", "-docker/docker",
    "-docker.io/docker/docker", "docker///docker", "docker.io/docker/Docker",
    "docker.io/docker///docker", "[fc00::1]", "[fc00::1]:5000", "fc00::1:5000/debian",
    "[fe80::1%eth0]:5000/debian", "[2001:db8:3:4::192.0.2.33]:5000/debian",
    "1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a",
    # TestValidateRemoteName
    "docker-/docker", "-docker-/docker", "____/____", "_docker/_docker", "dock..er/docker",
    "dock_.er/docker", "dock-.er/docker", "docker/",
    "this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_" * 4 + "/docker",
]  # fmt: skip


@pytest.mark.parametrize("name", VALID_NAMES)
def test_valid_names_normalise(name):
    r = ref.parse_normalized_named(name)
    assert r.domain


@pytest.mark.parametrize("name", INVALID_NAMES)
def test_invalid_names_are_refused(name):
    with pytest.raises(InvalidArgument):
        ref.parse_normalized_named(name)


# normalize_test.go TestParseRepositoryInfo: path, familiar, full, ambiguous, domain
REPOSITORY_INFO = [
    ("fooo/bar", "fooo/bar", "docker.io/fooo/bar", "index.docker.io/fooo/bar", "docker.io"),
    ("library/ubuntu", "ubuntu", "docker.io/library/ubuntu", "library/ubuntu", "docker.io"),
    ("nonlibrary/ubuntu", "nonlibrary/ubuntu", "docker.io/nonlibrary/ubuntu", "", "docker.io"),
    ("other/library", "other/library", "docker.io/other/library", "", "docker.io"),
    ("private/moonbase", "127.0.0.1:8000/private/moonbase", "127.0.0.1:8000/private/moonbase", "", "127.0.0.1:8000"),
    ("privatebase", "127.0.0.1:8000/privatebase", "127.0.0.1:8000/privatebase", "", "127.0.0.1:8000"),
    ("private/moonbase", "example.com/private/moonbase", "example.com/private/moonbase", "", "example.com"),
    ("privatebase", "example.com/privatebase", "example.com/privatebase", "", "example.com"),
    ("private/moonbase", "example.com:8000/private/moonbase", "example.com:8000/private/moonbase", "", "example.com:8000"),
    ("privatebasee", "example.com:8000/privatebasee", "example.com:8000/privatebasee", "", "example.com:8000"),
    ("library/ubuntu-12.04-base", "ubuntu-12.04-base", "docker.io/library/ubuntu-12.04-base", "index.docker.io/library/ubuntu-12.04-base", "docker.io"),
    ("library/foo", "foo", "docker.io/library/foo", "docker.io/foo", "docker.io"),
    ("library/foo/bar", "library/foo/bar", "docker.io/library/foo/bar", "", "docker.io"),
    ("store/foo/bar", "store/foo/bar", "docker.io/store/foo/bar", "", "docker.io"),
    ("bar", "Foo/bar", "Foo/bar", "", "Foo"),
    ("bar", "FOO/bar", "FOO/bar", "", "FOO"),
]  # fmt: skip


@pytest.mark.parametrize(("path", "familiar", "full", "ambiguous", "domain"), REPOSITORY_INFO)
def test_repository_info(path, familiar, full, ambiguous, domain):
    for text in filter(None, (familiar, full, ambiguous)):
        r = ref.parse_normalized_named(text)
        assert r.familiar_name == familiar, text
        assert str(r) == full, text
        assert r.domain == domain, text
        assert r.path == path, text


def test_tag_and_digest_together():
    short = "busybox:latest@sha256:86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa"
    r = ref.parse_normalized_named(short)
    assert str(r) == "docker.io/library/" + short
    assert r.tag == "latest" and r.digest is not None
    assert r.familiar_string() == short


# normalize_test.go TestParseAnyReference: reference, equivalent
ANY_REFERENCE = [
    ("redis", "docker.io/library/redis"),
    ("redis:latest", "docker.io/library/redis:latest"),
    ("docker.io/library/redis:latest", "docker.io/library/redis:latest"),
    ("redis@sha256:dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c",
     "docker.io/library/redis@sha256:dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c"),
    ("docker.io/library/redis@sha256:dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c",
     "docker.io/library/redis@sha256:dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c"),
    ("dmcgowan/myapp", "docker.io/dmcgowan/myapp"),
    ("dmcgowan/myapp:latest", "docker.io/dmcgowan/myapp:latest"),
    ("docker.io/mcgowan/myapp:latest", "docker.io/mcgowan/myapp:latest"),
    ("dmcgowan/myapp@sha256:dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c",
     "docker.io/dmcgowan/myapp@sha256:dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c"),
    ("docker.io/dmcgowan/myapp@sha256:dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c",
     "docker.io/dmcgowan/myapp@sha256:dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c"),
    ("dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c",
     "sha256:dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c"),
    ("sha256:dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c",
     "sha256:dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c"),
    ("dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9",
     "docker.io/library/dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9"),
    ("dbcc1", "docker.io/library/dbcc1"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "equivalent"), ANY_REFERENCE)
def test_parse_any_reference(text, equivalent):
    r = ref.parse_any_reference(text)
    assert str(r) == equivalent
    if equivalent.startswith("sha256:"):
        assert isinstance(r, Digest)
    else:
        assert r == ref.parse(equivalent)


# normalize_test.go TestNormalizedSplitHostname: input, domain, path
SPLIT_HOSTNAME = [
    ("test.com/foo", "test.com", "foo"),
    ("test_com/foo", "docker.io", "test_com/foo"),
    ("docker/migrator", "docker.io", "docker/migrator"),
    ("test.com:8080/foo", "test.com:8080", "foo"),
    ("test-com:8080/foo", "test-com:8080", "foo"),
    ("foo", "docker.io", "library/foo"),
    ("xn--n3h.com/foo", "xn--n3h.com", "foo"),
    ("xn--n3h.com:18080/foo", "xn--n3h.com:18080", "foo"),
    ("docker.io/foo", "docker.io", "library/foo"),
    ("docker.io/library/foo", "docker.io", "library/foo"),
    ("docker.io/library/foo/bar", "docker.io", "library/foo/bar"),
]


@pytest.mark.parametrize(("text", "domain", "path"), SPLIT_HOSTNAME)
def test_normalised_split_hostname(text, domain, path):
    r = ref.parse_normalized_named(text)
    assert (r.domain, r.path) == (domain, path)


# reference_test.go TestParseNamed: canonical names only
@pytest.mark.parametrize(
    ("text", "domain", "path"),
    [("test.com/foo", "test.com", "foo"), ("test:8080/foo", "test:8080", "foo"),
     ("docker.io/library/foo", "docker.io", "library/foo")],
)  # fmt: skip
def test_parse_named_accepts_canonical(text, domain, path):
    r = ref.parse_named(text)
    assert (r.domain, r.path) == (domain, path)


@pytest.mark.parametrize("text", ["test_com/foo", "test.com", "foo", "library/foo", "docker.io/foo"])
def test_parse_named_refuses_familiar(text):
    with pytest.raises(InvalidArgument, match="repository name must be canonical"):
        ref.parse_named(text)


def test_with_tag_and_with_digest():
    # reference_test.go TestWithTag / TestWithDigest
    r = ref.parse("test.com:8000/foo")
    assert str(r.with_tag("TAG5")) == "test.com:8000/foo:TAG5"
    d = "sha256:1234567890098765432112345667890098765"
    # A 39-hex sha256 passes the reference grammar (32+ hex) but not go-digest's length.
    with pytest.raises(InvalidArgument, match="invalid checksum digest length"):
        r.with_digest(d)
    full = f"sha256:{F64}"
    assert str(r.with_tag("latest").with_digest(full)) == f"test.com:8000/foo:latest@{full}"
    busybox = ref.parse_normalized_named("busybox")
    with pytest.raises(InvalidArgument, match="invalid tag format"):
        busybox.with_tag("-foo")
    with pytest.raises(InvalidArgument, match="invalid digest format"):
        busybox.with_digest("foo")


# What Docker users see: busybox → docker.io/library/busybox:latest and friends.
DOCKER_REFS = [
    ("busybox", "docker.io/library/busybox:latest", "busybox:latest"),
    ("busybox:1.36", "docker.io/library/busybox:1.36", "busybox:1.36"),
    ("library/busybox", "docker.io/library/busybox:latest", "busybox:latest"),
    ("docker.io/busybox", "docker.io/library/busybox:latest", "busybox:latest"),
    ("index.docker.io/library/busybox", "docker.io/library/busybox:latest", "busybox:latest"),
    ("user/app", "docker.io/user/app:latest", "user/app:latest"),
    ("localhost/app", "localhost/app:latest", "localhost/app:latest"),
    ("localhost:5000/app:v1", "localhost:5000/app:v1", "localhost:5000/app:v1"),
    ("127.0.0.1:5000/a/b/c", "127.0.0.1:5000/a/b/c:latest", "127.0.0.1:5000/a/b/c:latest"),
    (f"busybox@sha256:{F64}", f"docker.io/library/busybox@sha256:{F64}", f"busybox@sha256:{F64}"),
    (f"busybox:1.36@sha256:{F64}", f"docker.io/library/busybox@sha256:{F64}", f"busybox@sha256:{F64}"),
    ("ghcr.io/org/img:tag", "ghcr.io/org/img:tag", "ghcr.io/org/img:tag"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "full", "familiar"), DOCKER_REFS)
def test_docker_ref_normalisation(text, full, familiar):
    r = ref.parse_docker_ref(text)
    assert str(r) == full
    assert r.familiar_string() == familiar


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Busybox", r"^invalid reference format: repository name \(library/Busybox\) must be lowercase$"),
        ("user/App:1", r"^invalid reference format: repository name \(user/App\) must be lowercase$"),
        ("busybox:", "^invalid reference format$"),
        ("busy box", "^invalid reference format$"),
        ("busybox:-x", "^invalid reference format$"),
        ("busybox@sha256:abc", "^invalid reference format$"),
        ("a" * 64, r"cannot specify 64-byte hexadecimal strings"),
        ("", "^invalid reference format$"),
    ],
)
def test_invalid_references_use_dockers_messages(text, message):
    with pytest.raises(InvalidArgument, match=message):
        ref.parse_docker_ref(text)


def test_parse_reports_uppercase_with_the_invalid_reference_prefix():
    with pytest.raises(InvalidArgument, match=r"^invalid reference format: repository name must be lowercase$"):
        ref.parse("Uppercase:tag")


def test_a_tag_is_at_most_128_characters():
    assert ref.parse("a:" + "t" * 128).tag == "t" * 128
    with pytest.raises(InvalidArgument):
        ref.parse("a:" + "t" * 129)


def test_name_only_and_tag_name_only():
    r = ref.parse_normalized_named(f"busybox:1@sha256:{F64}")
    assert str(r.name_only()) == "docker.io/library/busybox"
    assert r.name_only().is_name_only
    assert str(r.name_only().tag_name_only()) == "docker.io/library/busybox:latest"
    assert r.tag_name_only() is r
