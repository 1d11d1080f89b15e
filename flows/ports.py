"""What the conversation needs from storage, stated as a protocol.

`flows` never imports `storage`: the conversation only needs somewhere to keep a person's state and
their tenders, and tests can hand it an in-memory double. `storage.Store` fits this shape.
"""

from __future__ import annotations

from typing import Any, Protocol, TypeVar


class TenderData(Protocol):
    id: str
    meta: dict[str, Any]
    state: dict[str, Any]
    answers: dict[str, Any]


T = TypeVar("T", bound=TenderData)


class Repository(Protocol[T]):
    def get_user(self, user_key: str) -> dict[str, Any] | None: ...

    def save_user(self, user_key: str, doc: dict[str, Any]) -> None: ...

    def delete_user(self, user_key: str) -> None: ...

    def list_tenders(self, user_key: str) -> list[dict[str, Any]]: ...

    def get_tender(self, user_key: str, tender_id: str) -> T | None: ...

    def create_tender(self, user_key: str, meta: dict[str, Any]) -> T: ...

    def save_tender(self, user_key: str, tender: T) -> None: ...

    def delete_tender(self, user_key: str, tender_id: str) -> None: ...
