import pytest

from berth.errdefs import InvalidArgument, NotFound
from berth.ids import new_id, prefix_lookup, validate_runtime_id


def test_new_id_is_64_hex():
    i = new_id()
    assert len(i) == 64 and int(i, 16) >= 0 and i != new_id()


def test_prefix_lookup():
    ids = ["abc123", "abd456", "ffff00"]
    assert prefix_lookup("abc", ids) == "abc123"
    with pytest.raises(InvalidArgument, match="multiple containers"):
        prefix_lookup("ab", ids, "container")
    with pytest.raises(NotFound, match="no such container: zz"):
        prefix_lookup("zz", ids, "container")


@pytest.mark.parametrize("bad", ["", ".", "..", "../x", "a/b", "a b", "x" * 1025])
def test_runtime_id_rejects(bad):
    with pytest.raises(InvalidArgument):
        validate_runtime_id(bad)


@pytest.mark.parametrize("good", ["abc", "berth-test.1_x+y", "a" * 64])
def test_runtime_id_accepts(good):
    assert validate_runtime_id(good) == good
