import io

from berth.cli.commands.pull import Display

MSGS = [
    {"status": "Pulling from library/x", "id": "latest"},
    {"status": "Pulling fs layer", "progressDetail": {}, "id": "aaa"},
    {"status": "Pulling fs layer", "progressDetail": {}, "id": "bbb"},
    {"status": "Downloading", "progressDetail": {"current": 1, "total": 2}, "progress": "[=>  ] 1B/2B", "id": "aaa"},
    {"status": "Pull complete", "progressDetail": {}, "id": "aaa"},
    {"status": "Digest: sha256:00"},
]


def test_non_terminal_prints_statuses_without_bars() -> None:
    out = io.StringIO()
    d = Display(out, False)
    for m in MSGS:
        d.show(m)
    assert out.getvalue() == (
        "latest: Pulling from library/x\naaa: Pulling fs layer\nbbb: Pulling fs layer\n"
        "aaa: Pull complete\nDigest: sha256:00\n"
    )


def test_terminal_rewrites_each_layers_line_in_place() -> None:
    out = io.StringIO()
    d = Display(out, True)
    for m in MSGS[:4]:
        d.show(m)
    text = out.getvalue()
    # aaa is two lines up once bbb exists: cursor up 2, clear, write, back down 2
    assert text.endswith("\x1b[2A\x1b[2K\raaa: Downloading [=>  ] 1B/2B\r\x1b[2B")
    assert text.startswith("latest: Pulling from library/x\n\n\x1b[1A\x1b[2K\raaa: Pulling fs layer\r\x1b[1B")
