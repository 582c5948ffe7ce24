"""``import --change``: Dockerfile instructions applied to an image config."""

from __future__ import annotations

from typing import Any

import pytest

from berth.errdefs import InvalidArgument
from berth.images.importer import apply_changes


def changed(*changes: str) -> dict[str, Any]:
    cfg: dict[str, Any] = {}
    apply_changes(cfg, changes)
    return cfg


def test_exec_and_shell_forms() -> None:
    assert changed('CMD ["a", "b"]') == {"Cmd": ["a", "b"]}
    assert changed("CMD echo hi there") == {"Cmd": ["/bin/sh", "-c", "echo hi there"]}
    assert changed('ENTRYPOINT ["/e"]', 'CMD ["x"]') == {"Entrypoint": ["/e"], "Cmd": ["x"]}
    assert changed('CMD ["x"]', "ENTRYPOINT /e")["Cmd"] is None


def test_env_label_expose_volume_user_workdir() -> None:
    assert changed("ENV A=1 B=\"two words\"", "ENV A 3")["Env"] == ["B=two words", "A=3"]
    assert changed('LABEL a=b "c d=e"')["Labels"] == {"a": "b", "c d": "e"}
    assert changed("EXPOSE 80 53/udp 8000-8001")["ExposedPorts"] == {"80/tcp": {}, "53/udp": {}, "8000-8001/tcp": {}}
    assert changed('VOLUME ["/a", "/b"]', "VOLUME /c")["Volumes"] == {"/a": {}, "/b": {}, "/c": {}}
    assert changed("USER 1000:1000", "WORKDIR /srv", "user nobody") == {"User": "nobody", "WorkingDir": "/srv"}


@pytest.mark.parametrize("bad", ["FROM busybox", "RUN true", "EXPOSE http", "ENV =x"])
def test_refused(bad: str) -> None:
    with pytest.raises(InvalidArgument):
        changed(bad)
