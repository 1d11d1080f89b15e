"""The version stamp every stored record carries, and the way old records are brought up to date.

Stamping each record (not just each file) costs a few bytes and means a record copied between files,
or a file assembled by hand during a restore, still says which format it is in.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from storage.errors import CorruptFileError, SchemaVersionError

SCHEMA_VERSION: int = 1
SCHEMA_KEY = "schema"


def stamp(record: Mapping[str, Any], *, what: str) -> dict[str, Any]:
    """Return a copy of ``record`` with the schema field added.

    A caller field called ``schema`` is refused instead of overwritten: it would be silently lost
    on the next read, which is worse than a loud error while the engine is being written.
    """
    if SCHEMA_KEY in record:
        raise ValueError(f"{what}: the key {SCHEMA_KEY!r} is reserved by the storage layer")
    return {**record, SCHEMA_KEY: SCHEMA_VERSION}


def unstamp(record: Mapping[str, Any], *, path: Path, kind: str) -> dict[str, Any]:
    """Check the schema field of a stored record, migrate it if old, and strip the field."""
    version = record.get(SCHEMA_KEY)
    if type(version) is not int or version < 0:
        raise CorruptFileError(path, f"{kind} record has no valid {SCHEMA_KEY!r} field")
    if version > SCHEMA_VERSION:
        raise SchemaVersionError(path, version, SCHEMA_VERSION)
    doc = {key: value for key, value in record.items() if key != SCHEMA_KEY}
    if version < SCHEMA_VERSION:
        doc = migrate(kind, doc, version)
    return doc


def migrate(kind: str, doc: dict[str, Any], version: int) -> dict[str, Any]:
    """Bring a record of ``kind`` written with schema ``version`` up to :data:`SCHEMA_VERSION`.

    The identity today, because schema 1 is the first released format. It exists so that the day
    the format changes, the conversion has one obvious home and every read already goes through
    it; the file itself is upgraded by the next ordinary save, so no separate migration run is
    needed.
    """
    del kind, version
    return doc
