"""Container logs: the ``json-file`` driver in Docker's on-disk format.

Vocabulary:

- **log file** — ``<id>-json.log``; one JSON object per line,
  ``{"log":"hello\\n","stream":"stdout","time":"2026-11-27T21:05:05.301887007Z"}``, written
  byte for byte as moby's ``jsonfilelog`` does (its own escaping: ``<``, ``>``, ``&`` as
  ``\\u003c``…, invalid UTF-8 as ``\\ufffd``; times in RFC 3339 with trailing zeros of the
  fraction trimmed, always UTC).
- **line** — what a process wrote up to and including ``\\n``. A line longer than 16 KiB is
  split into partial records (moby's copier buffer): all but the last lack the ``\\n``.
- **rotation** — when the file has reached ``max-size`` (checked before each write, so a
  file may pass it by one record), it becomes ``<file>.1`` (``.1.gz`` with ``compress``),
  older ones shift up, and at most ``max-file`` files exist in all. Docker rotates only when
  asked; berth rotates by default (10m, 3 files) so a chatty container cannot fill a disk.
- **record** — what the reader yields: stream, time (ns since the epoch), bytes.

The writer (:mod:`berth.logs.jsonfile`) runs inside berth-shim and so imports nothing
heavy (no json, re, typing, datetime); the reader (:mod:`berth.logs.reader`) serves
``docker logs``.
"""

from berth.logs.jsonfile import DEFAULT_MAX_FILE, DEFAULT_MAX_SIZE, LineSplitter, Options, Writer
from berth.logs.reader import Record, read
from berth.logs.timefmt import format_fixed, format_nano, parse_time

__all__ = [
    "DEFAULT_MAX_FILE",
    "DEFAULT_MAX_SIZE",
    "LineSplitter",
    "Options",
    "Record",
    "Writer",
    "format_fixed",
    "format_nano",
    "parse_time",
    "read",
]
