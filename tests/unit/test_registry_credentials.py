import base64
import json
import os

import pytest

from berth import errdefs
from berth.registry import Credentials, CredentialStore, registry_key
from berth.registry.credentials import DOCKER_HUB_KEY, default_paths


def _auth(s: str) -> str:
    return base64.b64encode(s.encode()).decode()


def test_registry_key_drops_scheme_and_path_and_knows_docker_hub():
    assert registry_key("https://index.docker.io/v1/") == "docker.io"
    assert registry_key("registry-1.docker.io") == "docker.io"
    assert registry_key("http://127.0.0.1:5000/") == "127.0.0.1:5000"
    assert registry_key("Example.com:443") == "example.com:443"


def test_reads_berth_then_docker_files(tmp_path):
    berth = tmp_path / "berth.json"
    docker = tmp_path / "docker.json"
    docker.write_text(
        json.dumps(
            {
                "auths": {
                    "https://index.docker.io/v1/": {"auth": _auth("hubuser:hubpw")},
                    "127.0.0.1:5000": {"auth": _auth("d:dpw")},
                    "tok.example": {"auth": _auth("u:"), "identitytoken": "refresh"},
                }
            }
        )
    )
    berth.write_text(json.dumps({"auths": {"127.0.0.1:5000": {"auth": _auth("b:b:pw")}}}))
    store = CredentialStore(str(berth), [str(berth), str(docker)])
    assert store.get("127.0.0.1:5000") == Credentials("b", "b:pw")
    assert store.get("docker.io") == Credentials("hubuser", "hubpw")
    assert store.get("tok.example").identity_token == "refresh"
    assert store.get("nowhere:1") == Credentials()


def test_store_writes_0600_keeps_other_keys_and_erase_forgets(tmp_path):
    path = tmp_path / "home" / ".berth" / "config.json"
    store = CredentialStore(str(path))
    store.store("127.0.0.1:5000", Credentials("apic", "secret"))
    assert os.stat(path).st_mode & 0o777 == 0o600
    doc = json.loads(path.read_text())
    doc["psFormat"] = "table"
    path.write_text(json.dumps(doc))
    store.store("docker.io", Credentials("me", "pw"))
    doc = json.loads(path.read_text())
    assert doc["psFormat"] == "table"
    assert doc["auths"][DOCKER_HUB_KEY] == {"auth": _auth("me:pw")}
    assert store.get("index.docker.io") == Credentials("me", "pw")
    store.erase("127.0.0.1:5000")
    assert "127.0.0.1:5000" not in json.loads(path.read_text())["auths"]
    with pytest.raises(errdefs.NotFound, match=r"not logged in to 127\.0\.0\.1:5000"):
        store.erase("127.0.0.1:5000")


def test_bad_files_are_invalid_argument_naming_the_file(tmp_path):
    p = tmp_path / "c.json"
    p.write_text("{nope")
    with pytest.raises(errdefs.InvalidArgument, match=r"c\.json"):
        CredentialStore(str(p)).get("x")
    p.write_text(json.dumps({"auths": {"x": {"auth": _auth("nocolon")}}}))
    with pytest.raises(errdefs.InvalidArgument, match="invalid auth"):
        CredentialStore(str(p)).get("x")


def test_default_paths_honour_docker_config(tmp_path, monkeypatch):
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "dc"))
    write, read = default_paths(str(tmp_path))
    assert write == str(tmp_path / ".berth" / "config.json")
    assert read == [write, str(tmp_path / "dc" / "config.json")]
