"""Durable, crash-safe storage of people, tenders and group chats, on TinyDB files.

Storage knows nothing about the conversation beyond the record shapes it checks
(``storage.records``); every document is plain JSON data. See ``storage.store`` for the layout on
disk and the concurrency model (one owning process per data directory, any number of threads).
"""

from storage.atomic import AtomicJSONStorage
from storage.errors import (
    CorruptFileError,
    DataDirInUse,
    SaveFailed,
    SchemaVersionError,
    StorageError,
)
from storage.keys import safe_key
from storage.records import Rules
from storage.schema import SCHEMA_VERSION
from storage.store import Store
from storage.tender import Tender

__all__ = [
    "SCHEMA_VERSION",
    "AtomicJSONStorage",
    "CorruptFileError",
    "DataDirInUse",
    "Rules",
    "SaveFailed",
    "SchemaVersionError",
    "StorageError",
    "Store",
    "Tender",
    "safe_key",
]
