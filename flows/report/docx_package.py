"""Saving a Word document as a zip without compressing the same parts again for every summary.

python-docx deflates every part of every document anew. In a summary that was more time than
writing the summary itself: 790 kB of styles from its template, the same in every summary, and the
chart PNG, which PNG has already compressed. `docx_bytes` writes the very same parts in the same
order, through python-docx's own package writer, into a zip that reuses the compressed bytes of a
large part when it is byte for byte the one compressed last time, and stores images as they are.
Word, LibreOffice and python-docx read stored and deflated zip members alike.

The zip is written here because `zipfile` can only compress what it is given: it has no way to
add bytes that are already compressed. Only what a .docx needs: no zip64 (a summary is far below
4 GB), no encryption, ASCII member names.
"""

from __future__ import annotations

import struct
import time
import zlib
from typing import Any

from docx.document import Document as DocxDocument
from docx.opc.pkgwriter import PackageWriter

DEFLATE_LEVEL = 6  # what python-docx (zipfile's default) uses
REUSE_FROM = 16 * 1024  # smaller parts compress in microseconds: not worth keeping
STORED_TYPES = (".png", ".jpeg", ".jpg", ".gif")
_LOCAL = struct.Struct("<4s2B4HL2L2H")
_CENTRAL = struct.Struct("<4s4B4HL2L5H2L")
_END = struct.Struct("<4s4H2LH")
_VERSION = 20  # 2.0: deflate
_UNIX = 3
_STORED, _DEFLATED = 0, 8
_FILE_MODE = 0o600 << 16

# Member name -> (its uncompressed bytes, CRC-32, deflated bytes), from the last document saved.
_packed: dict[str, tuple[bytes, int, bytes]] = {}


def docx_bytes(doc: DocxDocument) -> bytes:
    """The document as python-docx's `save` writes it, with the same members in the same
    order."""
    package = doc.part.package
    parts = package.parts
    for part in parts:
        part.before_marshal()
    zipped = _Zip()
    writer: Any = PackageWriter  # its helpers are private and only partly typed
    writer._write_content_types_stream(zipped, parts)
    writer._write_pkg_rels(zipped, package.rels)
    writer._write_parts(zipped, parts)
    return zipped.finish()


def _compressed(name: str, blob: bytes) -> tuple[int, int, bytes]:
    """Method, CRC-32 and the bytes to write for one member."""
    if name.lower().endswith(STORED_TYPES):
        return _STORED, zlib.crc32(blob), blob
    known = _packed.get(name)
    if known is not None and known[0] == blob:
        return _DEFLATED, known[1], known[2]
    packer = zlib.compressobj(DEFLATE_LEVEL, zlib.DEFLATED, -15)  # raw deflate, as zip wants
    data = packer.compress(blob) + packer.flush()
    crc = zlib.crc32(blob)
    if len(blob) >= REUSE_FROM:
        _packed[name] = (blob, crc, data)
    return _DEFLATED, crc, data


class _Zip:
    """A zip being written, with the `write(pack_uri, blob)` that python-docx's package writer
    calls for each member."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.offset = 0
        self.central: list[bytes] = []
        now = time.localtime()
        self.time = now.tm_hour << 11 | now.tm_min << 5 | now.tm_sec // 2
        self.date = (max(now.tm_year, 1980) - 1980) << 9 | now.tm_mon << 5 | now.tm_mday

    def write(self, pack_uri: Any, blob: bytes) -> None:
        name = str(pack_uri.membername)
        method, crc, data = _compressed(name, blob)
        raw_name = name.encode("ascii")
        sizes = (crc, len(data), len(blob), len(raw_name))
        header = _LOCAL.pack(b"PK\x03\x04", _VERSION, 0, 0, method, self.time, self.date, *sizes, 0)
        entry = _CENTRAL.pack(
            b"PK\x01\x02",
            *(_VERSION, _UNIX, _VERSION, 0, 0, method, self.time, self.date),
            *sizes,
            *(0, 0, 0, 0, _FILE_MODE, self.offset),
        )
        self.central.append(entry + raw_name)
        self.chunks += (header, raw_name, data)
        self.offset += len(header) + len(raw_name) + len(data)

    def finish(self) -> bytes:
        directory = b"".join(self.central)
        count = len(self.central)
        end = _END.pack(b"PK\x05\x06", 0, 0, count, count, len(directory), self.offset, 0)
        return b"".join((*self.chunks, directory, end))
