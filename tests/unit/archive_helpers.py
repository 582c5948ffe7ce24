"""Crafted layer tars for the archive tests: entries as data, written by tarfile."""

from __future__ import annotations

import gzip
import io
import tarfile
from dataclasses import dataclass, field


@dataclass
class E:
    name: str
    kind: bytes = tarfile.REGTYPE
    data: bytes = b""
    mode: int = 0o644
    uid: int = 0
    gid: int = 0
    mtime: int = 1_700_000_000
    linkname: str = ""
    devmajor: int = 0
    devminor: int = 0
    pax: dict[str, str] = field(default_factory=dict)


def d(name, mode=0o755, **kw):
    return E(name, tarfile.DIRTYPE, mode=mode, **kw)


def f(name, data=b"", mode=0o644, **kw):
    return E(name, tarfile.REGTYPE, data=data, mode=mode, **kw)


def sym(name, target, **kw):
    return E(name, tarfile.SYMTYPE, linkname=target, mode=0o777, **kw)


def hard(name, target, **kw):
    return E(name, tarfile.LNKTYPE, linkname=target, **kw)


def tar_bytes(*entries: E, compression: str = "") -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for e in entries:
            ti = tarfile.TarInfo(e.name)
            ti.type = e.kind
            ti.mode = e.mode
            ti.uid, ti.gid = e.uid, e.gid
            ti.mtime = e.mtime
            ti.linkname = e.linkname
            ti.devmajor, ti.devminor = e.devmajor, e.devminor
            ti.pax_headers = dict(e.pax)
            if e.kind == tarfile.REGTYPE:
                ti.size = len(e.data)
                t.addfile(ti, io.BytesIO(e.data))
            else:
                t.addfile(ti)
    raw = buf.getvalue()
    if compression == "gzip":
        return gzip.compress(raw, mtime=0)
    if compression == "zstd":
        import zstandard

        return zstandard.ZstdCompressor().compress(raw)
    return raw


def stream(*entries: E, compression: str = "") -> io.BytesIO:
    return io.BytesIO(tar_bytes(*entries, compression=compression))
