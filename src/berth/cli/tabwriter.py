"""Go's text/tabwriter (AlignLeft, padding with spaces), which docker's tables and
``docker version`` are laid out with.

Input is text whose cells end with a tab. A *column block* is a run of consecutive lines
that all have a cell in that column; each block is as wide as its widest cell plus
``padding``, and at least ``minwidth``. The last cell of a line (not tab-terminated) is
not part of any column. Widths count characters (Go counts runes).
"""

from __future__ import annotations

__all__ = ["tabwrite"]


def tabwrite(text: str, minwidth: int = 0, padding: int = 1) -> str:
    lines = [line.split("\t") for line in text.split("\n")]
    out: list[str] = []
    widths: list[int] = []

    def write_lines(start: int, end: int) -> None:
        for cells in lines[start:end]:
            parts = []
            for j, cell in enumerate(cells):
                if j < len(cells) - 1 and j < len(widths):
                    parts.append(cell.ljust(widths[j]))
                else:
                    parts.append(cell)
            out.append("".join(parts))

    def fmt(line0: int, line1: int) -> None:
        column = len(widths)
        this = line0
        while this < line1:
            if column >= len(lines[this]) - 1:
                this += 1
                continue
            write_lines(line0, this)
            line0 = this
            width = minwidth
            while this < line1 and column < len(lines[this]) - 1:
                width = max(width, len(lines[this][column]) + padding)
                this += 1
            widths.append(width)
            fmt(line0, this)
            widths.pop()
            line0 = this
        write_lines(line0, line1)

    fmt(0, len(lines))
    return "\n".join(out)
