from __future__ import annotations

from berth.cli.tabwriter import tabwrite


def test_columns_align_per_block() -> None:
    text = "a\tbb\tc\naaa\tb\tc\n"
    assert tabwrite(text, padding=1) == "a   bb c\naaa b  c\n"


def test_minwidth_as_docker_version_uses_it() -> None:
    text = "Client:\n Version:\t28.2.2\n API version:\t1.41\n"
    assert tabwrite(text, minwidth=20, padding=1) == (
        "Client:\n Version:           28.2.2\n API version:       1.41\n"
    )


def test_a_line_without_the_column_ends_the_block() -> None:
    text = "x\t1\n\nlonger-cell\t2\n"
    assert tabwrite(text, padding=1) == "x 1\n\nlonger-cell 2\n"


def test_trailing_cell_is_not_a_column() -> None:
    assert tabwrite("a\tlong trailing text\nbb\tx\n", padding=2) == "a   long trailing text\nbb  x\n"
