import hashlib

import pytest

from berth.errdefs import InvalidArgument
from berth.oci import digest
from berth.oci.digest import Digest, Digester, sha256_of

HEX = "a" * 64


def test_a_sha256_digest_is_a_checked_string():
    d = Digest(f"sha256:{HEX}")
    assert d == f"sha256:{HEX}"
    assert isinstance(d, str)
    assert d.algorithm == "sha256"
    assert d.encoded == HEX == d.hex
    assert d.short() == "a" * 12
    assert Digest(d) is d


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "invalid checksum digest format"),
        ("sha256", "invalid checksum digest format"),
        ("sha256:", "invalid checksum digest format"),
        (":" + HEX, "invalid checksum digest format"),
        ("sha256:" + "A" * 64, "invalid checksum digest format"),
        ("sha256:" + "g" * 64, "invalid checksum digest format"),
        ("sha256:" + "a" * 63, "invalid checksum digest length"),
        ("sha256:" + "a" * 65, "invalid checksum digest length"),
        ("SHA256:" + HEX, "invalid checksum digest format"),
        ("md5:" + "a" * 32, "unsupported digest algorithm: md5"),
        ("sha512:" + "a" * 128, "unsupported digest algorithm: sha512"),
        ("sha384:" + "a" * 96, "unsupported digest algorithm: sha384"),
    ],
)
def test_invalid_or_foreign_digests_are_refused_clearly(value, message):
    with pytest.raises(InvalidArgument, match=message):
        Digest(value)


def test_parse_can_accept_the_other_registered_algorithms():
    d = digest.parse("sha512:" + "f" * 128, tuple(digest.ALGORITHMS))
    assert d.algorithm == "sha512"
    with pytest.raises(InvalidArgument, match="invalid checksum digest length"):
        digest.parse("sha512:" + "f" * 64, tuple(digest.ALGORITHMS))
    with pytest.raises(InvalidArgument, match="unsupported digest algorithm"):
        digest.parse("invaliddigest:" + "f" * 64, tuple(digest.ALGORITHMS))


def test_from_hex_and_sha256_of():
    data = b"hello berth"
    want = hashlib.sha256(data).hexdigest()
    assert sha256_of(data) == f"sha256:{want}"
    assert Digest.from_hex(want) == sha256_of(data)
    with pytest.raises(InvalidArgument):
        Digest.from_hex("xyz")


def test_digester_hashes_incrementally_and_counts():
    d = Digester()
    for part in (b"a", b"bc", b"", memoryview(b"def")):
        d.update(part)
    assert d.size == 6
    assert d.digest() == sha256_of(b"abcdef")


def test_empty_digest_is_the_well_known_one():
    assert sha256_of(b"") == (
        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )
