from berth.api.timefmt import rfc3339nano


def test_rfc3339nano_like_go() -> None:
    assert rfc3339nano(1795813579_883916829) == "2026-11-27T21:06:19.883916829Z"
    assert rfc3339nano(1795813579_500000000) == "2026-11-27T21:06:19.5Z"
    assert rfc3339nano(1795813579_000000000) == "2026-11-27T21:06:19Z"
    assert rfc3339nano(0) == "1970-01-01T00:00:00Z"
