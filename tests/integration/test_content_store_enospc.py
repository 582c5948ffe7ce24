"""The content store on a real, tiny filesystem that fills up (a tmpfs mount: root)."""

import io
import os
import subprocess

import pytest

from berth.content import LocalStore, NoSpace, write_blob
from berth.oci.digest import sha256_of


@pytest.fixture
def tiny_tmpfs(tmp_path):
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k,mode=0755", "berth-test-enospc", str(mnt)], check=True)
    try:
        yield str(mnt)
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


@pytest.mark.root
def test_enospc_on_a_real_full_filesystem(tiny_tmpfs):
    store = LocalStore(os.path.join(tiny_tmpfs, "content"))
    kept = write_blob(store, "kept", b"k" * 8192)
    with pytest.raises(NoSpace, match="no space left on device"):
        write_blob(store, "huge", io.BytesIO(os.urandom(1 << 20)))
    assert store.list_statuses() == []
    assert [i.digest for i in store.walk()] == [kept]
    assert store.read_blob(kept) == b"k" * 8192
    # The space is back: the next write works.
    assert write_blob(store, "after", b"fits") == sha256_of(b"fits")
