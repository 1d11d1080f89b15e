"""Counting file reads: the storage promises that some paths (answering, listing, start-up) read no
record file, and these tests hold it to that."""

from __future__ import annotations

from pathlib import Path

import pytest


def record_reads(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """From now on, every ``Path.read_bytes`` in this test is appended to the returned list."""
    reads: list[Path] = []
    real_read = Path.read_bytes

    def reading(path: Path) -> bytes:
        reads.append(path)
        return real_read(path)

    monkeypatch.setattr(Path, "read_bytes", reading)
    return reads
