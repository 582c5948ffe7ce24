"""berth.gofmt: Go's formatting as Docker's texts show it."""

from __future__ import annotations

import pytest

from berth.gofmt import format_duration, go_quote, parse_go_duration, quote_list


@pytest.mark.parametrize(
    ("ns", "text"),
    [(0, "0s"), (5, "5ns"), (1_500, "1.5µs"), (200_000_000, "200ms"), (5_000_000_000, "5s"),
     (1_500_000_000, "1.5s"), (90_000_000_000, "1m30s"), (60_000_000_000, "1m0s"),
     (3_600_000_000_000, "1h0m0s"), (-2_000_000, "-2ms")],
)  # fmt: skip
def test_format_duration_round_trips_through_parse(ns: int, text: str) -> None:
    assert format_duration(ns) == text
    assert parse_go_duration(text) == ns


def test_quote_and_quote_list() -> None:
    assert go_quote('a "b"\n\x01é') == '"a \\"b\\"\\n\\x01é"'
    assert quote_list(["/bin/sh", "-c", "echo hi"]) == '["/bin/sh" "-c" "echo hi"]'
    assert quote_list([]) == "[]"
